/**
 * Picks each port's adapter from config, as DESIGN.md's runtime modes say: an unset URL means the
 * embedded adapter (PGlite in `<data dir>/db`, the folder `<data dir>/objects`, the in-process bus);
 * `DATABASE_URL`, `HBI_OBJECT_STORE_URL` and `KAFKA_BROKERS` switch to PostgreSQL, S3 and Kafka,
 * each on its own. The kernel and the commands that need only one port (`hbi migrate`) share these.
 */
import path from 'node:path';

import type { Config } from './config.js';
import { migrate } from './db/migrate.js';
import { inOwnerScope } from './db/scope.js';
import { openPgliteDatabase } from './db/pglite.js';
import type { Database } from './db/port.js';
import { isPostgresDatabase, openPostgresDatabase } from './db/postgres.js';
import type { RelationalDatabase } from './db/relational.js';
import { createKafkaEventBus } from './events/kafka.js';
import { createMemoryEventBus } from './events/memory.js';
import type { EventBus } from './events/port.js';
import type { Logger } from './logger.js';
import { createFsObjectStore } from './storage/fs.js';
import type { ObjectStore } from './storage/port.js';
import { createS3ObjectStore } from './storage/s3.js';

/** PostgreSQL when `DATABASE_URL` is set, else PGlite in `<data dir>/db`; either with Prisma Client as `prisma`. */
export function openDatabase(config: Config, logger: Logger): Promise<RelationalDatabase> {
  if (!config.databaseUrl) return openPgliteDatabase(path.join(config.dataDir, 'db'));
  return openPostgresDatabase({
    url: config.databaseUrl,
    poolSize: config.databasePoolSize,
    logger: logger.child({ component: 'postgres' }),
  });
}

/**
 * Applies pending migrations; on PostgreSQL over one dedicated connection, since the advisory lock
 * that keeps concurrent starters apart belongs to a session, not to a pool.
 */
export function migrateDatabase(db: Database, migrationsDir: string, logger?: Logger): Promise<string[]> {
  return inOwnerScope('migrations', () =>
    isPostgresDatabase(db)
      ? db.withSession((session) => migrate(session, migrationsDir, logger))
      : migrate(db, migrationsDir, logger),
  );
}

/** The S3 bucket when `HBI_OBJECT_STORE_URL` is set (created when missing), else `<data dir>/objects`. */
export function openObjectStore(config: Config, logger: Logger): Promise<ObjectStore> {
  if (!config.objectStoreUrl) return createFsObjectStore(path.join(config.dataDir, 'objects'));
  return createS3ObjectStore({
    url: config.objectStoreUrl,
    bucket: config.objectStoreBucket,
    accessKey: config.objectStoreAccessKey,
    secretKey: config.objectStoreSecretKey,
    region: config.objectStoreRegion,
    partSizeBytes: config.objectStorePartSizeBytes,
    logger: logger.child({ component: 'object-store' }),
  });
}

/** Kafka when `KAFKA_BROKERS` is set, else the in-process bus. */
export async function openEventBus(config: Config, logger: Logger): Promise<EventBus> {
  const child = logger.child({ component: 'events' });
  if (!config.kafkaBrokers || config.kafkaBrokers.length === 0)
    return createMemoryEventBus({ logger: child });
  return createKafkaEventBus({
    brokers: config.kafkaBrokers,
    clientId: config.kafkaClientId,
    partitions: config.kafkaPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    topicPrefix: config.kafkaTopicPrefix,
    groupPrefix: config.kafkaTopicPrefix,
    sessionTimeoutMs: config.kafkaSessionTimeoutMs,
    externalTopics: config.objectEventsTopic ? [config.objectEventsTopic] : [],
    logger: child,
  });
}
