/**
 * Runs the jobs `job.queued` announces: fetch the bytes (stored object, server file, URL download),
 * ingest them with progress on the job row, or re-encode stored videos with the loaded model. Delivery
 * is at least once: a redelivered request for a finished job does nothing, one for a running job runs
 * again (ingest is idempotent). A failure ends only its own job, with a client-safe error; a passing
 * failure (retriable: store or encoder busy, download cut) is retried a few times first.
 */
import type { Config } from '../config.js';
import type { Queryable } from '../db/port.js';
import { HbiError, UnreachableCaseError, toHbiError, toPublicError } from '../errors.js';
import type { EventBus, EventMessage, Subscription } from '../events/port.js';
import type { JobRecord, JobStore } from '../jobs/job-store.js';
import type { Logger } from '../logger.js';
import type { VectorStore } from '../segments/vector-store.js';
import type { ObjectStore } from '../storage/port.js';
import type { IngestSource, JobQueuedEvent } from './ingest-events.js';
import type { SourceSecrets } from './source-secrets.js';
import { JOB_QUEUED } from './ingest-events.js';
import {
  checkIngestUrl,
  downloadToStore,
  ingestRoots,
  resolveIngestPath,
  urlPolicy,
} from './ingest-sources.js';
import { isUuid } from '../util/ids.js';
import type { IngestProgress, VideoIngestor } from './video-ingestor.js';
import { inTenantScope } from '../db/scope.js';
import { isDatabaseOutage, waitForDatabase } from '../db/outage.js';

/** Deliveries of one job request before a retriable failure becomes final. */
const MAX_ATTEMPTS = 3;

export interface IngestWorkerOptions {
  config: Pick<
    Config,
    | 'maxUploadBytes'
    | 'downloadTimeoutMs'
    | 'ingestRoots'
    | 'dataDir'
    | 'demoLibrary'
    | 'ingestUrlHosts'
    | 'ingestUrlPrivate'
    | 'databaseOutageWaitMs'
  >;
  db: Queryable;
  storage: ObjectStore;
  events: EventBus;
  jobs: JobStore;
  ingestor: VideoIngestor;
  /** Which of a tenant's videos have every segment encoded by this model version (re-index planning). */
  vectors: Pick<VectorStore, 'coverage'>;
  /** Opens the full URL of a `url` source that carried credentials (sealed by the request side). */
  secrets?: SourceSecrets;
  logger: Logger;
}

export class IngestWorker {
  readonly #options: IngestWorkerOptions;
  #subscription: Subscription | undefined;
  /** Aborted by stop(): a job waiting out a database outage gives up and leaves its message to the bus. */
  readonly #stopping = new AbortController();

  private constructor(options: IngestWorkerOptions) {
    this.#options = options;
  }

