/**
 * What clients ask of the library, checked and turned into jobs: ingest a server path or a URL, upload
 * through a signed single-use URL, re-index one video or all, delete a video. Requests only validate,
 * record a QUEUED job and publish `job.queued`; the ingest worker does the work, so a gateway answers
 * at once and the job row tells the rest.
 */
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';

import type { Config } from '../config.js';
import type { RelationalDatabase } from '../db/relational.js';
import { HbiError, isHbiError, toPublicError } from '../errors.js';
import type { EventBus } from '../events/port.js';
import type { JobRecord, JobStore } from '../jobs/job-store.js';
import type { Logger } from '../logger.js';
import type { ObjectBody, ObjectStore } from '../storage/port.js';
import { isUuid } from '../util/ids.js';
import { hasUrlSecrets, stripUrlSecrets } from '../util/redact.js';
import type { IngestSource, JobQueuedEvent, VideoDeletedEvent } from './ingest-events.js';
import { removeVideoMedia } from '../media/media-maker.js';
import { VIDEO_DELETED } from './ingest-events.js';
import type { JobRelay } from './job-relay.js';
import { checkIngestUrl, ingestRoots, resolveIngestPath, urlPolicy } from './ingest-sources.js';
import type { SourceSecrets } from './source-secrets.js';
import type { UploadTokens } from './upload-tokens.js';
import type { VideoCatalog } from '../library/video-catalog.js';
import { DEFAULT_TENANT_ID } from './video-ingestor.js';
import { inSystemScope, inTenantScope } from '../db/scope.js';

/** The HTTP path prefix upload URLs use: `PUT /uploads/<token>`. */
export const UPLOAD_PATH = '/uploads/';

/** Longest title, file name and idempotency key accepted. */
const MAX_TITLE = 500;
const MAX_FILENAME = 255;
const MAX_IDEMPOTENCY_KEY = 200;

export interface IngestRequestsOptions {
  config: Pick<
    Config,
    | 'maxUploadBytes'
    | 'uploadUrlTtlSeconds'
    | 'publicUrl'
    | 'ingestRoots'
    | 'dataDir'
    | 'demoLibrary'
    | 'ingestUrlHosts'
    | 'ingestUrlPrivate'
  > &
    // Absent: no quota (tests); the server passes its configuration's.
    Partial<Pick<Config, 'tenantMaxVideos' | 'tenantMaxStoredBytes' | 'tenantMaxQueuedJobs'>>;
  db: RelationalDatabase;
  storage: ObjectStore;
  events: EventBus;
  jobs: JobStore;
  catalog: VideoCatalog;
  tokens: UploadTokens;
  /**
   * Seals a URL's credentials for the worker (the workers of this process, or any holding the same
   * HBI_UPLOAD_SECRET); without it a URL with credentials or secret parameters is refused.
   */
  secrets?: SourceSecrets;
  modelVersion: { id: string };
  /** Publishes the `job.queued` messages that jobs are written with (the outbox): kicked after each. */
  relay: Pick<JobRelay, 'kick'>;
  logger: Logger;
}

export interface IngestInput {
  /** Exactly one of `path` (inside the ingest folders) and `url` (http or https). */
  path?: string | null;
  url?: string | null;
  title: string;
  cameraId?: string | null;
  /** Wall-clock time the video starts at (a camera segment's first frame); stored as the video's capture time. */
  capturedAt?: Date | null;
  /** Asking again with the same key returns the first job instead of queuing another. */
  idempotencyKey?: string | null;
}

export interface UploadInput {
  filename: string;
  contentType: string;
  sizeBytes: number;
  title?: string | null;
  cameraId?: string | null;
  /** Wall-clock time the video starts at (a camera segment's first frame). */
  capturedAt?: Date | null;
  /** `scheme://host[:port]` the client reached this server at; HBI_PUBLIC_URL wins when set. */
  origin: string;
}

export interface UploadTicket {
  uploadId: string;
  uploadUrl: string;
  objectKey: string;
  expiresAt: Date;
  maxBytes: number;
}

export interface ReceivedUpload {
  job: JobRecord;
  objectKey: string;
  sizeBytes: number;
}

export interface VideoDeletion {
  videoId: string;
  /** False when there was nothing to delete (unknown id, or deleted before): deleting is idempotent. */
  deleted: boolean;
  segments: number;
}

export class IngestRequests {
  readonly #options: IngestRequestsOptions;

  constructor(options: IngestRequestsOptions) {
    this.#options = options;
  }

