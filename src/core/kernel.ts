/**
 * Builds the shared services once, in dependency order, and stops them in reverse. This is the only
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
import { toHbiError } from './errors.js';
import type { ModelVersionRecord } from './ingest/model-version.js';
import { registerModelVersion } from './ingest/model-version.js';
import type { EventBus } from './events/port.js';
import type { Logger } from './logger.js';
import type { ModelPackage } from './model/package-loader.js';
import { loadModelPackage } from './model/package-loader.js';
import { TextTokenizer } from './model/tokenizer.js';
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
  const stops: (() => Promise<void>)[] = [];
  const step = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    try {
      return await start();
    } catch (error) {
      await stopAll(stops, logger);
      const failure = toHbiError(error);
      logger.error(`boot failed while starting ${name}`, { error: failure });
      throw failure;
    }
  };
  const ffmpeg = await step('ffmpeg', () =>
    locateFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath }),
  );
  logger.info('ffmpeg found', { ...ffmpeg });
  const modelPackage = await step('model package', () => loadModelPackage(config.modelDir));
  const tokenizer = await step('tokenizer', () =>
    TextTokenizer.load(modelPackage.file(modelPackage.manifest.tokenizer.file), modelPackage.manifest),
  );
  let encoder: SharedEncoder;
  if (options.inference === false) {
    encoder = new RemoteEncoder({ modelId: modelPackage.id, graphs: modelPackage.graphs, tokenizer });
  } else {
    const service = new EncoderService({
      modelPackage,
      tokenizer,
      config,
      logger: logger.child({ component: 'encoder' }),
    });
    stops.push(() => service.close());
    await step('encoder', () => service.start());
    encoder = service;
  }
  const db = await step('database', () => openDatabase(config, logger));
  stops.push(() => db.close());
  await step('migrations', () => migrateDatabase(db, MIGRATIONS_DIR, logger.child({ component: 'migrate' })));
  const modelVersion = await step('model version', () => registerModelVersion(db, modelPackage));
  const storage = await step('object store', () => openObjectStore(config, logger));
  stops.push(() => storage.close());
  const events = await step('event bus', () => openEventBus(config, logger));
  stops.push(() => events.close());
  logger.info('adapters', { database: db.kind, objectStore: storage.kind, events: events.kind });

  let stopped: Promise<void> | undefined;
  return {
    config,
    logger,
    ffmpeg,
    modelPackage,
    modelVersion,
    encoder,
    db,
    storage,
    events,
    stop: () => (stopped ??= stopAll(stops, logger)),
  };
}

async function stopAll(stops: (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const stop of stops.splice(0).reverse()) {
    await stop().catch((error: unknown) => logger.error('shutdown step failed', { error }));
  }
}