  /** Joins the `ingest-worker` consumer group: every worker process shares the queued jobs. */
  static async start(options: IngestWorkerOptions): Promise<IngestWorker> {
    const worker = new IngestWorker(options);
    worker.#subscription = await options.events.subscribe<JobQueuedEvent>({
      topics: [JOB_QUEUED],
      group: 'ingest-worker',
      maxAttempts: MAX_ATTEMPTS,
      handler: (message) => worker.#handle(message),
    });
    return worker;
  }

  /** Leaves the group once the job in hand is done. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#subscription?.stop();
  }

  async #handle(message: EventMessage<JobQueuedEvent>): Promise<void> {
    const request = message.value;
    const problem = malformed(request);
    if (problem) {
      // Dead-lettered at once (non-retriable), visible through the deadLetters query.
      throw new HbiError('BAD_USER_INPUT', `Malformed ${JOB_QUEUED} message: ${problem}`, {
        retriable: false,
      });
    }
    // The job runs in its tenant's data scope: a message naming another tenant than its job's finds no
    // job and is dropped.
    await this.#outlastingOutages(request, () =>
      inTenantScope(request.tenantId, () => this.#run(request, message.attempt)),
    );
  }

  /**
   * Runs the job; when it loses the database (a restart, a fail-over) waits until the database answers
   * again and runs it once more — every step is idempotent — for up to HBI_DB_OUTAGE_WAIT_MS. Past
   * that, or when the worker stops, the outage is thrown and the bus redelivers the message later (and
   * the stale-job sweep remains the last resort).
   */
  async #outlastingOutages(request: JobQueuedEvent, run: () => Promise<void>): Promise<void> {
    const { db, logger, config } = this.#options;
    const deadline = Date.now() + config.databaseOutageWaitMs;
    for (let rerun = 0; ; rerun++) {
      try {
        await run();
        if (rerun > 0) logger.info('job ran again after the database came back', { jobId: request.jobId });
        return;
      } catch (error) {
        if (!isDatabaseOutage(error) || this.#stopping.signal.aborted) throw error;
        logger.warn('job lost the database; waiting for it to answer again', {
          jobId: request.jobId,
          waitsUntil: new Date(deadline).toISOString(),
          error,
        });
        const back = await waitForDatabase(db, { deadline, signal: this.#stopping.signal });
        if (!back) throw error;
      }
    }
  }

  async #run(request: JobQueuedEvent, attempt: number): Promise<void> {
    const { jobs, logger } = this.#options;
    const job = await jobs.start(request.jobId);
    if (!job) return;
    try {
      if (request.kind === 'ingest') await this.#ingest(job, request.source, request);
      else if (request.videoId !== null) await this.#reindexOne(job, request.videoId);
      else await this.#reindexAll(job, request.force);
      await jobs.finish(job.id, { status: 'SUCCEEDED' });
    } catch (error) {
      // The database is gone: nothing can be recorded on the row now; the caller waits for it and runs
      // the job again.
      if (isDatabaseOutage(error)) throw error;
      const failure = toHbiError(error);
      const fields = { jobId: job.id, kind: job.kind, code: failure.code, attempt, error };
      if (failure.code === 'INTERNAL') logger.error('job failed', fields);
      else logger.warn('job failed', fields);
      if (failure.retriable && attempt < MAX_ATTEMPTS) {
        await jobs.requeue(job.id, toPublicError(failure));
        throw failure;
      }
      await jobs.finish(job.id, { status: 'FAILED', error: toPublicError(failure) });
    }
  }

  async #ingest(
    job: JobRecord,
    source: IngestSource,
    facts: {
      tenantId: string;
      title: string | null;
      cameraId: string | null;
      capturedAt?: string | null;
      sourceUri: string;
    },
  ): Promise<void> {
    const { ingestor, storage, config } = this.#options;
    const progress = this.#progress(job.id, true);
    const request = {
      tenantId: facts.tenantId,
      title: facts.title,
      cameraId: facts.cameraId,
      capturedAt: facts.capturedAt ? new Date(facts.capturedAt) : null,
      sourceUri: facts.sourceUri,
    };
    switch (source.kind) {
      case 'object':
        await ingestor.ingestObject({ ...request, key: source.key }, progress);
        return;
      case 'path': {
        // Checked again here: the worker's folders are the ones that count.
        const file = await resolveIngestPath(source.path, ingestRoots(config));
        await ingestor.ingestFile({ ...request, file }, progress);
        return;
      }
      case 'url': {
        // Checked again here (and on every redirect): the worker's policy is the one that counts.
        const policy = urlPolicy(config);
        const url = checkIngestUrl(this.#fullUrl(source), policy);
        const extension = /\.[a-z0-9]{1,8}$/i.exec(url.pathname)?.[0].toLowerCase() ?? '';
        const key = `uploads/${job.id}${extension}`;
        await downloadToStore(storage, key, url, {
          maxBytes: config.maxUploadBytes,
          timeoutMs: config.downloadTimeoutMs,
          policy,
        });
        await ingestor.ingestObject({ ...request, key }, progress);
        return;
      }
      default:
        throw new UnreachableCaseError(source);
    }
  }

  /** The URL to download: the sealed one with its credentials when there is one. */
  #fullUrl(source: { url: string; sealedUrl?: string }): string {
    if (source.sealedUrl === undefined) return source.url;
    const secrets = this.#options.secrets;
    if (!secrets) {
      throw new HbiError('CONFIG_INVALID', 'This worker cannot read the URL’s credentials (no key)', {
        retriable: false,
      });
    }
    return secrets.open(source.sealedUrl);
  }

  async #reindexOne(job: JobRecord, videoId: string): Promise<void> {
    await this.#options.ingestor.reindexVideo(videoId, job.tenantId, this.#progress(job.id, false));
  }

  /**
   * Re-encodes the tenant's videos one after another. The plan starts from each video's stored segment
   * count and is corrected as videos are probed; a video that fails is recorded on its row and the rest
   * go on; the job fails at the end naming how many failed.
   */
  async #reindexAll(job: JobRecord, force: boolean): Promise<void> {
    const { jobs, ingestor, vectors } = this.#options;
    const rows = await vectors.coverage(job.tenantId);
    const todo = rows.filter(
      (video) =>
        force || (video.status !== 'FAILED' && (video.segments === 0 || video.embedded < video.segments)),
    );
    await jobs.plan(
      job.id,
      todo.reduce((sum, video) => sum + Math.max(1, video.segments), 0),
    );
    let failed = 0;
    let first: HbiError | undefined;
    for (const video of todo) {
      const expected = Math.max(1, video.segments);
      let planned = expected;
      let done = 0;
      try {
        await ingestor.reindexVideo(video.id, job.tenantId, {
          segmentsPlanned: async (count) => {
            planned = count;
            if (count !== expected) await jobs.plan(job.id, count - expected);
          },
          segmentIndexed: async () => {
            done++;
            await jobs.advance(job.id);
          },
        });
      } catch (error) {
        failed++;
        first ??= toHbiError(error);
        if (planned > done) await jobs.advance(job.id, planned - done);
      }
    }
    if (first) {
      throw new HbiError(
        first.code,
        `${failed} of ${todo.length} videos failed to re-index (first: ${first.message}); the others were re-indexed`,
        { details: { failed, videos: todo.length } },
      );
    }
  }

  /** Progress reports that move the job row; `attach` records the video the job is about. */
  #progress(jobId: string, attach: boolean): IngestProgress {
    const { jobs } = this.#options;
    return {
      videoStored: async (videoId) => {
        if (attach) await jobs.attachVideo(jobId, videoId);
      },
      segmentsPlanned: async (count) => void (await jobs.plan(jobId, count)),
      segmentIndexed: async () => void (await jobs.advance(jobId)),
    };
  }
}

/** Why a `job.queued` value cannot be a job (a foreign or corrupted producer), or undefined. */
function malformed(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'not a JSON object';
  const request = value as Partial<JobQueuedEvent>;
  if (typeof request.jobId !== 'string' || !isUuid(request.jobId)) return 'jobId is not a UUID';
  if (request.kind !== 'ingest' && request.kind !== 'reindex')
    return `unknown kind ${JSON.stringify(request.kind)}`;
  if (request.kind === 'ingest' && (typeof request.source !== 'object' || request.source === null))
    return 'an ingest without a source';
  if (typeof request.tenantId !== 'string' || !isUuid(request.tenantId)) return 'tenantId is not a UUID';
  return undefined;
}
