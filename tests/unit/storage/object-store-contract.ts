/**
 * The contract every ObjectStore adapter passes (fs in the unit tier; S3 on MinIO in the integration
 * tier). Call it from a test file with a factory that returns a fresh, empty store.
 */
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { HbiError } from '../../../src/core/errors.js';
import type { ObjectStore } from '../../../src/core/storage/port.js';
import { tenantKeyPrefix, tenantObjectKey } from '../../../src/core/storage/port.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export function objectStoreContract(
  name: string,
  open: () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>,
) {
  describe(`ObjectStore contract: ${name}`, () => {
    const withStore = (test: (store: ObjectStore) => Promise<void>) => async () => {
      const { store, cleanup } = await open();
      try {
        await test(store);
      } finally {
        await store.close();
        await cleanup();
      }
    };

    it(
      'stores bytes and streams them back with size, hash and content type',
      withStore(async (store) => {
        const info = await store.put('videos/v1/original.mp4', Buffer.from('fake video'), {
          contentType: 'video/mp4',
        });
        expect(info).toMatchObject({
          key: 'videos/v1/original.mp4',
          size: 10,
          sha256: sha256('fake video'),
          contentType: 'video/mp4',
        });
        expect((await readAll(await store.get('videos/v1/original.mp4'))).toString()).toBe('fake video');
        expect(await store.head('videos/v1/original.mp4')).toMatchObject({
          size: 10,
          sha256: sha256('fake video'),
        });
      }),
    );

    it(
      'accepts streams of unknown length and overwrites atomically',
      withStore(async (store) => {
        const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
        const info = await store.put('big/object', Readable.from(chunks));
        expect(info.size).toBe(500_000);
        await store.put('big/object', Buffer.from('small now'));
        expect((await readAll(await store.get('big/object'))).toString()).toBe('small now');
      }),
    );

    it(
      'refuses a body over maxBytes and stores nothing',
      withStore(async (store) => {
        const error = (await store
          .put('too/big', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { maxBytes: 1000 })
          .catch((e: unknown) => e)) as HbiError;
        expect(error.code).toBe('LIMIT_EXCEEDED');
        expect(await store.head('too/big')).toBeNull();
        expect(await collect(store.list(''))).toEqual([]);
      }),
    );

    it(
      'answers NOT_FOUND / null / false for absent keys; delete is idempotent',
      withStore(async (store) => {
        await expect(store.get('missing/key')).rejects.toMatchObject({ code: 'NOT_FOUND' });
        expect(await store.head('missing/key')).toBeNull();
        await store.put('a/b', Buffer.from('x'));
        expect(await store.delete('a/b')).toBe(true);
        expect(await store.delete('a/b')).toBe(false);
        expect(await store.head('a/b')).toBeNull();
      }),
    );

    it(
      'lists by prefix in key order',
      withStore(async (store) => {
        for (const key of ['videos/b/x', 'videos/a/x', 'other/z', 'videos/a/y'])
          await store.put(key, Buffer.from(key));
        expect((await collect(store.list('videos/'))).map((info) => info.key)).toEqual([
          'videos/a/x',
          'videos/a/y',
          'videos/b/x',
        ]);
        expect(await collect(store.list(''))).toHaveLength(4);
      }),
    );

    it(
      'keeps tenants apart under their own prefixes',
      withStore(async (store) => {
        await store.put(tenantObjectKey('t1', 'videos/a.mp4'), Buffer.from('one'));
        await store.put(tenantObjectKey('t2', 'videos/a.mp4'), Buffer.from('two'));
        expect((await collect(store.list(tenantKeyPrefix('t1')))).map((info) => info.key)).toEqual([
          'tenants/t1/videos/a.mp4',
        ]);
        expect(() => tenantObjectKey('t1', '../t2/videos/a.mp4')).toThrow(
          expect.objectContaining({ code: 'STORAGE_KEY_INVALID' }),
        );
        expect(() => tenantKeyPrefix('t1/../t2')).toThrow(
          expect.objectContaining({ code: 'STORAGE_KEY_INVALID' }),
        );
      }),
    );

    it.each([
      '../escape',
      'a/../../etc/passwd',
      '/absolute',
      'a//b',
      'trailing/',
      '.hidden',
      'a/./b',
      'back\\slash',
      'nul\u0000',
      '',
      'x'.repeat(1025),
    ])('rejects the key %j with STORAGE_KEY_INVALID on every operation', async (key) => {
      const { store, cleanup } = await open();
      try {
        const operations: (() => Promise<unknown>)[] = [
          () => store.put(key, Buffer.from('x')),
          () => store.get(key),
          () => store.head(key),
          () => store.delete(key),
        ];
        for (const operation of operations) {
          await expect(Promise.resolve().then(operation)).rejects.toMatchObject({
            code: 'STORAGE_KEY_INVALID',
          });
        }
      } finally {
        await store.close();
        await cleanup();
      }
    });
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
