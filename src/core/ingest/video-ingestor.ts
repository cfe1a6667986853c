/**
 * The embedded ingest path for one video file: hash → object store → probe and validate → segments →
 * decode T frames each by the model's recipe → shared encoder (the batcher stacks concurrent segments)
 * → segment rows + pgvector embedding + frame tensors → `video.indexed`. Idempotent by content: the
 * same bytes for the same tenant map to one video row, segments are unique per (video, index) and
 * embeddings per (segment, model version), so re-ingesting or a redelivered event never duplicates.
 * A bad file fails only itself, with a typed error recorded on its row.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';

import type { Config } from '../config.js';
import type { Database } from '../db/port.js';
import type { SharedEncoder } from '../encoder/types.js';
import { HbiError, toHbiError } from '../errors.js';
import type { EventBus } from '../events/port.js';
import type { Logger } from '../logger.js';
import type { ModelManifest } from '../model/manifest.js';
import type { ObjectStore } from '../storage/port.js';
import { decodeFrames } from '../video/decode-frames.js';
import type { FfmpegTools } from '../video/ffmpeg-tools.js';
import { probeVideo } from '../video/probe.js';
import { planSegments } from '../video/segments.js';
import type { ValidVideo } from '../video/validate.js';
import { validateVideo } from '../video/validate.js';
import type { ModelVersionRecord } from './model-version.js';
import { float32ToBytes, toVectorLiteral } from './vectors.js';

/** The tenant embedded mode works in until API keys name one. */
export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000000';

/** Topic of the event published once a video's segments are searchable. */
export const VIDEO_INDEXED = 'video.indexed';

export interface VideoIndexedEvent {
  videoId: string;
  tenantId: string;
  contentSha256: string;
  segments: number;
  model: string;
}

export interface IngestRequest {
  /** A local file to ingest. */
  file: string;
  title?: string;
  /** Where the video came from (a path, URL or library id), stored for display. */
  sourceUri?: string;
  tenantId?: string;
}

export interface IngestResult {
  videoId: string;
  segments: number;
  /** True when the video was already indexed with this model and nothing was redone. */
  alreadyIndexed: boolean;
}

export interface VideoIngestorOptions {
  config: Pick<
    Config,
    | 'maxUploadBytes' | 'maxVideoSeconds' | 'maxVideoWidth' | 'maxVideoHeight' | 'allowedContainers'
    | 'allowedCodecs' | 'segmentWindowMs' | 'segmentOverlapMs' | 'decodeTimeoutMs'
  >; // prettier-ignore
  db: Database;
  storage: ObjectStore;
  events: EventBus;
  encoder: SharedEncoder;
  ffmpeg: FfmpegTools;
  model: ModelManifest;
  modelVersion: ModelVersionRecord;
  logger: Logger;
}

export class VideoIngestor {
  readonly #options: VideoIngestorOptions;

  constructor(options: VideoIngestorOptions) {
    this.#options = options;
  }

