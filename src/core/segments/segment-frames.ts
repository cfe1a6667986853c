/**
 * Reads what the model needs of indexed segments: the frame tokens, weights and mask the shared
 * encoder stored at ingest (one model version's), with each segment's place in its video. Plugins
 * that work on a segment or a whole video (qa, captioning, rankTexts) resolve their scope here, so
 * "unknown id" and "not indexed yet" mean the same everywhere.
 */
import type { Queryable } from '../db/port.js';
import { HbiError } from '../errors.js';
import { bytesToFloat32 } from '../ingest/vectors.js';

/** One indexed segment with its stored frame tensors: [T,D], [T], [T]. */
export interface SegmentFrames {
  segmentId: string;
  videoId: string;
  /** 0-based position in the video. */
  index: number;
  startMs: number;
  endMs: number;
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

/** One segment, or every segment of one video in order. */
export type SegmentScope = { kind: 'segment'; segmentId: string } | { kind: 'video'; videoId: string };

/** The cache key of a scope, as the caption and answer caches spell it: `segment:<id>` / `video:<id>`. */
export function scopeKey(scope: SegmentScope): string {
  return scope.kind === 'segment' ? `segment:${scope.segmentId}` : `video:${scope.videoId}`;
}

/** The model version whose tensors are read (a plugin context's `modelVersion`). */
export interface ModelVersionRef {
  id: string;
  /** `name@version`, for messages. */
  modelId: string;
}

interface Row {
  segment_id: string;
  video_id: string;
  index: number;
  start_ms: number;
  end_ms: number;
  frame_tokens: Uint8Array | null;
  frame_weights: Uint8Array | null;
  frame_mask: Uint8Array | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const COLUMNS = `s."id" AS "segment_id", s."video_id", s."index", s."start_ms", s."end_ms",
  e."frame_tokens", e."frame_weights", e."frame_mask"`;

/**
 * The segments of `scope` with this model version's tensors, in video order. NOT_FOUND for an id
 * that names nothing (malformed ids included), a deleted or failed video, or a segment this model
 * version has not encoded; UNAVAILABLE (retriable) while the video is still being indexed.
 */
export async function loadSegmentFrames(
  db: Queryable,
  model: ModelVersionRef,
  scope: SegmentScope,
): Promise<SegmentFrames[]> {
  if (scope.kind === 'segment') {
    const id = scope.segmentId;
    if (!UUID.test(id)) throw notFound('segment', id);
    const { rows } = await db.query<Row & { status: string }>(
      `SELECT ${COLUMNS}, v."status" FROM "segments" s
       JOIN "videos" v ON v."id" = s."video_id"
       LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id" AND e."model_version_id" = $2
       WHERE s."id" = $1`,
      [id, model.id],
    );
    const row = rows[0];
    if (!row || row.status === 'DELETED') throw notFound('segment', id);
    return [toFrames(row, model)];
  }
  await requireIndexedVideo(db, scope.videoId);
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM "segments" s
     LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id" AND e."model_version_id" = $2
     WHERE s."video_id" = $1 ORDER BY s."index"`,
    [scope.videoId, model.id],
  );
  if (rows.length === 0) throw notFound('video', scope.videoId, 'it has no segments');
  return rows.map((row) => toFrames(row, model));
}

async function requireIndexedVideo(db: Queryable, videoId: string): Promise<void> {
  if (!UUID.test(videoId)) throw notFound('video', videoId);
  const { rows } = await db.query<{ status: string }>(`SELECT "status" FROM "videos" WHERE "id" = $1`, [
    videoId,
  ]);
  const status = rows[0]?.status;
  if (status === 'INDEXED') return;
  if (status === 'PENDING' || status === 'INDEXING') {
    throw new HbiError('UNAVAILABLE', `Video ${videoId} is still being indexed; retry shortly`, {
      details: { videoId, status },
    });
  }
  throw notFound('video', videoId, status === 'FAILED' ? 'it failed to index' : undefined);
}

function toFrames(row: Row, model: ModelVersionRef): SegmentFrames {
  if (!row.frame_tokens || !row.frame_weights || !row.frame_mask) {
    throw new HbiError('NOT_FOUND', `Segment ${row.segment_id} is not indexed with model ${model.modelId}`, {
      details: { segmentId: row.segment_id, model: model.modelId },
    });
  }
  return {
    segmentId: row.segment_id,
    videoId: row.video_id,
    index: row.index,
    startMs: row.start_ms,
    endMs: row.end_ms,
    frameTokens: bytesToFloat32(row.frame_tokens),
    frameWeights: bytesToFloat32(row.frame_weights),
    frameMask: bytesToFloat32(row.frame_mask),
  };
}

function notFound(what: 'segment' | 'video', id: string, why?: string): HbiError {
  return new HbiError('NOT_FOUND', `No ${what} ${JSON.stringify(id)}${why ? `: ${why}` : ''}`, {
    details: { [`${what}Id`]: id },
  });
}
