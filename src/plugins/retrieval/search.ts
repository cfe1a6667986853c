/**
 * Text → segment search: encode the text (shared encoder, `text` graph), take the top-K segments of
 * this tenant and model version by cosine similarity from the segment store (pgvector's HNSW index,
 * with filters), re-rank them with the HBI interaction head, and return them best first.
 * Deterministic, so cursor pages of the same query line up.
 */
import type { SegmentFilters, TaskContext } from 'hbi-platform';
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
}

/** Runs the two-stage search; BAD_USER_INPUT for empty or oversized text or malformed filter ids. */
export async function searchSegments(
  context: TaskContext<RetrievalConfig>,
  text: string,
  filters: SegmentFilters = {},
): Promise<SearchOutcome> {
  const { config, encoder, segments } = context;
  const trimmed = checkText(text, config.maxTextLength, 'The search text');
  const encoded = await encoder.encodeText(trimmed);
  const candidates = await segments.nearest({
    embedding: encoded.embedding,
    k: config.candidates,
    efSearch: config.efSearch,
    filters,
  });
  const scores = await encoder.interaction([encoded], candidates);
  const ranked = candidates
    .map((candidate, i): RankedSegment => ({
      segmentId: candidate.segmentId,
      videoId: candidate.videoId,
      cameraId: candidate.cameraId,
      index: candidate.index,
      startMs: candidate.startMs,
      endMs: candidate.endMs,
      videoTitle: candidate.videoTitle,
      sourceUri: candidate.sourceUri,
      score: scores[i]!,
      similarity: candidate.similarity,
    }))
    // Ties (identical clips) fall back to the ANN order, then the id, so pages are stable.
    .sort(
      (a, b) => b.score - a.score || b.similarity - a.similarity || a.segmentId.localeCompare(b.segmentId),
    );
  return { ranked, unknownWords: encoded.unknownWords, truncated: encoded.truncated };
}