  /** Queues an ingest of a server file or a URL; BAD_USER_INPUT / NOT_FOUND for a source it may not or cannot read. */
  async ingest(input: IngestInput, tenantId = DEFAULT_TENANT_ID): Promise<JobRecord> {
    return inTenantScope(tenantId, async () => {
      const given = [input.path, input.url].filter((value) => value !== null && value !== undefined);
      if (given.length !== 1) throw new HbiError('BAD_USER_INPUT', 'Give exactly one of path and url');
      const title = checkText('title', input.title, MAX_TITLE, true)!;
      const key = checkText('idempotencyKey', input.idempotencyKey, MAX_IDEMPOTENCY_KEY, false);
      const cameraId = await this.#checkCamera(tenantId, input.cameraId);
      let source: IngestSource;
      let sourceUri: string;
      if (input.path !== null && input.path !== undefined) {
        source = {
          kind: 'path',
          path: await resolveIngestPath(input.path, ingestRoots(this.#options.config)),
        };
        sourceUri = input.path;
      } else {
        const url = checkIngestUrl(input.url!, urlPolicy(this.#options.config));
        // Credentials and signed parameters reach the download only, sealed: the job message, the video
        // row, the logs and the dead letters hold the URL without them.
        sourceUri = stripUrlSecrets(url.href);
        source = { kind: 'url', url: sourceUri, ...this.#sealed(url.href) };
      }
      await this.#checkQuota(tenantId, { videos: 1, bytes: 0, jobs: 1 });
      const idempotencyKey = key ? `ingest:${tenantId}:${key}` : `ingest:${randomUUID()}`;
      const capturedAt = checkCapturedAt(input.capturedAt);
      // What makes two requests the same: where the bytes come from (the URL without its secrets, so
      // a re-signed URL is the same request) and what the video will say about itself.
      const fingerprint = createHash('sha256')
        .update(
          JSON.stringify({
            source: source.kind === 'path' ? { path: source.path } : { url: sourceUri },
            title,
            cameraId,
            capturedAt,
          }),
        )
        .digest('hex');
      return this.#queue({ tenantId, kind: 'INGEST', idempotencyKey, fingerprint }, (jobId) => ({
        kind: 'ingest',
        jobId,
        tenantId,
        source,
        title,
        cameraId,
        capturedAt,
        sourceUri,
      }));
    });
  }

  /** A signed single-use URL to PUT one video to; LIMIT_EXCEEDED when the declared size is over the limit. */
  async createUpload(
    input: UploadInput,
    tenantId = DEFAULT_TENANT_ID,
    keyId: string | null = null,
  ): Promise<UploadTicket> {
    return inTenantScope(tenantId, async () => {
      const { config, tokens } = this.#options;
      const filename = checkText('filename', input.filename, MAX_FILENAME, true)!;
      if (!/^[\w.+-]+\/[\w.+-]+$/.test(input.contentType)) {
        throw new HbiError('BAD_USER_INPUT', 'contentType must be a MIME type such as video/mp4');
      }
      if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes < 1) {
        throw new HbiError(
          'BAD_USER_INPUT',
          'sizeBytes must be a whole number of at least 1 (an empty file is no video)',
        );
      }
      if (input.sizeBytes > config.maxUploadBytes) {
        throw new HbiError(
          'LIMIT_EXCEEDED',
          `The upload is ${input.sizeBytes} bytes; the limit is ${config.maxUploadBytes}`,
          { details: { sizeBytes: input.sizeBytes, limit: config.maxUploadBytes } },
        );
      }
      const title = checkText('title', input.title, MAX_TITLE, false);
      const cameraId = await this.#checkCamera(tenantId, input.cameraId);
      await this.#checkQuota(tenantId, { videos: 1, bytes: input.sizeBytes, jobs: 1 });
      const uploadId = randomUUID();
      const extension = path
        .extname(filename)
        .toLowerCase()
        .replace(/[^.a-z0-9]/g, '')
        .slice(0, 10);
      // Under the tenant's prefix: one tenant's objects never share a key (or a listing) with another's.
      const objectKey = `tenants/${tenantId}/uploads/${uploadId}${extension.length > 1 ? extension : ''}`;
      const expiresAt = new Date(Date.now() + config.uploadUrlTtlSeconds * 1000);
      const token = tokens.sign({
        uploadId,
        tenantId,
        keyId,
        objectKey,
        filename,
        contentType: input.contentType,
        maxBytes: input.sizeBytes,
        expiresAt: expiresAt.getTime(),
        title,
        cameraId,
        capturedAt: checkCapturedAt(input.capturedAt),
      });
      const base = (config.publicUrl ?? input.origin).replace(/\/+$/, '');
      return {
        uploadId,
        uploadUrl: `${base}${UPLOAD_PATH}${token}`,
        objectKey,
        expiresAt,
        maxBytes: input.sizeBytes,
      };
    });
  }

  /**
   * Stores the bytes PUT to an upload URL and queues their ingest. The token is claimed first (its job
   * row is created once), so a second PUT gets UPLOAD_EXPIRED. A failure after the claim (too many
   * bytes: LIMIT_EXCEEDED; the client went away: BAD_USER_INPUT) ends the job FAILED and carries its id.
   */
  async receiveUpload(
    token: string,
    body: ObjectBody,
    declaredBytes?: number,
    keyActive: (keyId: string) => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<ReceivedUpload> {
    const { tokens, jobs, storage, logger } = this.#options;
    const grant = tokens.verify(token);
    return inTenantScope(grant.tenantId, async () => {
      // The URL was granted to a key: once that key is revoked or expired, its unused URLs stop working.
      if (grant.keyId && !(await keyActive(grant.keyId))) {
        throw new HbiError('UNAUTHENTICATED', 'The key this upload URL was made for is revoked or expired');
      }
      // Checked again at the PUT: other uploads may have landed since the URL was made.
      await this.#checkQuota(grant.tenantId, { videos: 1, bytes: declaredBytes ?? 0, jobs: 1 });
      const { job, created } = await jobs.create({
        tenantId: grant.tenantId,
        kind: 'INGEST',
        idempotencyKey: `upload:${grant.uploadId}`,
        modelVersionId: this.#options.modelVersion.id,
      });
      if (!created) {
        throw new HbiError(
          'UPLOAD_EXPIRED',
          'This upload URL was already used; ask createUpload for a new one',
          {
            details: { jobId: job.id },
          },
        );
      }
      const failJob = async (error: HbiError): Promise<HbiError> => {
        await jobs.finish(job.id, { status: 'FAILED', error: toPublicError(error) });
        return new HbiError(error.code, error.message, {
          cause: error,
          details: { ...error.details, jobId: job.id },
        });
      };
      const tooLarge = () =>
        new HbiError(
          'LIMIT_EXCEEDED',
          `The upload is larger than the ${grant.maxBytes} bytes declared to createUpload`,
          {
            details: { limit: grant.maxBytes },
          },
        );
      if (declaredBytes !== undefined && declaredBytes > grant.maxBytes) throw await failJob(tooLarge());
      let stored;
      try {
        stored = await storage.put(grant.objectKey, body, {
          maxBytes: grant.maxBytes,
          contentType: grant.contentType,
        });
      } catch (error) {
        if (isHbiError(error) && error.code === 'LIMIT_EXCEEDED') throw await failJob(tooLarge());
        logger.warn('upload did not complete', { jobId: job.id, error });
        throw await failJob(
          isHbiError(error)
            ? error
            : new HbiError('BAD_USER_INPUT', 'The upload was interrupted before all bytes arrived'),
        );
      }
      // The bytes are stored: the job's message goes in its row, and the relay hands it to the workers.
      await jobs.enqueue(job.id, {
        kind: 'ingest',
        jobId: job.id,
        tenantId: grant.tenantId,
        source: { kind: 'object', key: grant.objectKey },
        title: grant.title ?? grant.filename,
        cameraId: grant.cameraId,
        capturedAt: grant.capturedAt ?? null,
        sourceUri: `upload:${grant.filename}`,
      } satisfies JobQueuedEvent);
      this.#options.relay.kick();
      return { job, objectKey: grant.objectKey, sizeBytes: stored.size };
    });
  }

  /**
   * Queues the ingest of an object another system wrote to the store (a bucket notification said so).
   * Once per object version (`version`: its ETag): a redelivered notification finds the same job.
   */
  async ingestStoredObject(
    input: { key: string; version: string; title?: string | null },
    tenantId = DEFAULT_TENANT_ID,
  ): Promise<JobRecord> {
    return inTenantScope(tenantId, async () => {
      const request = (jobId: string): JobQueuedEvent => ({
        kind: 'ingest',
        jobId,
        tenantId,
        source: { kind: 'object', key: input.key },
        title: input.title ?? path.basename(input.key),
        cameraId: null,
        sourceUri: `object:${input.key}`,
      });
      await this.#checkQuota(tenantId, { videos: 1, bytes: 0, jobs: 1 });
      return this.#queue(
        {
          tenantId,
          kind: 'INGEST',
          idempotencyKey: `object:${tenantId}:${input.key}@${input.version}`.slice(0, 500),
        },
        request,
      );
    });
  }

  /** Queues a re-encode of one video with the loaded model (or returns the one already queued); NOT_FOUND for an unknown video. */
  async reindexVideo(videoId: string, tenantId = DEFAULT_TENANT_ID): Promise<JobRecord> {
    return inTenantScope(tenantId, async () => {
      if (!(await this.#options.catalog.video(tenantId, videoId))) {
        throw new HbiError('NOT_FOUND', `Video ${videoId} not found`, { details: { id: videoId } });
      }
      const active = await this.#options.jobs.findActive(tenantId, 'REINDEX', videoId);
      if (active) return active;
      await this.#checkQuota(tenantId, { videos: 0, bytes: 0, jobs: 1 });
      return this.#queue(
        { tenantId, kind: 'REINDEX', idempotencyKey: `reindex:${randomUUID()}`, videoId },
        (jobId) => ({
          kind: 'reindex',
          jobId,
          tenantId,
          videoId,
          force: true,
        }),
      );
    });
  }

  /** Queues a re-encode of every video the loaded model has not encoded (all with `force`), or returns the one already queued. */
  async reindexAll(force: boolean, tenantId = DEFAULT_TENANT_ID): Promise<JobRecord> {
    return inTenantScope(tenantId, async () => {
      const active = await this.#options.jobs.findActive(tenantId, 'REINDEX', null);
      if (active) return active;
      await this.#checkQuota(tenantId, { videos: 0, bytes: 0, jobs: 1 });
      return this.#queue(
        { tenantId, kind: 'REINDEX', idempotencyKey: `reindex-all:${randomUUID()}` },
        (jobId) => ({
          kind: 'reindex',
          jobId,
          tenantId,
          videoId: null,
          force,
        }),
      );
    });
  }

