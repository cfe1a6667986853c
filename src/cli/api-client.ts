/**
 * The GraphQL client behind `hbi search/ask/caption`: one POST per request to the server's /graphql,
 * with failures sorted for exit codes: the server cannot be reached (3), it refused the request (4), or
 * it is busy or not ready (5, from the error's `retriable` flag).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { UsageError } from './args.js';
import { EXIT_CODES } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Where the API lives when neither --url nor HBI_URL says otherwise (`hbi serve`'s default). */
export const DEFAULT_API_URL = 'http://127.0.0.1:4000/graphql';
/** How long one request may take before the server counts as unreachable. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** A request that did not succeed; `exitCode` says which kind of failure. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The server's error code (`NOT_FOUND`, …) when it answered. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface ApiClient {
  readonly url: string;
  /** Runs one operation; resolves with `data`, rejects with an ApiError. */
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; retriable?: boolean } }[];
}

/** The API URL: `--url`, else HBI_URL, else the default; a UsageError when it is not an http(s) URL. */
export function resolveApiUrl(flag: string | undefined, env: CliIo['env']): string {
  const given = flag ?? (env.HBI_URL || DEFAULT_API_URL);
  const protocol = URL.canParse(given) ? new URL(given).protocol : undefined;
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(`The API URL must be an http(s) URL, got ${JSON.stringify(given)}`);
  }
  return given;
}

/**
 * The API key a client command sends: `--key`, else $HBI_API_KEY, else the admin key the server's first
 * start wrote to `<HBI_DATA_DIR or ./data>/admin-key` (a local server); undefined when none is found.
 */
export function resolveApiKey(flag: string | undefined, env: CliIo['env']): string | undefined {
  if (flag) return flag;
  if (env.HBI_API_KEY) return env.HBI_API_KEY;
  try {
    const key = readFileSync(path.join(env.HBI_DATA_DIR || './data', 'admin-key'), 'utf8').trim();
    return key.length > 0 ? key : undefined;
  } catch {
    return undefined;
  }
}

/** A client for `url` sending `apiKey` (when given) as a bearer token; `timeoutMs` bounds each request. */
export function createApiClient(
  url: string,
  io: CliIo,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  apiKey?: string,
): ApiClient {
  const fetchImpl = io.fetch ?? fetch;
  return {
    url,
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const cause = error as Error & { cause?: { code?: string; message?: string } };
        const why =
          cause.name === 'TimeoutError'
            ? `no answer within ${timeoutMs} ms`
            : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
        throw new ApiError(
          `Cannot reach the hbi server at ${url} (${why}); is \`hbi serve\` running?`,
          EXIT_CODES.UNREACHABLE,
        );
      }
      let body: GraphQLResponse<T>;
      try {
        body = (await response.json()) as GraphQLResponse<T>;
      } catch {
        throw new ApiError(
          `${url} did not answer as a GraphQL endpoint (HTTP ${response.status})`,
          EXIT_CODES.UNREACHABLE,
        );
      }
      const [first] = body.errors ?? [];
      if (first) {
        const code = first.extensions?.code;
        const exitCode = first.extensions?.retriable ? EXIT_CODES.BUSY : EXIT_CODES.REFUSED;
        throw new ApiError(code ? `${code}: ${first.message}` : first.message, exitCode, code);
      }
      if (!response.ok || body.data == null) {
        throw new ApiError(`${url} answered HTTP ${response.status} without data`, EXIT_CODES.REFUSED);
      }
      return body.data;
    },
  };
}

/** True when the server lacks a root field (its plugin is not loaded): graphql-js validation says so. */
export function isMissingField(error: unknown, field: string): boolean {
  return error instanceof ApiError && new RegExp(`Cannot query field "${field}" on type`).test(error.message);
}
