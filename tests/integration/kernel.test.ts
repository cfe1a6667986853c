/**
 * Adapter selection end to end: with the infra variables set, the kernel boots on PostgreSQL, S3 and
 * Kafka instead of the embedded adapters, migrates the database and serves each port.
 */
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/core/config.js';
import { bootKernel } from '../../src/core/kernel.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import { TINY_PACKAGE, eventually, tempDir } from '../helpers/fixtures.js';
import {
  RUN_ID,
  createTestDatabase,
  deleteKafkaLeftovers,
  infraSettings,
  removeBucket,
  uniqueName,
} from './infra.js';
import { systemView } from '../helpers/system-scope.js';

const settings = infraSettings();

describe('bootKernel with the real services configured', () => {
  it('picks PostgreSQL, S3 and Kafka from DATABASE_URL, HBI_OBJECT_STORE_URL and KAFKA_BROKERS', async () => {
    const temp = await tempDir('hbi-kernel-');
    const database = await createTestDatabase(settings.databaseUrl);
    const bucket = uniqueName('hbi-it-');
    const logger = createMemoryLogger();
    try {
      const config = loadConfig({
        HBI_MODEL_DIR: TINY_PACKAGE,
        HBI_DATA_DIR: temp.dir,
        DATABASE_URL: database.url,
        HBI_OBJECT_STORE_URL: settings.s3.url,
        HBI_OBJECT_STORE_ACCESS_KEY: settings.s3.accessKey,
        HBI_OBJECT_STORE_SECRET_KEY: settings.s3.secretKey,
        HBI_OBJECT_STORE_BUCKET: bucket,
        KAFKA_BROKERS: settings.kafkaBrokers.join(','),
        HBI_KAFKA_PARTITIONS: '2',
      });
      const kernel = await bootKernel(config, logger);
      try {
        expect([kernel.db.kind, kernel.storage.kind, kernel.events.kind]).toEqual([
          'postgres',
          's3',
          'kafka',
        ]);
        const { rows } = await systemView(kernel.db).query<{ n: number }>(
          'SELECT count(*)::int AS n FROM "_prisma_migrations"',
        );
        expect(rows[0]!.n).toBeGreaterThan(0);
        expect(await kernel.storage.put('probe/object', Buffer.from('x'))).toMatchObject({ size: 1 });
        await kernel.storage.delete('probe/object');
        const topic = uniqueName('it-kernel-');
        const seen: unknown[] = [];
        const subscription = await kernel.events.subscribe({
          topics: [topic],
          group: uniqueName('it-kernel-'),
          handler: async (message) => void seen.push(message.value),
        });
        await kernel.events.publish(topic, [{ key: 'k', value: { ok: true } }]);
        await eventually(() => seen.length === 1, 60_000);
        await subscription.stop();
        expect(logger.records.find((record) => record.message === 'adapters')?.fields).toMatchObject({
          database: 'postgres',
          objectStore: 's3',
          events: 'kafka',
        });
      } finally {
        await kernel.stop();
      }
    } finally {
      await database.drop();
      await removeBucket(settings, bucket);
      await deleteKafkaLeftovers(settings, `it-kernel-${RUN_ID}`);
      await temp.cleanup();
    }
  });
});
