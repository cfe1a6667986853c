/**
 * The ingest path for one video: hash → object store → probe and validate → segments → one ffmpeg pass
 * over the file that yields each segment's T frames by the model's recipe as its window closes → shared
 * encoder (segments are encoded while decoding goes on; the batcher stacks concurrent ones) → segment rows +
 * pgvector embedding + frame tensors → `video.indexed` and one `segment.indexed` per segment.
 * Idempotent by content: the same bytes for the same tenant map to one video row (and one stored
 * object), segments are unique per (video, index) and embeddings per (segment, model version), so
 * re-ingesting or a redelivered event never duplicates. A bad file fails only itself, with a typed,
 * client-safe error recorded on its row; the full story goes to the log.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Config } from '../config.js';
import type { RelationalDatabase } from '../db/relational.js';
import { DB_NULL, ensureTenant, toJson } from '../db/relational.js';
import type { SharedEncoder } from '../encoder/types.js';
import { HbiError, toHbiError, toPublicError } from '../errors.js';
import type { EventBus } from '../events/port.js';
import type { Logger } from '../logger.js';
import type { ModelManifest } from '../model/manifest.js';
import { withLocalFile } from '../storage/local-file.js';
import type { VectorStore } from '../segments/vector-store.js';
import type { ObjectStore } from '../storage/port.js';
import type { DecodedSegment } from '../video/decode-segments.js';
import { decodeSegments } from '../video/decode-segments.js';
import type { PreviewOutputs, Previews } from '../video/preview-outputs.js';
import type { DecodeSlots } from '../video/decode-slots.js';
import { processDecodeSlots } from '../video/decode-slots.js';
import type { FfmpegTools } from '../video/ffmpeg-tools.js';
import { probeVideo } from '../video/probe.js';
import { planSegments } from '../video/segments.js';
import type { ValidVideo } from '../video/validate.js';
import { validateVideo } from '../video/validate.js';
import type { SegmentIndexedEvent, VideoIndexedEvent } from './ingest-events.js';
import { SEGMENT_INDEXED, VIDEO_INDEXED } from './ingest-events.js';
import type { ModelVersionRecord } from '../library/model-version.js';
import type { MediaMaker } from '../media/media-maker.js';

export { VIDEO_INDEXED } from './ingest-events.js';
export type { VideoIndexedEvent } from './ingest-events.js';

import { DEFAULT_TENANT_ID } from '../tenancy.js';
import { hashFile } from '../util/hash-file.js';
import { inSystemScope, inTenantScope } from '../db/scope.js';

export { DEFAULT_TENANT_ID };

/** What every ingest may say about the video besides its bytes. */
export interface VideoFacts {
  title?: string | null;
  /** Where the video came from (a path, URL or library id), stored for display. */
  sourceUri?: string | null;
  tenantId?: string;
  /** The camera that recorded it (must exist). */
  cameraId?: string | null;
  /** Wall-clock time its first frame was recorded (camera segments); kept once set. */
  capturedAt?: Date | null;
}

export interface IngestRequest extends VideoFacts {
  /** A local file to ingest. */
  file: string;
}

export interface StoredVideoRequest extends VideoFacts {
  /** An object already in the store (an upload, a download). */
  key: string;
}

export interface IngestResult {
  videoId: string;
  segments: number;
  /** True when the video was already indexed with this model and nothing was redone. */
  alreadyIndexed: boolean;
}

/** Reports from a running ingest, for its job's progress; each is awaited before the work goes on. */
export interface IngestProgress {
  /** The video row exists (a content hash is known). */
  videoStored?(videoId: string): Promise<void>;
  /** The video was probed and split into `count` segments. */
  segmentsPlanned?(count: number): Promise<void>;
  /** One more segment is stored. */
  segmentIndexed?(): Promise<void>;
}

