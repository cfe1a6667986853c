/**
 * `hbi ask` and `hbi caption` take one id that names a segment or a whole video. `--segment` or
 * `--video` says which; otherwise the id is tried as a segment first and, when the server does not
 * know such a segment, as a video (ids are UUIDs, so they never name both).
 */
import type { ApiClient } from '../api-client.js';
import { ApiError, isMissingField } from '../api-client.js';
import type { OptionSpec, ParsedArgs } from '../args.js';
import { UsageError } from '../args.js';
import { EXIT_CODES } from '../exit-codes.js';

export const SCOPE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  segment: { type: 'boolean', description: 'The id names a segment' },
  video: { type: 'boolean', description: 'The id names a whole video' },
};

export type ScopeVariables = { segmentId: string; videoId: null } | { segmentId: null; videoId: string };

/** Runs `query` with the id as segmentId and/or videoId; `field` names the root field (for a missing plugin). */
export async function requestForScope<T>(
  client: ApiClient,
  args: ParsedArgs,
  field: string,
  plugin: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  const id = args.positionals[0]!;
  if (args.values.segment && args.values.video) throw new UsageError('Give --segment or --video, not both');
  const tries: ScopeVariables[] = [];
  if (!args.values.video) tries.push({ segmentId: id, videoId: null });
  if (!args.values.segment) tries.push({ segmentId: null, videoId: id });
  for (const [index, scope] of tries.entries()) {
    try {
      return await client.request<T>(query, { ...variables, ...scope });
    } catch (error) {
      if (isMissingField(error, field)) {
        throw new ApiError(
          `The server at ${client.url} has no "${field}" query: is the ${plugin} plugin loaded?`,
          EXIT_CODES.REFUSED,
          'GRAPHQL_VALIDATION_FAILED',
        );
      }
      const lastTry = index === tries.length - 1;
      if (lastTry || !(error instanceof ApiError) || error.code !== 'NOT_FOUND') throw error;
    }
  }
  throw new UsageError('Nothing to ask about');
}
