/**
 * The S3 object store against MinIO from infra/: the shared ObjectStore contract, multipart uploads,
 * presigned URLs, namespaces inside a bucket, start-up failures, and (MinIO only) bucket events
 * arriving on Kafka. Every test works in a bucket of its own, emptied and removed afterwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { createKafkaEventBus } from '../../../src/core/events/kafka.js';
import type { BucketEvent } from '../../../src/core/storage/s3-bucket-events.js';
import { enableBucketEvents, parseBucketEvents } from '../../../src/core/storage/s3-bucket-events.js';
import type { S3ObjectStore, S3ObjectStoreOptions } from '../../../src/core/storage/s3.js';
import { createS3ObjectStore } from '../../../src/core/storage/s3.js';
import { eventually } from '../../helpers/fixtures.js';
import { objectStoreContract } from '../../unit/storage/object-store-contract.js';
import {
  deleteKafkaLeftovers,
  infraSettings,
  removeBucket as removeTestBucket,
  s3Client,
  uniqueName,
} from '../infra.js';

const settings = infraSettings();
const MiB = 1024 ** 2;

function open(options: Partial<S3ObjectStoreOptions> = {}): Promise<S3ObjectStore> {
  return createS3ObjectStore({ ...settings.s3, bucket: uniqueName('hbi-it-'), ...options });
}

const removeBucket = (bucket: string) => removeTestBucket(settings, bucket);
const rawClient = () => s3Client(settings);

/** Every object name in the bucket, hidden ones included. */
async function rawNames(bucket: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of rawClient().listObjectsV2(bucket, '', true))
    names.push((item as { name: string }).name);
  return names.sort();
}

async function incompleteUploads(bucket: string): Promise<number> {
  let count = 0;
  for await (const _ of rawClient().listIncompleteUploads(bucket, '', true)) count++;
  return count;
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

objectStoreContract('s3 (MinIO)', async () => {
  const store = await open();
  return { store, cleanup: () => removeBucket(store.bucket) };
});

describe('S3 object store specifics', () => {
  const withStore =
    (test: (store: S3ObjectStore) => Promise<void>, options: Partial<S3ObjectStoreOptions> = {}) =>
    async () => {
      const store = await open(options);
      try {
        await test(store);
      } finally {
        await store.close();
        await removeBucket(store.bucket);
      }
    };

  it(
    'uploads a body larger than one part as a multipart upload, with its hash, leaving nothing behind',
    withStore(
      async (store) => {
        const data = randomBytes(12 * MiB + 123);
        const chunks = Array.from({ length: Math.ceil(data.length / 65_536) }, (_, i) =>
          data.subarray(i * 65_536, (i + 1) * 65_536),
        );
        const info = await store.put('videos/big.mp4', Readable.from(chunks), { contentType: 'video/mp4' });
        const sha256 = createHash('sha256').update(data).digest('hex');
        expect(info).toMatchObject({
          key: 'videos/big.mp4',
          size: data.length,
          sha256,
          contentType: 'video/mp4',
        });
        expect(await sha256Of(await store.get('videos/big.mp4'))).toBe(sha256);
        expect(await rawNames(store.bucket)).toEqual(['videos/big.mp4']);
        expect(await incompleteUploads(store.bucket)).toBe(0);
      },
      { partSizeBytes: 5 * MiB },
    ),
  );

  it(
    'refuses a multipart body over maxBytes and keeps no trace of it',
    withStore(
      async (store) => {
        const chunks = Array.from({ length: 12 }, () => randomBytes(MiB));
        await expect(
          store.put('too/big', Readable.from(chunks), { maxBytes: 8 * MiB }),
        ).rejects.toMatchObject({
          code: 'LIMIT_EXCEEDED',
        });
        expect(await store.head('too/big')).toBeNull();
        expect(await rawNames(store.bucket)).toEqual([]);
        expect(await incompleteUploads(store.bucket)).toBe(0);
      },
      { partSizeBytes: 5 * MiB },
    ),
  );

  it(
    'gives clients presigned PUT and GET URLs, and hashes objects that arrive that way',
    withStore(async (store) => {
      const body = Buffer.from('uploaded by a client');
      const put = await store.presignedUrl('PUT', 'uploads/u1.mp4', { expiresInSeconds: 60 });
      expect((await fetch(put, { method: 'PUT', body })).status).toBe(200);
      expect(await store.head('uploads/u1.mp4')).toMatchObject({
        size: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      });
      const get = await store.presignedUrl('GET', 'uploads/u1.mp4', { expiresInSeconds: 60 });
      expect(Buffer.from(await (await fetch(get)).arrayBuffer())).toEqual(body);
      await expect(store.presignedUrl('GET', '../x', { expiresInSeconds: 60 })).rejects.toMatchObject({
        code: 'STORAGE_KEY_INVALID',
      });
      await expect(store.presignedUrl('GET', 'x', { expiresInSeconds: 8 * 24 * 3600 })).rejects.toMatchObject(
        {
          code: 'BAD_USER_INPUT',
        },
      );
    }),
  );

  it('keeps stores with different prefixes in one bucket apart', async () => {
    const bucket = uniqueName('hbi-it-');
    const [a, b] = await Promise.all([open({ bucket, prefix: 'a/' }), open({ bucket, prefix: 'b/' })]);
    try {
      await a.put('videos/x', Buffer.from('a'));
      await b.put('videos/x', Buffer.from('b'));
      expect((await collect(a.list(''))).map((info) => info.key)).toEqual(['videos/x']);
      expect((await a.head('videos/x'))?.size).toBe(1);
      expect(await rawNames(bucket)).toEqual(['a/videos/x', 'b/videos/x']);
      await expect(open({ bucket, prefix: 'no-slash' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await removeBucket(bucket);
    }
  });

  it('fails at start with a typed error: missing bucket, wrong secret, nothing listening', async () => {
    await expect(open({ createBucket: false })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(open({ secretKey: 'wrong-secret-key' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(open({ url: 'http://127.0.0.1:1' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it(
    'publishes bucket events to Kafka when asked to (MinIO only)',
    withStore(async (store) => {
      await enableBucketEvents(store, settings.minioNotifyArn, { prefix: 'videos/' });
      const groupPrefix = `${uniqueName('it-')}.`;
      const bus = await createKafkaEventBus({
        brokers: settings.kafkaBrokers,
        groupPrefix,
        heartbeatIntervalMs: 500,
      });
      const events: BucketEvent[] = [];
      try {
        await bus.subscribe({
          topics: [settings.objectEventsTopic],
          group: 'bucket-events',
          fromBeginning: false,
          handler: async (message) => {
            if (message.key.startsWith(`${store.bucket}/`)) events.push(...parseBucketEvents(message.value));
            return Promise.resolve();
          },
        });
        await store.put('videos/cam1/seg 1.mp4', Buffer.from('segment'));
        await store.put('other/ignored', Buffer.from('x'));
        await store.delete('videos/cam1/seg 1.mp4');
        await eventually(() => events.length === 2, 60_000);
        expect(events).toEqual([
          expect.objectContaining({
            kind: 'created',
            bucket: store.bucket,
            objectName: 'videos/cam1/seg 1.mp4',
            size: 7,
          }),
          expect.objectContaining({
            kind: 'removed',
            bucket: store.bucket,
            objectName: 'videos/cam1/seg 1.mp4',
          }),
        ]);
      } finally {
        await bus.close();
        await deleteKafkaLeftovers(settings, groupPrefix);
      }
    }),
  );
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