  /** Ingests one file; throws its typed error (and records it on the video row) when the file is bad. */
  async ingestFile(request: IngestRequest): Promise<IngestResult> {
    const { db, storage, config, logger } = this.#options;
    const tenantId = request.tenantId ?? DEFAULT_TENANT_ID;
    const sha256 = await hashFile(request.file).catch((error: unknown) => {
      throw new HbiError('NOT_FOUND', `Cannot read the video file ${request.file}`, {
        cause: error,
        details: { file: request.file },
      });
    });
    const key = `videos/${sha256}${path
      .extname(request.file)
      .toLowerCase()
      .replace(/[^.a-z0-9]/g, '')}`;
    const stored =
      (await storage.head(key)) ??
      (await storage.put(key, createReadStream(request.file), {
        maxBytes: config.maxUploadBytes,
        contentType: 'video/mp4',
      }));
    await db.query(
      `INSERT INTO "tenants" ("id", "name") VALUES ($1, 'default') ON CONFLICT ("id") DO NOTHING`,
      [tenantId],
    );
    const { rows } = await db.query<{ id: string; status: string }>(
      `INSERT INTO "videos" ("id", "tenant_id", "object_key", "content_sha256", "title", "source_uri", "size_bytes", "updated_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT ("tenant_id", "content_sha256") DO UPDATE SET "updated_at" = now()
       RETURNING "id", "status"`,
      [randomUUID(), tenantId, key, sha256, request.title ?? null, request.sourceUri ?? null, stored.size],
    );
    const video = rows[0]!;
    if (video.status === 'INDEXED') {
      const segments = await this.#indexedSegments(video.id);
      if (segments !== undefined) return { videoId: video.id, segments, alreadyIndexed: true };
    }
    try {
      const file = (await storage.localPath(key)) ?? request.file;
      const segments = await this.#index(video.id, file);
      await this.#options.events.publish<VideoIndexedEvent>(VIDEO_INDEXED, [
        {
          key: video.id,
          value: {
            videoId: video.id,
            tenantId,
            contentSha256: sha256,
            segments,
            model: this.#options.modelVersion.modelId,
          },
        },
      ]);
      logger.info('video indexed', {
        videoId: video.id,
        segments,
        source: request.sourceUri ?? request.file,
      });
      return { videoId: video.id, segments, alreadyIndexed: false };
    } catch (error) {
      const failure = toHbiError(error, 'VIDEO_UNREADABLE');
      await db.query(
        `UPDATE "videos" SET "status" = 'FAILED', "error" = $2::jsonb, "updated_at" = now() WHERE "id" = $1`,
        [video.id, JSON.stringify({ code: failure.code, message: failure.message })],
      );
      logger.warn('video failed to index', {
        videoId: video.id,
        code: failure.code,
        reason: failure.message,
      });
      throw failure;
    }
  }

  /** Segment count when every segment has this model's embedding; undefined when work is missing. */
  async #indexedSegments(videoId: string): Promise<number | undefined> {
    const { rows } = await this.#options.db.query<{ segments: number; embedded: number }>(
      `SELECT count(*)::int AS "segments", count(e."segment_id")::int AS "embedded"
       FROM "segments" s LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id" AND e."model_version_id" = $2
       WHERE s."video_id" = $1`,
      [videoId, this.#options.modelVersion.id],
    );
    const row = rows[0]!;
    return row.segments > 0 && row.segments === row.embedded ? row.segments : undefined;
  }

  async #index(videoId: string, file: string): Promise<number> {
    const { db, config, ffmpeg, encoder, model, modelVersion } = this.#options;
    const probe: ValidVideo = validateVideo(await probeVideo(file, ffmpeg, config.decodeTimeoutMs), config);
    await db.query(
      `UPDATE "videos" SET "status" = 'INDEXING', "error" = NULL, "duration_ms" = $2, "width" = $3, "height" = $4,
         "fps" = $5, "container" = $6, "codec" = $7, "updated_at" = now() WHERE "id" = $1`,
      [
        videoId,
        Math.round(probe.durationMs),
        probe.video.width,
        probe.video.height,
        probe.video.fps,
        probe.formatNames.join(','),
        probe.video.codec,
      ],
    );
    const spans = planSegments(probe.durationMs, config.segmentWindowMs, config.segmentOverlapMs);
    const whole = spans.length === 1;
    // Segments of one video decode and encode concurrently; the encoder's batcher stacks them.
    await Promise.all(
      spans.map(async (span) => {
        // A single-segment video is decoded whole, exactly as training decoded its clips.
        const clip = await decodeFrames(ffmpeg, {
          file,
          frames: model.dims.frames,
          width: model.dims.width,
          height: model.dims.height,
          timeoutMs: config.decodeTimeoutMs,
          ...(whole ? {} : { startMs: span.startMs, durationMs: span.endMs - span.startMs }),
        });
        const encoded = await encoder.encodeVideo(clip.frames);
        await db.transaction(async (tx) => {
          const { rows } = await tx.query<{ id: string }>(
            `INSERT INTO "segments" ("id", "video_id", "index", "start_ms", "end_ms") VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT ("video_id", "index") DO UPDATE SET "start_ms" = EXCLUDED."start_ms", "end_ms" = EXCLUDED."end_ms"
             RETURNING "id"`,
            [randomUUID(), videoId, span.index, Math.round(span.startMs), Math.round(span.endMs)],
          );
          await tx.query(
            `INSERT INTO "segment_embeddings" ("segment_id", "model_version_id", "embedding", "frame_tokens", "frame_weights", "frame_mask")
             VALUES ($1, $2, $3::vector, $4, $5, $6)
             ON CONFLICT ("segment_id", "model_version_id") DO UPDATE SET "embedding" = EXCLUDED."embedding",
               "frame_tokens" = EXCLUDED."frame_tokens", "frame_weights" = EXCLUDED."frame_weights", "frame_mask" = EXCLUDED."frame_mask"`,
            [
              rows[0]!.id,
              modelVersion.id,
              toVectorLiteral(encoded.embedding),
              float32ToBytes(encoded.frameTokens),
              float32ToBytes(encoded.frameWeights),
              float32ToBytes(encoded.frameMask),
            ],
          );
        });
      }),
    );
    await db.query(`UPDATE "videos" SET "status" = 'INDEXED', "updated_at" = now() WHERE "id" = $1`, [
      videoId,
    ]);
    return spans.length;
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
