/** Options shared by the commands that talk to a running server (search, ask, caption). */
import type { ApiClient } from '../api-client.js';
import {
  DEFAULT_API_URL,
  DEFAULT_TIMEOUT_MS,
  createApiClient,
  resolveApiKey,
  resolveApiUrl,
} from '../api-client.js';
import type { OptionSpec, ParsedArgs } from '../args.js';
import { intOption, stringOption } from '../args.js';
import type { CliIo } from '../io.js';

export const CLIENT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: {
    type: 'string',
    value: '<url>',
    description: `GraphQL endpoint of the server (default: $HBI_URL, else ${DEFAULT_API_URL})`,
  },
  key: {
    type: 'string',
    value: '<api key>',
    description:
      'API key to send (default: $HBI_API_KEY, else the admin key a local server wrote to <HBI_DATA_DIR>/admin-key)',
  },
  timeout: {
    type: 'string',
    value: '<ms>',
    description: `Longest wait for the server's answer (default ${DEFAULT_TIMEOUT_MS})`,
  },
  json: { type: 'boolean', description: "Print the server's answer as JSON" },
};

/** The API client the options describe. */
export function clientOf(args: ParsedArgs, io: CliIo): ApiClient {
  const url = resolveApiUrl(stringOption(args, 'url'), io.env);
  return createApiClient(
    url,
    io,
    intOption(args, 'timeout', DEFAULT_TIMEOUT_MS, 1, 3_600_000),
    resolveApiKey(stringOption(args, 'key'), io.env),
  );
}

/** `12.3 s` */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The warnings a text-taking query returned, one line each. */
export function warningLines(warnings: readonly { code: string; message: string }[] | undefined): string {
  return (warnings ?? []).map((warning) => `warning (${warning.code}): ${warning.message}\n`).join('');
}
