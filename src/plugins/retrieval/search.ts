/**
 * Text → segment search: encode the text (shared encoder, `text` graph), take candidates of this tenant
 * and model version by cosine similarity from the segment store (pgvector's HNSW index), re-rank them
 * with the HBI interaction head, and return them best first. Deterministic, so cursor pages of the same
 * query line up.
 *
 * Candidates survive near-duplicates: without filters the ANN stage returns near-duplicate groups (one
 * representative per scene, `SegmentStore.nearestGroups`), so a hundred copies of one clip take one slot
 * of `candidates`, not all. The representatives are re-ranked; then, best group first, the members of
 * every group that can still reach the top `exactTop` hits are re-ranked too, in rounds until no group
 * left can: a group can reach them when its representative's score plus the widest range of scores
 * inside an expanded group is at least the current `exactTop`-th best score. With filters (a group's
 * members may lie outside them) the ANN stage returns segments, as before groups existed.
 */
import type {
  GroupCandidate,
  SegmentCandidate,
  SegmentFilters,
  TaskContext,
  TextEncoding,
} from 'hbi-platform';
import { checkText } from 'hbi-platform';

import type { RetrievalConfig } from './config.js';

export interface RankedSegment {
  segmentId: string;
  videoId: string;
  cameraId: string | null;
  index: number;
  startMs: number;
  endMs: number;
  videoTitle: string | null;
  sourceUri: string | null;
  /** HBI interaction score (the ranking). */
  score: number;
  /** Cosine similarity of the embeddings (the ANN stage). */
  similarity: number;
}

export interface SearchOutcome {
  ranked: RankedSegment[];
  unknownWords: string[];
  truncated: boolean;
  /** Segments the interaction graph scored (representatives, group members or filtered candidates). */
  reranked: number;
}

/** Runs the two-stage search; BAD_USER_INPUT for empty or oversized text or malformed filter ids. */
export async function searchSegments(
  context: TaskContext<RetrievalConfig>,
  text: string,
  filters: SegmentFilters = {},
): Promise<SearchOutcome> {
  const { config, encoder } = context;
  const trimmed = checkText(text, config.maxTextLength, 'The search text');
  const encoded = await encoder.encodeText(trimmed);
  const { hits: ranked, reranked } = hasFilters(filters)
    ? await filteredSearch(context, encoded, filters)
    : await groupedSearch(context, encoded);
  // Ties (identical clips) fall back to the ANN order, then the id, so pages are stable.
  ranked.sort(
    (a, b) => b.score - a.score || b.similarity - a.similarity || a.segmentId.localeCompare(b.segmentId),
  );
  return { ranked, unknownWords: encoded.unknownWords, truncated: encoded.truncated, reranked };
}

/** Top `candidates` segments by cosine within the filters, re-ranked. */
async function filteredSearch(
  { config, encoder, segments }: TaskContext<RetrievalConfig>,
  encoded: TextEncoding,
  filters: SegmentFilters,
): Promise<{ hits: RankedSegment[]; reranked: number }> {
  const candidates = await segments.nearest({
    embedding: encoded.embedding,
    k: config.candidates,
    efSearch: config.efSearch,
    filters,
  });
  const scores = await encoder.interaction([encoded], candidates);
  return {
    hits: candidates.map((candidate, i) => toRanked(candidate, scores[i]!)),
    reranked: candidates.length,
  };
}

/** Top `candidates` near-duplicate groups by cosine, re-ranked, and the members of those that can reach the top. */
async function groupedSearch(
  { config, encoder, segments }: TaskContext<RetrievalConfig>,
  encoded: TextEncoding,
): Promise<{ hits: RankedSegment[]; reranked: number }> {
  const groups = await segments.nearestGroups({
    embedding: encoded.embedding,
    k: Math.min(config.candidates, config.maxRerank),
    efSearch: config.efSearch,
  });
  const groupScores = await encoder.interaction([encoded], groups);
  const hits = groups.flatMap((group, i) => (group.hit ? [toRanked(group, groupScores[i]!)] : []));
  const waiting = groups
    .map((group, i) => ({ group, score: groupScores[i]! }))
    .filter(({ group }) => group.members > 0)
    .sort((a, b) => b.score - a.score || b.group.similarity - a.group.similarity);
  let budget = Math.max(0, config.maxRerank - groups.length);
  // The widest range of scores inside one expanded group (its representative included), over the
  // groups expanded so far; unknown until the best group is expanded. A representative is just a
  // group's first member, possibly its worst-scored, so a group not expanded yet can reach its
  // representative's score plus that range. (The most a member rose above its own representative, the
  // rule before, held at 63 copies per scene but missed groups of ~170: recall@10 0.88 at 200 000
  // segments, docs/benchmarks.md.)
  let spread: number | undefined;
  while (budget > 0 && waiting.length > 0) {
    const floor = nthBest(hits, config.exactTop);
    const round =
      spread === undefined
        ? waiting.splice(0, config.expandGroups)
        : takeWhere(waiting, ({ score }) => score + (spread ?? 0) >= floor);
    if (round.length === 0) break;
    const members = await segments.groupMembers({
      embedding: encoded.embedding,
      groupIds: round.map(({ group }) => group.segmentId),
      limit: budget,
    });
    budget -= members.length;
    const scores = await encoder.interaction([encoded], members);
    const ranges = new Map<string, { low: number; high: number }>(
      round.map(({ group, score }) => [group.segmentId, { low: score, high: score }]),
    );
    members.forEach((member, i) => {
      const score = scores[i]!;
      hits.push(toRanked(member, score));
      const range = ranges.get(member.groupId);
      if (range) [range.low, range.high] = [Math.min(range.low, score), Math.max(range.high, score)];
    });
    for (const { low, high } of ranges.values()) spread = Math.max(spread ?? 0, high - low);
  }
  return { hits, reranked: config.maxRerank - budget };
}

/** Whether any filter narrows the search. */
function hasFilters(filters: SegmentFilters): boolean {
  return Boolean(
    filters.videoIds?.length || filters.cameraIds?.length || filters.recordedAfter || filters.recordedBefore,
  );
}

/** The `n`-th best score of `hits`; -Infinity while there are fewer. */
function nthBest(hits: readonly RankedSegment[], n: number): number {
  if (hits.length < n) return -Infinity;
  return hits
    .map((hit) => hit.score)
    .sort((a, b) => b - a)
    .at(n - 1)!;
}

/** Removes and returns the items of `items` that pass `test`, in order. */
function takeWhere<T>(items: T[], test: (item: T) => boolean): T[] {
  const taken = items.filter(test);
  const kept = items.filter((item) => !test(item));
  items.splice(0, items.length, ...kept);
  return taken;
}

function toRanked(candidate: SegmentCandidate | GroupCandidate, score: number): RankedSegment {
  return {
    segmentId: candidate.segmentId,
    videoId: candidate.videoId,
    cameraId: candidate.cameraId,
    index: candidate.index,
    startMs: candidate.startMs,
    endMs: candidate.endMs,
    videoTitle: candidate.videoTitle,
    sourceUri: candidate.sourceUri,
    score,
    similarity: candidate.similarity,
  };
}
