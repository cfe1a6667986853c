/**
 * The operations `hbi bench load` sends, as a frontend would send them: GraphQL over HTTP (search,
 * answer, caption), an upload (createUpload, then PUT the bytes to the returned URL), and a
 * subscription over graphql-ws opened, read once and closed. Each resolves with an outcome instead of
 * throwing: the milliseconds it took, or the error code it failed with (the GraphQL `extensions.code`,
 * RATE_LIMITED with the server's Retry-After for a 429, TIMEOUT, NETWORK, HTTP_<status>).
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export const OPERATION_KINDS = ['search', 'answer', 'caption', 'upload', 'subscribe'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

export type Outcome =
  | { ok: true; ms: number; jobId?: string; cached?: boolean }
  | { ok: false; code: string; message: string; retryAfterMs?: number };

type Json = Record<string, unknown>;

interface GraphQLErrorJson {
  message?: string;
  extensions?: { code?: string; details?: { retryAfterSeconds?: unknown } };
}

/** Where the operations go and with what: the GraphQL URL, a bearer token, a per-operation deadline. */
export interface Target {
  url: string;
  apiKey: string;
  timeoutMs: number;
  /** Checks a URL the server handed back (an upload URL) before anything is sent to it. */
  checkUrl: (url: string) => void;
}

/** One GraphQL request over HTTP; `data` or a failed outcome. */
export async function graphql(
  target: Target,
  query: string,
  variables: Json,
): Promise<{ ok: true; data: Json } | Extract<Outcome, { ok: false }>> {
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.apiKey}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    return networkFailure(error);
  }
  let body: { data?: Json; errors?: GraphQLErrorJson[] };
  try {
    body = (await response.json()) as typeof body;
  } catch (error) {
    if (isTimeout(error)) return networkFailure(error);
    return { ok: false, code: `HTTP_${response.status}`, message: 'the answer is not JSON' };
  }
  const failure = graphqlFailure(body.errors, response);
  if (failure) return failure;
  if (!response.ok || !body.data)
    return { ok: false, code: `HTTP_${response.status}`, message: 'no data in the answer' };
  return { ok: true, data: body.data };
}

/** Runs `work` and times it; a failed outcome passes through untimed. */
export async function timedOutcome(
  work: () => Promise<{ ok: true; jobId?: string; data?: Json } | Extract<Outcome, { ok: false }>>,
): Promise<Outcome> {
  const start = performance.now();
  const result = await work();
  if (!result.ok) return result;
  const ms = performance.now() - start;
  // answer and caption say whether they came from the cache: the report counts how many did.
  const field = result.data && Object.values(result.data)[0];
  const cached = field && typeof field === 'object' && 'cached' in field ? field.cached : undefined;
  return {
    ok: true,
    ms,
    ...(result.jobId ? { jobId: result.jobId } : {}),
    ...(typeof cached === 'boolean' ? { cached } : {}),
  };
}

