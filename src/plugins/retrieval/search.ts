/**
 * Text → segment search: encode the text (shared encoder, `text` graph), take the top-K segments of
 * this model version by cosine similarity from pgvector's HNSW index (with filters), re-rank them
 * with the HBI interaction head, and return them best first. Deterministic, so cursor pages of the
 * same query line up.
 */
import type { Queryable } from '../../core/db/port.js';
import { vectorExpression, vectorIndexName } from '../../core/db/vector-index.js';
import { HbiError } from '../../core/errors.js';
import { bytesToFloat32, toVectorLiteral } from '../../core/ingest/vectors.js';
import type { PluginContext } from '../../core/plugins/define-plugin.js';
import type { RetrievalConfig } from './config.js';
import { interactionScores } from './interaction-head.js';

export interface SearchFilterInput {
  videoIds?: readonly string[] | null;
  cameraIds?: readonly string[] | null;
  recordedAfter?: Date | null;
  recordedBefore?: Date | null;
}

export interface RankedSegment {
  segmentId: string;
  videoId: string;
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

interface CandidateRow {
  segment_id: string;
  video_id: string;
  index: number;
  start_ms: number;
  end_ms: number;
  title: string | null;
  source_uri: string | null;
  similarity: number;
  frame_tokens: Uint8Array;
  frame_weights: Uint8Array;
  frame_mask: Uint8Array;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs the two-stage search; BAD_USER_INPUT for empty or oversized text or malformed filter ids. */
export async function searchSegments(
  context: PluginContext<RetrievalConfig>,
  text: string,
  filters: SearchFilterInput = {},
): Promise<SearchOutcome> {
  const { config, encoder, db } = context;
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new HbiError('BAD_USER_INPUT', 'The search text is empty');
  if (trimmed.length > config.maxTextLength) {
    throw new HbiError(
      'LIMIT_EXCEEDED',
      `The search text has ${trimmed.length} characters; the limit is ${config.maxTextLength}`,
      {
        details: { length: trimmed.length, limit: config.maxTextLength },
      },
    );
  }
  for (const id of [...(filters.videoIds ?? []), ...(filters.cameraIds ?? [])]) {
    if (!UUID.test(id))
      throw new HbiError('BAD_USER_INPUT', `Not an id: ${JSON.stringify(id)}`, { details: { id } });
  }
  const encoded = await encoder.encodeText(trimmed);
  const rows = await db.transaction((tx) => annCandidates(tx, context, encoded.embedding, filters));
  const scores = await interactionScores(
    encoder,
    encoded,
    rows.map((row) => ({
      frameTokens: bytesToFloat32(row.frame_tokens),
      frameWeights: bytesToFloat32(row.frame_weights),
      frameMask: bytesToFloat32(row.frame_mask),
    })),
  );
  const ranked = rows
    .map((row, i): RankedSegment => ({
      segmentId: row.segment_id,
      videoId: row.video_id,
      index: row.index,
      startMs: row.start_ms,
      endMs: row.end_ms,
      videoTitle: row.title,
      sourceUri: row.source_uri,
      score: scores[i]!,
      similarity: Number(row.similarity),
    }))
    // Ties (identical clips) fall back to the ANN order, then the id, so pages are stable.
    .sort(
      (a, b) => b.score - a.score || b.similarity - a.similarity || a.segmentId.localeCompare(b.segmentId),
    );
  return { ranked, unknownWords: encoded.unknownWords, truncated: encoded.truncated };
}

async function annCandidates(
  tx: Queryable,
  context: PluginContext<RetrievalConfig>,
  embedding: Float32Array,
  filters: SearchFilterInput,
): Promise<CandidateRow[]> {
  const { config, modelVersion } = context;
  const vector = vectorExpression(modelVersion.embedDim);
  // Validates the id: the partial HNSW index only applies when the predicate is this literal.
  vectorIndexName(modelVersion.id);
  await tx.exec(`SET LOCAL hnsw.ef_search = ${Math.max(config.efSearch, config.candidates)}`);
  const params: unknown[] = [toVectorLiteral(embedding), config.candidates];
  const where = [`e."model_version_id" = '${modelVersion.id}'`, `v."status" = 'INDEXED'`];
  if (filters.videoIds?.length) {
    params.push([...filters.videoIds]);
    where.push(`v."id" = ANY($${params.length}::uuid[])`);
  }
  if (filters.cameraIds?.length) {
    params.push([...filters.cameraIds]);
    where.push(`v."camera_id" = ANY($${params.length}::uuid[])`);
  }
  if (filters.recordedAfter) {
    params.push(filters.recordedAfter);
    where.push(`v."recorded_at" >= $${params.length}`);
  }
  if (filters.recordedBefore) {
    params.push(filters.recordedBefore);
    where.push(`v."recorded_at" < $${params.length}`);
  }
  const { rows } = await tx.query<CandidateRow>(
    `SELECT s."id" AS "segment_id", s."video_id", s."index", s."start_ms", s."end_ms", v."title", v."source_uri",
            1 - (${vector.replace('embedding', 'e."embedding"')} <=> $1::vector(${modelVersion.embedDim})) AS "similarity",
            e."frame_tokens", e."frame_weights", e."frame_mask"
     FROM "segment_embeddings" e
     JOIN "segments" s ON s."id" = e."segment_id"
     JOIN "videos" v ON v."id" = s."video_id"
     WHERE ${where.join(' AND ')}
     ORDER BY ${vector.replace('embedding', 'e."embedding"')} <=> $1::vector(${modelVersion.embedDim})
     LIMIT $2`,
    params,
  );
  return rows;
}
