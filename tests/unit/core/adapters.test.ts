import { describe, expect, it } from 'vitest';

import { migrateDatabase, openDatabase, openEventBus, openObjectStore } from '../../../src/core/adapters.js';
import { loadConfig } from '../../../src/core/config.js';
import { MIGRATIONS_DIR } from '../../../src/core/kernel.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { tempDir } from '../../helpers/fixtures.js';

describe('adapter selection from config', () => {
  it('uses the embedded adapters when no URL is set, all under the data folder', async () => {
    const temp = await tempDir('hbi-adapters-');
    const logger = createMemoryLogger();
    try {
      const config = loadConfig({ HBI_DATA_DIR: temp.dir });
      const db = await openDatabase(config, logger);
      const storage = await openObjectStore(config, logger);
      const events = await openEventBus(config, logger);
      try {
        expect([db.kind, storage.kind, events.kind]).toEqual(['pglite', 'fs', 'memory']);
        expect((await migrateDatabase(db, MIGRATIONS_DIR)).length).toBeGreaterThan(0);
        expect(await storage.localPath('none')).toBeNull();
      } finally {
        await Promise.all([db.close(), storage.close(), events.close()]);
      }
    } finally {
      await temp.cleanup();
    }
  });

  it('reads the cluster settings with their defaults', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/hbi',
      HBI_OBJECT_STORE_URL: 'http://127.0.0.1:9000',
      KAFKA_BROKERS: 'a:9092, b:9092',
    });
    expect(config).toMatchObject({
      databasePoolSize: 10,
      objectStoreBucket: 'hbi-videos',
      objectStoreRegion: 'us-east-1',
      objectStorePartSizeBytes: 16 * 1024 ** 2,
      kafkaBrokers: ['a:9092', 'b:9092'],
      kafkaPartitions: 6,
      kafkaReplicationFactor: 1,
    });
    expect(() => loadConfig({ HBI_OBJECT_STORE_PART_SIZE_BYTES: '1024' })).toThrow(
      /HBI_OBJECT_STORE_PART_SIZE_BYTES/,
    );
  });

  it('fails with UNAVAILABLE, naming the service, when a configured one does not answer', async () => {
    const logger = createMemoryLogger();
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u:secret@127.0.0.1:1/hbi',
      HBI_OBJECT_STORE_URL: 'http://127.0.0.1:1',
    });
    const database = await openDatabase(config, logger).catch((error: Error) => error);
    expect(database).toMatchObject({ code: 'UNAVAILABLE' });
    expect((database as Error).message).toContain('127.0.0.1:1/hbi');
    expect((database as Error).message).not.toContain('secret');
    await expect(openObjectStore(config, logger)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