export interface VideoIngestorOptions {
  config: Pick<
    Config,
    | 'maxUploadBytes' | 'maxVideoSeconds' | 'maxVideoWidth' | 'maxVideoHeight' | 'allowedContainers'
    | 'allowedCodecs' | 'segmentWindowMs' | 'segmentOverlapMs' | 'decodeTimeoutMs' | 'maxVideoFps'
    | 'maxConcurrentDecodes'
  >; // prettier-ignore
  db: RelationalDatabase;
  storage: ObjectStore;
  events: EventBus;
  encoder: SharedEncoder;
  ffmpeg: FfmpegTools;
  model: ModelManifest;
  modelVersion: ModelVersionRecord;
  /** Where segments and their vectors are written (the kernel's, bound to `db` and the model version). */
  vectors: VectorStore;
  logger: Logger;
  /** Where decodes wait their turn; default the process's (HBI_MAX_CONCURRENT_DECODES). */
  decodeSlots?: DecodeSlots;
  /**
   * Makes thumbnails, poster and playable rendition once the segments are indexed (media-maker.ts);
   * absent: no media (benchmarks of indexing alone, tools).
   */
  media?: Pick<MediaMaker, 'make' | 'previewsWanted'>;
}

interface StoredVideo {
  id: string;
  tenantId: string;
  key: string;
  sha256: string;
  cameraId: string | null;
  capturedAt: Date | null;
}

interface IndexedSegment {
  id: string;
  index: number;
  startMs: number;
  endMs: number;
  createdAt: Date;
}

export class VideoIngestor {
  readonly #options: VideoIngestorOptions;
  readonly #decodeSlots: DecodeSlots;

  constructor(options: VideoIngestorOptions) {
    this.#options = options;
    this.#decodeSlots = options.decodeSlots ?? processDecodeSlots(options.config.maxConcurrentDecodes);
  }

  /** Ingests one local file; throws its typed error (and records it on the video row) when the file is bad. */
  async ingestFile(request: IngestRequest, progress: IngestProgress = {}): Promise<IngestResult> {
    const { storage, config, logger } = this.#options;
    const sha256 = await hashFile(request.file).catch((error: unknown) => {
      logger.warn('video file unreadable', { file: request.file, error });
      throw new HbiError('NOT_FOUND', 'Cannot read the video file', { cause: error });
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
    return this.#ingestStored({ ...request, key }, sha256, stored.size, progress);
  }

  /** Ingests an object already in the store; NOT_FOUND when it is missing. */
  async ingestObject(request: StoredVideoRequest, progress: IngestProgress = {}): Promise<IngestResult> {
    const stored = await this.#options.storage.head(request.key);
    if (!stored) {
      throw new HbiError('NOT_FOUND', `Object ${request.key} not found`, { details: { key: request.key } });
    }
    return this.#ingestStored(request, stored.sha256, stored.size, progress);
  }

  /** Decodes and encodes a stored video again with the loaded model; NOT_FOUND for an unknown video. */
  async reindexVideo(
    videoId: string,
    tenantId: string = DEFAULT_TENANT_ID,
    progress: IngestProgress = {},
  ): Promise<IngestResult> {
    return inTenantScope(tenantId, async () => {
      const row = await this.#options.db.prisma.video.findFirst({
        where: { id: videoId, tenantId },
        select: { objectKey: true, contentSha256: true, cameraId: true, recordedAt: true },
      });
      if (!row) throw new HbiError('NOT_FOUND', `Video ${videoId} not found`, { details: { id: videoId } });
      await progress.videoStored?.(videoId);
      const video = {
        id: videoId,
        tenantId,
        key: row.objectKey,
        sha256: row.contentSha256,
        cameraId: row.cameraId,
        capturedAt: row.recordedAt,
      };
      return this.#indexAndAnnounce(video, progress, `reindex:${videoId}`);
    });
  }