  /**
   * Removes a video: its unfinished jobs are cancelled, its row goes with its segments, embeddings and
   * cached captions and answers, then its object (unless another row shares it); `video.deleted` follows.
   */
  async deleteVideo(videoId: string, tenantId = DEFAULT_TENANT_ID): Promise<VideoDeletion> {
    return inTenantScope(tenantId, async () => {
      const { db, jobs, storage, events } = this.#options;
      const nothing: VideoDeletion = { videoId, deleted: false, segments: 0 };
      if (!isUuid(videoId)) return nothing;
      await jobs.cancelForVideo(tenantId, videoId, {
        code: 'NOT_FOUND',
        message: 'The video was deleted',
        retriable: false,
      });
      // One SQL transaction with the cached answers and captions of the video, whose tables belong to
      // the plugins' cache (not to the relational client).
      const removed = await db.transaction(async (tx) => {
        const { rows: segments } = await tx.query<{ id: string }>(
          `SELECT s."id" FROM "segments" s JOIN "videos" v ON v."id" = s."video_id" WHERE v."id" = $1 AND v."tenant_id" = $2`,
          [videoId, tenantId],
        );
        const { rows } = await tx.query<{ key: string }>(
          `DELETE FROM "videos" WHERE "id" = $1 AND "tenant_id" = $2 RETURNING "object_key" AS "key"`,
          [videoId, tenantId],
        );
        // Segments, vectors and the plugins' cache entries that name the video go with it (ON DELETE CASCADE).
        if (!rows[0]) return undefined;
        return { key: rows[0].key, segments: segments.length };
      });
      if (!removed) return nothing;
      // Objects are content-addressed across tenants: the bytes stay while any tenant's row uses them.
      const sharing = await inSystemScope('is the object still used', () =>
        db.prisma.video.findFirst({ where: { objectKey: removed.key }, select: { id: true } }),
      );
      if (!sharing) await storage.delete(removed.key);
      // Its media is its own (under the tenant's prefix): never shared, always removed.
      await removeVideoMedia(storage, tenantId, videoId).catch((error: unknown) =>
        this.#options.logger.warn('media of a deleted video not removed', { videoId, error }),
      );
      await events.publish<VideoDeletedEvent>(VIDEO_DELETED, [
        { key: videoId, value: { videoId, tenantId, segments: removed.segments } },
      ]);
      return { videoId, deleted: true, segments: removed.segments };
    });
  }

