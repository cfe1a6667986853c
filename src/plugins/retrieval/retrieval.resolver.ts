/**
 * The retrieval queries: `search` (text → ranked video segments, as a Relay connection with warnings)
 * and `rankTexts` (segment → the given texts, ranked). Both run as tasks through the dispatcher; the
 * resolver only pages and shapes the result.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, ID, Info, Int, Query, Resolver } from 'type-graphql';

import type { GatewayContext } from 'hbi-platform';
import {
  Cost,
  HbiError,
  Policy,
  numberArg,
  pluginSettings,
  selectsAnyField,
  textWarnings,
} from 'hbi-platform';

import type { RetrievalConfig } from './config.js';
import {
  RankedText,
  SearchFilters,
  SearchGrouping,
  SegmentHit,
  SegmentSearchConnection,
} from './retrieval.types.js';
import type { RankedSegment, SearchOutcome } from './search.js';
import type { SearchTaskInput } from './tasks.js';
import { rankTextsTask, searchTask } from './tasks.js';

const CURSOR_PREFIX = 'search:';
/** The hit fields that need the media lookup. */
const MEDIA_FIELDS = ['thumbnailUrl', 'playbackUrl'] as const;

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
  @Policy('read')
  // The re-rank scores every candidate; the page is then read out.
  @Cost(
    (args, context) =>
      (pluginSettings<RetrievalConfig>(context, 'retrieval').candidates ?? 100) +
      numberArg(args, 'first', 10),
  )
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
    @Arg('groupBy', () => SearchGrouping, {
      defaultValue: SearchGrouping.SEGMENT,
      description:
        'SEGMENT: every hit; VIDEO / CAMERA: the best segment of each, with how many more matched.',
    })
    groupBy: SearchGrouping,
    @Ctx() context: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<SegmentSearchConnection> {
    const maxPageSize = context.services.config.maxPageSize;
    if (!Number.isInteger(first) || first < 1 || first > maxPageSize) {
      throw new HbiError('LIMIT_EXCEEDED', `first must be between 1 and ${maxPageSize}`, {
        details: { first, limit: maxPageSize },
      });
    }
    const start = after === null || after === undefined ? 0 : decodeCursor(after);
    const input: SearchTaskInput = {
      text,
      videoIds: filters?.videoIds ?? null,
      cameraIds: filters?.cameraIds ?? null,
      recordedAfter: filters?.recordedAfter?.toISOString() ?? null,
      recordedBefore: filters?.recordedBefore?.toISOString() ?? null,
    };
    const outcome = await context.tasks.run(searchTask, input);
    const connection = toConnection(
      grouped(outcome, groupBy),
      start,
      first,
      context.services.encoder.modelId,
    );
    // The page's media URLs in one lookup, from the kernel's media capability (bound to the tenant),
    // when the operation asks for them.
    const hits = connection.edges.map((edge) => edge.node);
    if (!selectsAnyField(info, MEDIA_FIELDS)) return connection;
    const links = await context.media.segments(hits);
    hits.forEach((hit, i) => {
      hit.thumbnailUrl = links[i]?.thumbnailUrl ?? null;
      hit.playbackUrl = links[i]?.playbackUrl ?? null;
    });
    return connection;
  }

  @Policy('read')
  @Cost((args) => (Array.isArray(args.texts) ? Math.max(1, args.texts.length) : 1))
  @Query(() => [RankedText], {
    description:
      'The given texts ranked by their HBI interaction score against one indexed segment, best first.',
  })
  async rankTexts(
    @Arg('segmentId', () => ID) segmentId: string,
    @Arg('texts', () => [String], { description: 'Between 1 and the server limit (default 100).' })
    texts: string[],
    @Ctx() context: GatewayContext,
  ): Promise<RankedText[]> {
    const ranked = await context.tasks.run(rankTextsTask, { segmentId, texts });
    return ranked.map((result) =>
      Object.assign(new RankedText(), {
        text: result.text,
        score: result.score,
        rank: result.rank,
        index: result.index,
        warnings: textWarnings(result),
      }),
    );
  }
}

/**
 * The hits with only the best of each video (or camera; videos without one by video), in rank order,
 * each carrying how many other hits its group had. The ranking is unchanged, so cursors still line up.
 */
function grouped(outcome: SearchOutcome, groupBy: SearchGrouping): SearchOutcome & { more?: number[] } {
  if (groupBy === SearchGrouping.SEGMENT) return outcome;
  const keyOf = (hit: RankedSegment) =>
    groupBy === SearchGrouping.CAMERA && hit.cameraId ? `camera:${hit.cameraId}` : `video:${hit.videoId}`;
  const best = new Map<string, { hit: RankedSegment; more: number }>();
  for (const hit of outcome.ranked) {
    const key = keyOf(hit);
    const group = best.get(key);
    if (group) group.more += 1;
    else best.set(key, { hit, more: 0 });
  }
  const groups = [...best.values()];
  return { ...outcome, ranked: groups.map((group) => group.hit), more: groups.map((group) => group.more) };
}

function toConnection(
  outcome: SearchOutcome & { more?: number[] },
  start: number,
  first: number,
  model: string,
): SegmentSearchConnection {
  const page = outcome.ranked.slice(start, start + first);
  const edges = page.map((hit, i) => ({
    cursor: encodeCursor(start + i),
    node: Object.assign(new SegmentHit(), {
      ...hit,
      thumbnailUrl: null,
      playbackUrl: null,
      rank: start + i + 1,
      moreMatches: outcome.more?.[start + i] ?? 0,
    }),
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
    warnings: textWarnings(outcome),
    model,
  });
}
