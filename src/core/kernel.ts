/**
 * Builds the shared services once, in dependency order (a `Lifecycle`), and stops them in reverse. This is the only
 * place that wires concrete adapters (with `src/main.ts`; `adapters.ts` picks each one from config);
 * the database, plugin registry and gateway join here as they are built. Boot fails fast with a typed
 * error naming the part that failed.
 */
import { fileURLToPath } from 'node:url';

import { migrateDatabase, openDatabase, openEventBus, openObjectStore } from './adapters.js';
import type { Config } from './config.js';
import type { RelationalDatabase } from './db/relational.js';
import { EncoderService } from './encoder/encoder-service.js';
import { RemoteEncoder } from './encoder/remote-encoder.js';
import type { SharedEncoder } from './encoder/types.js';
import type { ModelVersionRecord } from './library/model-version.js';
import { registerModelVersion } from './library/model-version.js';
import type { EventBus } from './events/port.js';
import { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { ModelPackage } from './model/package-loader.js';
import { loadModelPackage } from './model/package-loader.js';
import { TextTokenizer } from './model/tokenizer.js';
import { VectorStore } from './segments/vector-store.js';
import type { ObjectStore } from './storage/port.js';
import type { FfmpegTools } from './video/ffmpeg-tools.js';
import { locateFfmpeg } from './video/ffmpeg-tools.js';

/** Prisma's migrations folder, two levels above this module in both `src/core` and `dist/core`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url));

export interface Kernel {
  config: Config;
  logger: Logger;
  ffmpeg: FfmpegTools;
  modelPackage: ModelPackage;
  /** The package's row in `model_versions`; every vector this process writes points at it. */
  modelVersion: ModelVersionRecord;
  /** The ONNX sessions, or on a cluster gateway the model's identity only (`RemoteEncoder`). */
  encoder: SharedEncoder;
  /** PGlite embedded, PostgreSQL when DATABASE_URL is set; `db.prisma` is Prisma Client on the same connection(s). */
  db: RelationalDatabase;
  /** Segment embeddings and frame tensors of this model version, in `db`: the one place that stores them. */
  vectors: VectorStore;
  storage: ObjectStore;
  events: EventBus;
  /** Stops everything in reverse order of start; safe to call twice. */
  stop(): Promise<void>;
}

export interface KernelOptions {
  /** Load and warm the ONNX sessions (default); false on a cluster gateway, whose inference runs on workers. */
  inference?: boolean;
}

/** Boots the services, each on its embedded adapter unless config names a real one (`adapters.ts`). */
export async function bootKernel(
  config: Config,
  logger: Logger,
  options: KernelOptions = {},
): Promise<Kernel> {
  const life = new Lifecycle(logger, { stopTimeoutMs: config.shutdownTimeoutMs });
  const ffmpeg = await life.add('ffmpeg', () =>
    locateFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath }),
  );
  logger.info('ffmpeg found', { ...ffmpeg });
  const modelPackage = await life.add('model package', () => loadModelPackage(config.modelDir));
  const tokenizer = await life.add('tokenizer', () =>
    TextTokenizer.load(modelPackage.file(modelPackage.manifest.tokenizer.file), modelPackage.manifest),
  );
  const encoder: SharedEncoder =
    options.inference === false
      ? new RemoteEncoder({ modelId: modelPackage.id, graphs: modelPackage.graphs, tokenizer })
      : await life.add(
          'encoder',
          async () => {
            const service = new EncoderService({
              modelPackage,
              tokenizer,
              config,
              logger: logger.child({ component: 'encoder' }),
            });
            // Sessions that loaded before a failed warm-up are released by start() itself.
            await service.start();
            return service;
          },
          (service) => service.close(),
        );
  const db = await life.add(
    'database',
    () => openDatabase(config, logger),
    (d) => d.close(),
  );
  await life.add('migrations', () =>
    migrateDatabase(db, MIGRATIONS_DIR, logger.child({ component: 'migrate' })),
  );
  const modelVersion = await life.add('model version', () => registerModelVersion(db, modelPackage));
  const vectors = await life.add(
    'vector index',
    async () => {
      const store = new VectorStore(db, modelVersion, {
        logger: logger.child({ component: 'statistics' }),
        frameCacheBytes: config.frameCacheMb * 1024 ** 2,
        nearDuplicateSimilarity: config.nearDuplicateSimilarity,
      });
      await store.ensureIndex();
      return store;
    },
    (store) => store.close(),
  );
  const storage = await life.add(
    'object store',
    () => openObjectStore(config, logger),
    (s) => s.close(),
  );
  const events = await life.add(
    'event bus',
    () => openEventBus(config, logger),
    (e) => e.close(),
  );
  logger.info('adapters', { database: db.kind, objectStore: storage.kind, events: events.kind });

  return {
    config,
    logger,
    ffmpeg,
    modelPackage,
    modelVersion,
    encoder,
    db,
    vectors,
    storage,
    events,
    stop: () => life.stop(),
  };
}