/** createUpload for `bytes`, then the PUT; succeeds with the id of the ingest job the PUT started. */
export async function upload(
  target: Target,
  clip: { filename: string; title: string; bytes: Uint8Array },
): Promise<{ ok: true; jobId: string } | Extract<Outcome, { ok: false }>> {
  const created = await graphql(
    target,
    'mutation ($f: String!, $s: SafeInt!, $t: String) { createUpload(filename: $f, contentType: "video/mp4", sizeBytes: $s, title: $t) { uploadUrl } }',
    { f: clip.filename, s: clip.bytes.length, t: clip.title },
  );
  if (!created.ok) return created;
  const uploadUrl = (created.data.createUpload as { uploadUrl: string }).uploadUrl;
  try {
    target.checkUrl(uploadUrl);
  } catch (error) {
    return { ok: false, code: 'UPLOAD_URL_REFUSED', message: (error as Error).message };
  }
  let response: Response;
  let body: { jobId?: string; errors?: GraphQLErrorJson[] };
  try {
    response = await fetch(uploadUrl, {
      method: 'PUT',
      body: clip.bytes,
      headers: { 'content-type': 'video/mp4' },
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    body = (await response.json()) as typeof body;
  } catch (error) {
    return networkFailure(error);
  }
  const failure = graphqlFailure(body.errors, response);
  if (failure) return failure;
  if (response.status !== 202 || !body.jobId)
    return { ok: false, code: `HTTP_${response.status}`, message: 'the upload started no job' };
  return { ok: true, jobId: body.jobId };
}

/**
 * Opens a graphql-ws connection, subscribes to `jobProgress(jobId)` (which sends the job's state at
 * once), waits for that first event and closes the connection.
 */
export function subscribeOnce(
  target: Target,
  jobId: string,
): Promise<{ ok: true } | Extract<Outcome, { ok: false }>> {
  return new Promise((resolve) => {
    let settled = false;
    const client = createClient({
      url: target.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: `Bearer ${target.apiKey}` },
      on: {
        closed: (event) => {
          const { code, reason } = event as { code?: number; reason?: string };
          finish({ ok: false, code: `WS_CLOSED_${code ?? 'unknown'}`, message: reason || 'socket closed' });
        },
        error: (error) => finish(networkFailure(error)),
      },
    });
    const timer = setTimeout(
      () => finish({ ok: false, code: 'TIMEOUT', message: `no event within ${target.timeoutMs} ms` }),
      target.timeoutMs,
    );
    const finish = (result: { ok: true } | Extract<Outcome, { ok: false }>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      // dispose() awaits the connection attempt, which rejects (with the CloseEvent) when the socket
      // never opened or closed abnormally: that is already this outcome, not a crash of the bench.
      Promise.resolve(client.dispose()).catch(() => undefined);
      resolve(result);
    };
    const stop = client.subscribe(
      {
        query: 'subscription ($id: ID!) { jobProgress(jobId: $id) { id status progress } }',
        variables: { id: jobId },
      },
      {
        next: (value) => {
          const failure = graphqlFailure(value.errors as GraphQLErrorJson[] | undefined);
          finish(failure ?? { ok: true });
        },
        // graphql-ws hands operation errors over as the GraphQL error list, socket trouble as an event.
        error: (error) =>
          finish(
            (Array.isArray(error) ? graphqlFailure(error as GraphQLErrorJson[]) : undefined) ??
              networkFailure(error),
          ),
        complete: () => finish({ ok: false, code: 'NO_EVENT', message: 'completed without an event' }),
      },
    );
  });
}

/** The first GraphQL error as an outcome (RATE_LIMITED with its Retry-After), or undefined for none. */
function graphqlFailure(
  errors: GraphQLErrorJson[] | undefined,
  response?: Response,
): Extract<Outcome, { ok: false }> | undefined {
  if (response?.status === 429 || errors?.some((error) => error.extensions?.code === 'RATE_LIMITED')) {
    const header = Number(response?.headers.get('retry-after'));
    const detail = errors
      ?.map((error) => error.extensions?.details?.retryAfterSeconds)
      .find((value) => typeof value === 'number');
    const seconds = Number.isFinite(header) && header > 0 ? header : typeof detail === 'number' ? detail : 1;
    return {
      ok: false,
      code: 'RATE_LIMITED',
      message: errors?.[0]?.message ?? 'HTTP 429',
      retryAfterMs: seconds * 1000,
    };
  }
  const first = errors?.[0];
  if (!first) return undefined;
  return { ok: false, code: first.extensions?.code ?? 'GRAPHQL_ERROR', message: first.message ?? '' };
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

function networkFailure(error: unknown): Extract<Outcome, { ok: false }> {
  if (isTimeout(error)) return { ok: false, code: 'TIMEOUT', message: (error as Error).message };
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = typeof cause?.code === 'string' ? cause.code : undefined;
  const because = typeof cause?.message === 'string' ? `: ${cause.message}` : '';
  const message = error instanceof Error ? `${error.message}${because}` : 'connection failed';
  return { ok: false, code: detail ? `NETWORK_${detail}` : 'NETWORK', message };
}
