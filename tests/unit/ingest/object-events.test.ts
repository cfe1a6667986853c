/**
 * Bucket notifications → ingest jobs: only created objects of this bucket under the prefix, never the
 * platform's own content-addressed copies, one request per object version.
 */
import 'reflect-metadata';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import { handleObjectEvent } from '../../../src/core/ingest/object-events.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { requireClusterAdapters } from '../../../src/core/platform.js';

const SHA = 'a'.repeat(64);

function minioEvent(eventName: string, bucket: string, key: string, size = 10, eTag = 'etag-1') {
  return {
    EventName: eventName,
    Key: `${bucket}/${key}`,
    Records: [
      { eventName, s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key), size, eTag } } },
    ],
  };
}

describe('handleObjectEvent', () => {
  const asked: { key: string; version: string }[] = [];
  const options = {
    bucket: 'videos-bucket',
    prefix: 'videos/',
    logger: createMemoryLogger(),
    requests: {
      ingestStoredObject: async (input: { key: string; version: string }) => {
        asked.push(input);
        return { id: `job-${asked.length}` } as never;
      },
    },
  };

  it('queues an object created under the prefix, with its ETag as the version', async () => {
    asked.length = 0;
    const queued = await handleObjectEvent(options, {
      value: minioEvent('s3:ObjectCreated:Put', 'videos-bucket', 'videos/cam 1/a.mp4'),
    });
    expect(queued).toBe(1);
    expect(asked).toEqual([{ key: 'videos/cam 1/a.mp4', version: 'etag-1' }]);
  });

  it('ignores removals, other buckets, other prefixes, folders, empty objects and its own copies', async () => {
    asked.length = 0;
    const ignored = [
      minioEvent('s3:ObjectRemoved:Delete', 'videos-bucket', 'videos/a.mp4'),
      minioEvent('s3:ObjectCreated:Put', 'other-bucket', 'videos/a.mp4'),
      minioEvent('s3:ObjectCreated:Put', 'videos-bucket', 'uploads/a.mp4'),
      minioEvent('s3:ObjectCreated:Put', 'videos-bucket', 'videos/folder/'),
      minioEvent('s3:ObjectCreated:Put', 'videos-bucket', 'videos/empty.mp4', 0),
      minioEvent('s3:ObjectCreated:Put', 'videos-bucket', `videos/${SHA}.mp4`),
      { not: 'an S3 event' },
    ];
    for (const value of ignored) expect(await handleObjectEvent(options, { value })).toBe(0);
    expect(asked).toEqual([]);
  });
});

describe('requireClusterAdapters', () => {
  it('refuses a gateway or worker on the embedded adapters, naming what is missing', () => {
    expect(() => requireClusterAdapters(loadConfig({}), 'worker')).toThrow(
      /DATABASE_URL, KAFKA_BROKERS, HBI_OBJECT_STORE_URL/,
    );
    const cluster = loadConfig({
      DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/db',
      KAFKA_BROKERS: '127.0.0.1:9092',
      HBI_OBJECT_STORE_URL: 'http://127.0.0.1:9000',
    });
    expect(() => requireClusterAdapters(cluster, 'gateway')).not.toThrow();
  });
});