  /**
   * Creates the job with its `job.queued` message in one statement (or finds the one holding the key:
   * CONFLICT when that one was for another request) and kicks the relay, which hands it to the workers.
   */
  async #queue(
    job: {
      tenantId: string;
      kind: 'INGEST' | 'REINDEX';
      idempotencyKey: string;
      videoId?: string;
      fingerprint?: string;
    },
    request: (jobId: string) => JobQueuedEvent,
  ): Promise<JobRecord> {
    const { job: record, created } = await this.#options.jobs.create({
      ...job,
      modelVersionId: this.#options.modelVersion.id,
      request,
    });
    if (created) this.#options.relay.kick();
    return record;
  }

  /** `{ sealedUrl }` when the URL carries secrets the download needs (none when it carries none). */
  #sealed(href: string): { sealedUrl?: string } {
    if (!hasUrlSecrets(href)) return {};
    const secrets = this.#options.secrets;
    if (!secrets) {
      throw new HbiError(
        'BAD_USER_INPUT',
        'A URL with credentials or secret parameters needs HBI_UPLOAD_SECRET shared by gateways and workers',
      );
    }
    return { sealedUrl: secrets.seal(href) };
  }

  /**
   * QUOTA_EXCEEDED when adding `add` would take the tenant past one of its quotas (videos, stored
   * bytes, unfinished jobs). Counted now, not reserved: concurrent requests may overshoot by their own
   * sizes, which the next request then sees.
   */
  async #checkQuota(tenantId: string, add: { videos: number; bytes: number; jobs: number }): Promise<void> {
    const { config, db } = this.#options;
    const maxVideos = config.tenantMaxVideos ?? 0;
    const maxBytes = config.tenantMaxStoredBytes ?? 0;
    const maxJobs = config.tenantMaxQueuedJobs ?? 0;
    if (maxVideos === 0 && maxBytes === 0 && maxJobs === 0) return;
    const { prisma } = db;
    const [videos, jobs] = await Promise.all([
      prisma.video.aggregate({ where: { tenantId }, _count: { _all: true }, _sum: { sizeBytes: true } }),
      maxJobs > 0 && add.jobs > 0
        ? prisma.job.count({ where: { tenantId, status: { in: ['QUEUED', 'RUNNING'] } } })
        : Promise.resolve(0),
    ]);
    const stored = Number(videos._sum.sizeBytes ?? 0n);
    const refuse = (what: string, used: number, limit: number, setting: string): never => {
      throw new HbiError(
        'QUOTA_EXCEEDED',
        `The tenant's ${what} quota is reached (${used} of ${limit}): delete videos, wait for jobs to finish, or ask the operator to raise ${setting}`,
        { details: { quota: what, used, limit } },
      );
    };
    if (maxVideos > 0 && add.videos > 0 && videos._count._all + add.videos > maxVideos)
      refuse('videos', videos._count._all, maxVideos, 'HBI_TENANT_MAX_VIDEOS');
    if (maxBytes > 0 && add.bytes > 0 && stored + add.bytes > maxBytes)
      refuse('stored bytes', stored, maxBytes, 'HBI_TENANT_MAX_STORED_BYTES');
    if (maxJobs > 0 && add.jobs > 0 && jobs + add.jobs > maxJobs)
      refuse('queued jobs', jobs, maxJobs, 'HBI_TENANT_MAX_QUEUED_JOBS');
  }

  /** The camera id when it names one of the tenant's cameras; NOT_FOUND otherwise. */
  async #checkCamera(tenantId: string, cameraId: string | null | undefined): Promise<string | null> {
    if (cameraId === null || cameraId === undefined) return null;
    if (!(await this.#options.catalog.camera(tenantId, cameraId))) {
      throw new HbiError('NOT_FOUND', `Camera ${cameraId} not found`, { details: { id: cameraId } });
    }
    return cameraId;
  }
}

/** A capture time as ISO text; BAD_USER_INPUT when it is not a valid time. */
function checkCapturedAt(value: Date | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (Number.isNaN(value.getTime())) throw new HbiError('BAD_USER_INPUT', 'capturedAt is not a valid time');
  return value.toISOString();
}

/** A trimmed text argument: BAD_USER_INPUT when required and empty, or longer than `max`. */
function checkText(
  name: string,
  value: string | null | undefined,
  max: number,
  required: boolean,
): string | null {
  const text = value?.trim() ?? '';
  if (text.length === 0) {
    if (required) throw new HbiError('BAD_USER_INPUT', `${name} must not be empty`);
    return null;
  }
  // eslint-disable-next-line no-control-regex
  if (text.length > max || /[\u0000-\u001f\u007f]/.test(text)) {
    throw new HbiError('BAD_USER_INPUT', `${name} must be at most ${max} printable characters`, {
      details: { limit: max },
    });
  }
  return text;
}
