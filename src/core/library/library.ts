/**
 * The video library as one started unit: the catalog (reads), the job store and its watcher
 * (`jobProgress`), the request side (mutations, uploads) and, where this process works, the ingest
 * worker. Built from the kernel's shared services; stopped before them.
 */
import { randomUUID } from 'node:crypto';

import type { Kernel } from '../kernel.js';
import { JobStore } from '../jobs/job-store.js';
import { JobWatcher } from '../jobs/job-watcher.js';
import { CameraRegistry } from './camera-registry.js';
import { IngestRequests } from '../ingest/ingest-requests.js';
import { IngestWorker } from '../ingest/ingest-worker.js';
import { JobRelay } from '../ingest/job-relay.js';
import { inSystemScope } from '../db/scope.js';
import type { Logger } from '../logger.js';
import { startObjectEventIngest } from '../ingest/object-events.js';
import { SourceSecrets } from '../ingest/source-secrets.js';
import { UploadTokens } from '../ingest/upload-tokens.js';
import { VideoCatalog } from './video-catalog.js';
import { VideoIngestor } from '../ingest/video-ingestor.js';
import { MediaService } from '../media/media-links.js';
import { MediaMaker } from '../media/media-maker.js';
import { processDecodeSlots } from '../video/decode-slots.js';

/** What the gateway's resolvers and upload route use (structural, so tests can hand in fakes). */
export interface LibraryServices {
  catalog: Pick<VideoCatalog, keyof VideoCatalog>;
  jobs: Pick<JobStore, 'get' | 'list'>;
  watcher: Pick<JobWatcher, 'watch'>;
  /** Object-event ingest (`ingestStoredObject`) is a worker's business, not the API's. */
  requests: Pick<IngestRequests, Exclude<keyof IngestRequests, 'ingestStoredObject'>>;
  /** Camera registration and status, for camera agents. */
  cameras: Pick<CameraRegistry, keyof CameraRegistry>;
}

export interface Library extends LibraryServices {
  /** Media URLs (thumbnails, posters, playback): signed for resolvers, checked at `/media/<token>`. */
  media: MediaService;
  /** Leaves the bus (worker first, so no job starts while the rest stops). */
  stop(): Promise<void>;
}

export interface LibraryOptions {
  /** Run queued jobs in this process (embedded mode and workers); false for a gateway-only process. */
  worker: boolean;
  /**
   * Also queue jobs for objects the bucket's notifications announce (`object-events.ts`); only with
   * `worker`, and only where config names the topic (HBI_KAFKA_OBJECT_EVENTS_TOPIC) and Kafka.
   */
  objectEvents?: boolean;
}

/** Starts the library on the kernel's services. */
export async function startLibrary(
  kernel: Pick<
    Kernel,
    | 'config'
    | 'logger'
    | 'db'
    | 'vectors'
    | 'storage'
    | 'events'
    | 'encoder'
    | 'ffmpeg'
    | 'modelPackage'
    | 'modelVersion'
  >,
  options: LibraryOptions = { worker: true },
): Promise<Library> {
  const { config, db, storage, events, modelVersion, vectors } = kernel;
  const logger = kernel.logger.child({ component: 'library' });
  const jobs = new JobStore(db, events, logger);
  const catalog = new VideoCatalog(db);
  const watcher = await JobWatcher.start(events, jobs, `job-watch-${randomUUID()}`);
  const decodeSlots = processDecodeSlots(config.maxConcurrentDecodes);
  const mediaMaker = new MediaMaker({
    config,
    storage,
    ffmpeg: kernel.ffmpeg,
    logger: logger.child({ component: 'media' }),
    decodeSlots,
  });
  const media = new MediaService({ db, storage, config });
  const ingestor = new VideoIngestor({
    ...kernel,
    model: kernel.modelPackage.manifest,
    logger,
    decodeSlots,
    media: mediaMaker,
  });
  // One key for the credentials of ingest URLs: HBI_UPLOAD_SECRET (shared across a cluster), else a
  // random one that only this process's worker can use; a gateway without a worker then refuses them.
  const secrets = new SourceSecrets(config.uploadSecret);
  // Jobs a stopped process left unfinished go back in the queue before the worker joins (embedded: all
  // of them, they died with this process's bus; cluster: those unchanged for HBI_JOB_STALE_AFTER_MS).
  const embedded = db.kind === 'pglite';
  const sweeper = options.worker
    ? await startSweeper(jobs, logger, embedded ? undefined : config.jobStaleAfterMs)
    : undefined;
  const relay = new JobRelay({ db, events, jobs, logger });
  const worker = options.worker
    ? await IngestWorker.start({
        config,
        db,
        storage,
        events,
        jobs,
        ingestor,
        vectors,
        secrets,
        logger,
      }).catch(async (error: unknown) => {
        sweeper?.stop();
        await watcher.stop();
        throw error;
      })
    : undefined;
  relay.start();
  const requests = new IngestRequests({
    config,
    db,
    storage,
    events,
    jobs,
    catalog,
    tokens: new UploadTokens(config.uploadSecret),
    ...(options.worker || secrets.shared ? { secrets } : {}),
    modelVersion,
    relay,
    logger,
  });
  const objectEvents =
    options.worker && options.objectEvents && config.objectEventsTopic && events.kind === 'kafka'
      ? await startObjectEventIngest({
          events,
          requests,
          topic: config.objectEventsTopic,
          bucket: config.objectStoreBucket,
          prefix: config.objectEventsPrefix,
          logger,
        }).catch(async (error: unknown) => {
          sweeper?.stop();
          await relay.stop();
          await worker?.stop();
          await watcher.stop();
          throw error;
        })
      : undefined;
  let stopped: Promise<void> | undefined;
  return {
    catalog,
    jobs,
    watcher,
    requests,
    cameras: new CameraRegistry(db),
    media,
    stop: () =>
      (stopped ??= (async () => {
        sweeper?.stop();
        await relay.stop();
        await objectEvents?.stop();
        await worker?.stop();
        await watcher.stop();
      })()),
  };
}

/**
 * Queues again the jobs stopped processes left unfinished: at once, then (with `staleMs`, in a cluster,
 * where other processes' jobs may still be running) every third of `staleMs`, at most every 5 minutes,
 * those unchanged for `staleMs`. Without `staleMs` (embedded: this process owns the database) every
 * unfinished job, once.
 */
async function startSweeper(
  jobs: JobStore,
  logger: Logger,
  staleMs: number | undefined,
): Promise<{ stop(): void }> {
  const sweep = () =>
    inSystemScope('start-up sweep of interrupted jobs', async () => {
      const { requeued, failed } = await jobs.recoverInterrupted(
        staleMs === undefined ? undefined : new Date(Date.now() - staleMs),
      );
      if (requeued.length + failed.length > 0) {
        logger.warn(
          'jobs interrupted by a stopped process: re-queued, or failed when nothing could re-run them',
          {
            requeued: requeued.map((job) => job.id),
            failed: failed.map((job) => job.id),
          },
        );
      }
    });
  await sweep();
  if (staleMs === undefined) return { stop: () => undefined };
  const timer = setInterval(
    () => void sweep().catch((error: unknown) => logger.warn('sweep of interrupted jobs failed', { error })),
    Math.min(Math.max(1_000, Math.floor(staleMs / 3)), 300_000),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
