/**
 * Builds the shared services once, in dependency order, and stops them in reverse. This is the only
 * place that wires concrete adapters (with `src/main.ts`); the database, plugin registry and gateway
 * join here as they are built. Boot fails fast with a typed error naming the part that failed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Config } from './config.js';
import { migrate } from './db/migrate.js';
import type { PgliteDatabase } from './db/pglite.js';
import { openPgliteDatabase } from './db/pglite.js';
import { EncoderService } from './encoder/encoder-service.js';
import { toHbiError } from './errors.js';
import type { ModelVersionRecord } from './ingest/model-version.js';
import { registerModelVersion } from './ingest/model-version.js';
import { createMemoryEventBus } from './events/memory.js';
import type { EventBus } from './events/port.js';
import type { Logger } from './logger.js';
import type { ModelPackage } from './model/package-loader.js';
import { loadModelPackage } from './model/package-loader.js';
import { TextTokenizer } from './model/tokenizer.js';
import { createFsObjectStore } from './storage/fs.js';
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
  encoder: EncoderService;
  db: PgliteDatabase;
  storage: ObjectStore;
  events: EventBus;
  /** Stops everything in reverse order of start; safe to call twice. */
  stop(): Promise<void>;
}

/** Boots the embedded services; cluster adapters are chosen here from config once they exist. */
export async function bootKernel(config: Config, logger: Logger): Promise<Kernel> {
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
  if (config.databaseUrl || config.objectStoreUrl || config.kafkaBrokers) {
    logger.warn('cluster adapters are not built yet; using the embedded ones', {
      databaseUrl: Boolean(config.databaseUrl),
      objectStoreUrl: Boolean(config.objectStoreUrl),
      kafkaBrokers: Boolean(config.kafkaBrokers),
    });
  }
  const ffmpeg = await step('ffmpeg', () =>
    locateFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath }),
  );
  logger.info('ffmpeg found', { ...ffmpeg });
  const modelPackage = await step('model package', () => loadModelPackage(config.modelDir));
  const tokenizer = await step('tokenizer', () =>
    TextTokenizer.load(modelPackage.file(modelPackage.manifest.tokenizer.file), modelPackage.manifest),
  );
  const encoder = new EncoderService({
    modelPackage,
    tokenizer,
    config,
    logger: logger.child({ component: 'encoder' }),
  });
  stops.push(() => encoder.close());
  await step('encoder', () => encoder.start());
  const db = await step('database', () => openPgliteDatabase(path.join(config.dataDir, 'db')));
  stops.push(() => db.close());
  await step('migrations', () => migrate(db, MIGRATIONS_DIR, logger.child({ component: 'migrate' })));
  const modelVersion = await step('model version', () => registerModelVersion(db, modelPackage));
  const storage = await step('object store', () => createFsObjectStore(path.join(config.dataDir, 'objects')));
  stops.push(() => storage.close());
  const events = createMemoryEventBus({ logger: logger.child({ component: 'events' }) });
  stops.push(() => events.close());

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
