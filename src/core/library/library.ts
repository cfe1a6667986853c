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
import { startObjectEventIngest } from '../ingest/object-events.js';
import { SourceSecrets } from '../ingest/source-secrets.js';
import { UploadTokens } from '../ingest/upload-tokens.js';
import { VideoCatalog } from './video-catalog.js';
import { VideoIngestor } from '../ingest/video-ingestor.js';

/** What the gateway's resolvers and upload route use (structural, so tests can hand in fakes). */
export interface LibraryServices {
  catalog: Pick<VideoCatalog, keyof VideoCatalog>;
  jobs: Pick<JobStore, 'get' | 'list'>;
  watcher: Pick<JobWatcher, 'watch'>;
  /** Object-event ingest (`ingestStoredObject`) is a worker's business, not the API's. */
  requests: Pick<IngestRequests, Exclude<keyof IngestRequests, 'ingestStoredObject' | 'stop' | 'unsentJobs'>>;
  /** Camera registration and status, for camera agents. */
  cameras: Pick<CameraRegistry, keyof CameraRegistry>;
}

export interface Library extends LibraryServices {
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
  const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest, logger });
  // One key for the credentials of ingest URLs: HBI_UPLOAD_SECRET (shared across a cluster), else a
  // random one that only this process's worker can use; a gateway without a worker then refuses them.
  const secrets = new SourceSecrets(config.uploadSecret);
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
        await watcher.stop();
        throw error;
      })
    : undefined;
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
    stop: () =>
      (stopped ??= (async () => {
        requests.stop();
        await objectEvents?.stop();
        await worker?.stop();
        await watcher.stop();
      })()),
  };
}