  async #ingestStored(
    request: StoredVideoRequest,
    sha256: string,
    size: number,
    progress: IngestProgress,
  ): Promise<IngestResult> {
    return inTenantScope(request.tenantId ?? DEFAULT_TENANT_ID, async () => {
      const { prisma } = this.#options.db;
      const tenantId = request.tenantId ?? DEFAULT_TENANT_ID;
      await ensureTenant(prisma, tenantId);
      // Raw SQL on purpose: the same bytes arriving twice at once must land on one row, and a second
      // arrival only fills what the first left empty. Prisma's upsert can set values but not
      // `COALESCE("videos"."title", EXCLUDED."title")`, which this one atomic statement needs.
      const [row] = await prisma.$queryRaw<
        { id: string; status: string; key: string; camera_id: string | null; recorded_at: Date | null }[]
      >`INSERT INTO "videos" ("id", "tenant_id", "object_key", "content_sha256", "title", "source_uri", "size_bytes", "camera_id", "recorded_at", "updated_at")
         VALUES (${randomUUID()}::uuid, ${tenantId}::uuid, ${request.key}, ${sha256}, ${request.title ?? null},
           ${request.sourceUri ?? null}, ${size}, ${request.cameraId ?? null}::uuid, ${request.capturedAt ?? null}::timestamptz, now())
         ON CONFLICT ("tenant_id", "content_sha256") DO UPDATE SET "updated_at" = now(),
           "title" = COALESCE("videos"."title", EXCLUDED."title"),
           "source_uri" = COALESCE("videos"."source_uri", EXCLUDED."source_uri"),
           "camera_id" = COALESCE("videos"."camera_id", EXCLUDED."camera_id"),
           "recorded_at" = COALESCE("videos"."recorded_at", EXCLUDED."recorded_at")
         RETURNING "id"::text, "status"::text, "object_key" AS "key", "camera_id"::text, "recorded_at"`;
      if (!row) throw new HbiError('INTERNAL', 'The video row was not written');
      const key = row.key === request.key ? row.key : await this.#keepOneObject(row.id, row.key, request.key);
      await progress.videoStored?.(row.id);
      if (row.status === 'INDEXED') {
        const segments = await this.#options.vectors.completeSegments(row.id);
        if (segments !== undefined) {
          await progress.segmentsPlanned?.(segments);
          return { videoId: row.id, segments, alreadyIndexed: true };
        }
      }
      const video = {
        id: row.id,
        tenantId,
        key,
        sha256,
        cameraId: row.camera_id,
        capturedAt: row.recorded_at,
      };
      return this.#indexAndAnnounce(video, progress, request.sourceUri ?? request.key);
    });
  }

  /**
   * The same bytes arrived under a second key: keep the video's first object and drop the new copy
   * (unless another row uses it), or adopt the new one when the first has gone missing.
   */
  async #keepOneObject(videoId: string, existingKey: string, newKey: string): Promise<string> {
    const { db, storage } = this.#options;
    if (await storage.head(existingKey)) {
      // Objects are content-addressed across tenants: any tenant's row may use it.
      const user = await inSystemScope('is the object still used', () =>
        db.prisma.video.findFirst({ where: { objectKey: newKey }, select: { id: true } }),
      );
      if (!user) await storage.delete(newKey);
      return existingKey;
    }
    await db.prisma.video.updateMany({ where: { id: videoId }, data: { objectKey: newKey } });
    return newKey;
  }

  async #indexAndAnnounce(
    video: StoredVideo,
    progress: IngestProgress,
    source: string,
  ): Promise<IngestResult> {
    const { events, modelVersion, logger } = this.#options;
    let segments: IndexedSegment[];
    try {
      segments = await withLocalFile(this.#options.storage, video.key, (file) =>
        this.#index(video, file, progress),
      );
    } catch (error) {
      throw await this.#recordFailure(video.id, error);
    }
    const model = modelVersion.modelId;
    await events.publish<VideoIndexedEvent>(VIDEO_INDEXED, [
      {
        key: video.id,
        value: {
          videoId: video.id,
          tenantId: video.tenantId,
          contentSha256: video.sha256,
          segments: segments.length,
          model,
        },
      },
    ]);
    await events.publish<SegmentIndexedEvent>(
      SEGMENT_INDEXED,
      segments.map((segment) => ({
        key: video.id,
        value: {
          segmentId: segment.id,
          videoId: video.id,
          tenantId: video.tenantId,
          cameraId: video.cameraId,
          index: segment.index,
          startMs: segment.startMs,
          endMs: segment.endMs,
          createdAt: segment.createdAt.toISOString(),
          capturedAt: video.capturedAt
            ? new Date(new Date(video.capturedAt).getTime() + segment.startMs).toISOString()
            : null,
          model,
        },
      })),
    );
    logger.info('video indexed', { videoId: video.id, segments: segments.length, source });
    return { videoId: video.id, segments: segments.length, alreadyIndexed: false };
  }

  /** Records why the video failed on its row (client-safe) and in the log (in full); returns the error to throw. */
  async #recordFailure(videoId: string, error: unknown): Promise<HbiError> {
    const { db, logger } = this.#options;
    let failure = toHbiError(error, 'VIDEO_UNREADABLE');
    // updateMany: the row may be gone (deleted meanwhile), which is what `count` tells.
    const { count } = await db.prisma.video.updateMany({
      where: { id: videoId },
      data: { status: 'FAILED', error: toJson(toPublicError(failure)) },
    });
    if (count === 0) {
      failure = new HbiError('NOT_FOUND', 'The video was deleted while it was being indexed', {
        cause: error,
      });
    }
    logger.warn('video failed to index', { videoId, code: failure.code, reason: failure.message, error });
    return failure;
  }

  async #index(video: StoredVideo, file: string, progress: IngestProgress): Promise<IndexedSegment[]> {
    const { db, config, ffmpeg, encoder, model, vectors, media } = this.#options;
    const videoId = video.id;
    const probe: ValidVideo = validateVideo(
      await probeVideo(file, ffmpeg, config.decodeTimeoutMs, config.allowedContainers),
      config,
    );
    await db.prisma.video.updateMany({
      where: { id: videoId },
      data: {
        status: 'INDEXING',
        error: DB_NULL,
        // The old media goes with the old segments: URLs read null until this ingest made new ones.
        media: DB_NULL,
        durationMs: Math.round(probe.durationMs),
        width: probe.video.width,
        height: probe.video.height,
        fps: probe.video.fps,
        container: probe.formatNames.join(','),
        codec: probe.video.codec,
      },
    });
    const spans = planSegments(probe.durationMs, config.segmentWindowMs, config.segmentOverlapMs);
    await progress.segmentsPlanned?.(spans.length);
    // A re-index under a different window leaves fewer segments: drop the ones past the new plan.
    await db.query(`DELETE FROM "segments" WHERE "video_id" = $1 AND "index" >= $2`, [videoId, spans.length]);
    // One ffmpeg process reads the file once (decode-segments.ts); each segment is encoded and written
    // as soon as its window closes, while decoding goes on, and decoding pauses while `readAhead`
    // segments wait for the encoder. At most HBI_MAX_CONCURRENT_DECODES videos decode at once.
    const segments: IndexedSegment[] = [];
    const onSegment = async ({ span, frames }: DecodedSegment) => {
      // A decode run again (below) does not redo the segments already written.
      if (segments.some((done) => done.index === span.index)) return;
      const encoded = await encoder.encodeVideo(frames);
      const written = await vectors.writeSegment({
        videoId,
        index: span.index,
        startMs: Math.round(span.startMs),
        endMs: Math.round(span.endMs),
        vectors: encoded,
      });
      segments.push({
        id: written.id,
        createdAt: written.createdAt,
        index: span.index,
        startMs: Math.round(span.startMs),
        endMs: Math.round(span.endMs),
      });
      await progress.segmentIndexed?.();
    };
    const decode = (previews?: PreviewOutputs) =>
      this.#decodeSlots.run(() =>
        decodeSegments(
          ffmpeg,
          {
            file,
            spans,
            frames: model.dims.frames,
            width: model.dims.width,
            height: model.dims.height,
            timeoutMs: config.decodeTimeoutMs,
            maxFps: config.maxVideoFps,
            containers: config.allowedContainers,
            ...(previews ? { previews } : {}),
          },
          onSegment,
        ),
      );
    // Thumbnails and poster come from the same decode (preview-outputs.ts); media never fails the
    // ingest, so a decode that fails with them runs once more without (and media makes them apart).
    const previewDir = media?.previewsWanted ? await mkdtemp(path.join(tmpdir(), 'hbi-previews-')) : null;
    try {
      let previews: Previews | undefined;
      if (previewDir) {
        try {
          previews = (await decode({ outDir: previewDir })).previews;
        } catch (error) {
          // Only ffmpeg's own failure may be the preview outputs' doing; the encoder's or the database's is not.
          if (!(error instanceof HbiError && error.code === 'VIDEO_UNREADABLE')) throw error;
          this.#options.logger.warn('decoding with thumbnails failed; decoding again without them', {
            videoId,
            error,
          });
          await decode();
        }
      } else {
        await decode();
      }
      segments.sort((a, b) => a.index - b.index);
      // Media never fails the ingest: what cannot be made is logged and left out (media-maker.ts).
      const made = media
        ? await media.make(video, file, probe, spans, previews).catch((error: unknown) => {
            this.#options.logger.warn('video media not made; the video stays indexed without it', {
              videoId,
              error,
            });
            return null;
          })
        : null;
      await db.prisma.video.updateMany({
        where: { id: videoId },
        data: { status: 'INDEXED', media: made ? toJson(made) : DB_NULL },
      });
      return segments;
    } finally {
      if (previewDir) await rm(previewDir, { recursive: true, force: true });
    }
  }
}
