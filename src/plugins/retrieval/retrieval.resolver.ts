/** The `search` query: text → ranked video segments, as a Relay connection with warnings. */
import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';

import { HbiError } from '../../core/errors.js';
import type { GatewayContext } from '../../core/gateway/context.js';
import { requirePluginContext } from '../../core/gateway/context.js';
import type { RetrievalConfig } from './config.js';
import { PLUGIN_NAME } from './name.js';
import {
  QueryWarning,
  QueryWarningCode,
  SearchFilters,
  SegmentHit,
  SegmentSearchConnection,
} from './retrieval.types.js';
import type { SearchOutcome } from './search.js';
import { searchSegments } from './search.js';

const CURSOR_PREFIX = 'search:';

/** Opaque cursor of the hit at `offset` (0-based). */
export function encodeCursor(offset: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${offset}`).toString('base64url');
}

/** Offset after `cursor`; BAD_USER_INPUT when it is not one of ours. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const offset = Number(text.slice(CURSOR_PREFIX.length));
  if (!text.startsWith(CURSOR_PREFIX) || !Number.isInteger(offset) || offset < 0) {
    throw new HbiError('BAD_USER_INPUT', `Invalid cursor ${JSON.stringify(cursor)}`, { details: { cursor } });
  }
  return offset + 1;
}

@Resolver()
export class RetrievalResolver {
  @Query(() => SegmentSearchConnection, {
    description: 'Segments best matching a text: ANN over the segment embeddings, then HBI re-rank.',
  })
  async search(
    @Arg('text', () => String) text: string,
    @Arg('first', () => Int, { defaultValue: 10, description: 'Page size (at most the server limit).' })
    first: number,
    @Arg('after', () => String, {
      nullable: true,
      description: 'Cursor of the last hit of the previous page.',
    })
    after: string | null | undefined,
    @Arg('filters', () => SearchFilters, { nullable: true }) filters: SearchFilters | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<SegmentSearchConnection> {
    const maxPageSize = context.services.config.maxPageSize;
    if (!Number.isInteger(first) || first < 1 || first > maxPageSize) {
      throw new HbiError('LIMIT_EXCEEDED', `first must be between 1 and ${maxPageSize}`, {
        details: { first, limit: maxPageSize },
      });
    }
    const start = after === null || after === undefined ? 0 : decodeCursor(after);
    const plugin = requirePluginContext<RetrievalConfig>(context, PLUGIN_NAME);
    const outcome = await searchSegments(plugin, text, filters ?? {});
    return toConnection(outcome, start, first, plugin.modelVersion.modelId);
  }
}

function toConnection(
  outcome: SearchOutcome,
  start: number,
  first: number,
  model: string,
): SegmentSearchConnection {
  const page = outcome.ranked.slice(start, start + first);
  const edges = page.map((hit, i) => ({
    cursor: encodeCursor(start + i),
    node: Object.assign(new SegmentHit(), { ...hit, rank: start + i + 1 }),
  }));
  return Object.assign(new SegmentSearchConnection(), {
    edges,
    pageInfo: {
      hasNextPage: start + first < outcome.ranked.length,
      hasPreviousPage: start > 0,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: outcome.ranked.length,
    warnings: warningsOf(outcome),
    model,
  });
}

function warningsOf(outcome: SearchOutcome): QueryWarning[] {
  const warnings: QueryWarning[] = [];
  if (outcome.unknownWords.length > 0) {
    warnings.push(
      Object.assign(new QueryWarning(), {
        code: QueryWarningCode.UNKNOWN_WORDS,
        message: `The model does not know ${outcome.unknownWords.length === 1 ? 'this word' : 'these words'}: ${outcome.unknownWords.join(', ')}; they were read as unknown`,
        words: outcome.unknownWords,
      }),
    );
  }
  if (outcome.truncated) {
    warnings.push(
      Object.assign(new QueryWarning(), {
        code: QueryWarningCode.TEXT_TRUNCATED,
        message: 'The text is longer than the model reads; only its beginning was used',
        words: [],
      }),
    );
  }
  return warnings;
}
