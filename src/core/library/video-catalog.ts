/**
 * The read side of the library: videos, segments and cameras of one tenant, one by id or a page at a
 * time after a keyset (never an offset, so pages stay stable while ingest adds rows). Malformed ids
 * name nothing: they read as "not found" without a database error.
 */
import type { Queryable } from '../db/port.js';
import type { PublicError } from '../errors.js';
import { isUuid } from '../util/ids.js';

export type VideoStatus = 'PENDING' | 'INDEXING' | 'INDEXED' | 'FAILED' | 'DELETED';
export type CameraStatus = 'ONLINE' | 'OFFLINE' | 'DISABLED';

export interface VideoRecord {
  id: string;
  tenantId: string;
  cameraId: string | null;
  title: string | null;
  sourceUri: string | null;
  sizeBytes: number;
  durationMs: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  container: string | null;
  codec: string | null;
  status: VideoStatus;
  /** Why the last indexing failed (client-safe), while status is FAILED. */
  error: PublicError | null;
  /** Wall-clock time the video was recorded (camera videos). */
  capturedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SegmentRecord {
  id: string;
  videoId: string;
  index: number;
  startMs: number;
  endMs: number;
  createdAt: Date;
}

export interface CameraRecord {
  id: string;
  name: string;
  status: CameraStatus;
  createdAt: Date;
  lastSeenAt: Date | null;
}

/** Where a page starts: after the row with this sort key. */
export interface TimeKey {
  createdAt: Date;
  id: string;
}

const VIDEO_COLUMNS = `"id", "tenant_id", "camera_id", "title", "source_uri", "size_bytes", "duration_ms", "width",
  "height", "fps", "container", "codec", "status", "error", "recorded_at", "created_at", "updated_at"`;

interface VideoRow {
  id: string;
  tenant_id: string;
  camera_id: string | null;
  title: string | null;
  source_uri: string | null;
  size_bytes: number | bigint | string;
  duration_ms: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  container: string | null;
  codec: string | null;
  status: VideoStatus;
  error: PublicError | null;
  recorded_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const SEGMENT_COLUMNS = `s."id", s."video_id" AS "videoId", s."index", s."start_ms" AS "startMs",
  s."end_ms" AS "endMs", s."created_at" AS "createdAt"`;
const CAMERA_COLUMNS = `"id", "name", "status", "created_at" AS "createdAt", "last_seen_at" AS "lastSeenAt"`;

export class VideoCatalog {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  async video(tenantId: string, id: string): Promise<VideoRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.#db.query<VideoRow>(
      `SELECT ${VIDEO_COLUMNS} FROM "videos" WHERE "id" = $1 AND "tenant_id" = $2`,
      [id, tenantId],
    );
    return rows[0] && toVideo(rows[0]);
  }

  /** Newest first; `cameraId` and `status` narrow the list (and its total). */
  async videos(
    tenantId: string,
    options: { limit: number; after?: TimeKey; cameraId?: string; status?: VideoStatus },
  ): Promise<{ videos: VideoRecord[]; totalCount: number }> {
    const params: unknown[] = [tenantId];
    const where = [`"tenant_id" = $1`];
    if (options.cameraId !== undefined) {
      params.push(options.cameraId);
      where.push(`"camera_id" = $${params.length}`);
    }
    if (options.status !== undefined) {
      params.push(options.status);
      where.push(`"status" = $${params.length}`);
    }
    const totalCount = await this.#count(`"videos" WHERE ${where.join(' AND ')}`, params);
    if (options.after) {
      params.push(options.after.createdAt, options.after.id);
      where.push(`("created_at", "id") < ($${params.length - 1}, $${params.length})`);
    }
    params.push(options.limit);
    const { rows } = await this.#db.query<VideoRow>(
      `SELECT ${VIDEO_COLUMNS} FROM "videos" WHERE ${where.join(' AND ')}
       ORDER BY "created_at" DESC, "id" DESC LIMIT $${params.length}`,
      params,
    );
    return { videos: rows.map(toVideo), totalCount };
  }

  async segment(tenantId: string, id: string): Promise<SegmentRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.#db.query<SegmentRecord>(
      `SELECT ${SEGMENT_COLUMNS} FROM "segments" s JOIN "videos" v ON v."id" = s."video_id"
       WHERE s."id" = $1 AND v."tenant_id" = $2`,
      [id, tenantId],
    );
    return rows[0];
  }

  /** A video's segments in timeline order, after segment `afterIndex`. */
  async segments(
    tenantId: string,
    videoId: string,
    options: { limit: number; afterIndex?: number },
  ): Promise<{ segments: SegmentRecord[]; totalCount: number }> {
    if (!isUuid(videoId)) return { segments: [], totalCount: 0 };
    const scope = `"segments" s JOIN "videos" v ON v."id" = s."video_id" WHERE s."video_id" = $1 AND v."tenant_id" = $2`;
    const totalCount = await this.#count(scope, [videoId, tenantId]);
    const { rows } = await this.#db.query<SegmentRecord>(
      `SELECT ${SEGMENT_COLUMNS} FROM ${scope} AND s."index" > $3 ORDER BY s."index" LIMIT $4`,
      [videoId, tenantId, options.afterIndex ?? -1, options.limit],
    );
    return { segments: rows, totalCount };
  }

  async camera(tenantId: string, id: string): Promise<CameraRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.#db.query<CameraRecord>(
      `SELECT ${CAMERA_COLUMNS} FROM "cameras" WHERE "id" = $1 AND "tenant_id" = $2`,
      [id, tenantId],
    );
    return rows[0];
  }

  /** By name (unique per tenant), after the camera named `afterName`. */
  async cameras(
    tenantId: string,
    options: { limit: number; afterName?: string },
  ): Promise<{ cameras: CameraRecord[]; totalCount: number }> {
    const totalCount = await this.#count(`"cameras" WHERE "tenant_id" = $1`, [tenantId]);
    const { rows } = await this.#db.query<CameraRecord>(
      `SELECT ${CAMERA_COLUMNS} FROM "cameras" WHERE "tenant_id" = $1 AND ($2::text IS NULL OR "name" > $2)
       ORDER BY "name" LIMIT $3`,
      [tenantId, options.afterName ?? null, options.limit],
    );
    return { cameras: rows, totalCount };
  }

  async #count(from: string, params: readonly unknown[]): Promise<number> {
    const { rows } = await this.#db.query<{ count: number }>(
      `SELECT count(*)::int AS "count" FROM ${from}`,
      params,
    );
    return rows[0]!.count;
  }
}

function toVideo(row: VideoRow): VideoRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    cameraId: row.camera_id,
    title: row.title,
    sourceUri: row.source_uri,
    sizeBytes: Number(row.size_bytes),
    durationMs: row.duration_ms,
    width: row.width,
    height: row.height,
    fps: row.fps,
    container: row.container,
    codec: row.codec,
    status: row.status,
    error: row.error,
    capturedAt: row.recorded_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
