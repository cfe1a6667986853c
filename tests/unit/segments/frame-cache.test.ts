/** The frame-tensor cache: bounded by bytes, least recently used out, and search reads through it. */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { FrameCache } from '../../../src/core/segments/frame-cache.js';
import type { BulkSegment } from '../../../src/core/segments/vector-store.js';
import { VectorStore } from '../../../src/core/segments/vector-store.js';
import { asSystem, systemView } from '../../helpers/system-scope.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const tensors = (value: number, floats = 4) => ({
  frameTokens: new Float32Array(floats).fill(value),
  frameWeights: new Float32Array(1).fill(value),
  frameMask: new Float32Array(1).fill(1),
});

describe('FrameCache', () => {
  it('keeps at most its byte budget, dropping the least recently used first', () => {
    const cache = new FrameCache(3 * 24); // three entries of 4 + 1 + 1 floats
    for (const key of ['a', 'b', 'c']) cache.set(key, tensors(1));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', tensors(2));
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((key) => cache.get(key) !== undefined)).toEqual([true, true, true]);
    expect(cache.stats).toMatchObject({ bytes: 72, entries: 3 });
    cache.delete('a');
    expect(cache.stats.entries).toBe(2);
    // An entry larger than the whole budget is not kept; a disabled cache keeps nothing.
    cache.set('huge', tensors(1, 100));
    expect(cache.get('huge')).toBeUndefined();
    const off = new FrameCache(0);
    off.set('a', tensors(1));
    expect(off.get('a')).toBeUndefined();
  });
});

describe('search through the frame cache', () => {
  let db: PgliteDatabase;
  const tenant = randomUUID();
  const model = { id: randomUUID(), modelId: 'm@1', embedDim: 4 };
  const rows: BulkSegment[] = [];

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS);
    const sql = systemView(db);
    const video = randomUUID();
    await sql.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenant, 't']);
    await sql.query(
      `INSERT INTO model_versions (id, name, version, architecture, embed_dim, manifest_sha256, manifest) VALUES ($1, 'm', '1', 'tiny', 4, 'x', '{}')`,
      [model.id],
    );
    await sql.query(
      `INSERT INTO videos (id, tenant_id, object_key, content_sha256, size_bytes, status, updated_at) VALUES ($1, $2, 'k', 'h', 1, 'INDEXED', now())`,
      [video, tenant],
    );
    for (let i = 0; i < 4; i++) {
      rows.push({
        segmentId: randomUUID(),
        videoId: video,
        index: i,
        startMs: i * 1000,
        endMs: (i + 1) * 1000,
        vectors: {
          embedding: Float32Array.from({ length: 4 }, (_, d) => (d === i ? 1 : 0)),
          ...tensors(i + 0.5, 8),
        },
      });
    }
  });
  afterAll(() => db?.close());

  it('answers the same tensors with and without the cache, reading them from the database once', async () => {
    const cachedStore = new VectorStore(db, model, { frameCacheBytes: 1024 ** 2 });
    const plainStore = new VectorStore(db, model, { frameCacheBytes: 0 });
    await systemView(db).transaction((tx) => cachedStore.insertBulk(rows, tx));
    const query = { embedding: Float32Array.from([0, 0, 1, 0]), k: 4 };
    const plain = await plainStore.forTenant(tenant).nearest(query);
    const first = await cachedStore.forTenant(tenant).nearest(query);
    expect(cachedStore.frameCacheStats).toMatchObject({ entries: 4, hits: 0, misses: 4 });
    const second = await cachedStore.forTenant(tenant).nearest(query);
    expect(cachedStore.frameCacheStats).toMatchObject({ entries: 4, hits: 4, misses: 4 });
    for (const result of [first, second]) {
      expect(result.map((hit) => hit.segmentId)).toEqual(plain.map((hit) => hit.segmentId));
      expect(result.map((hit) => Array.from(hit.frameTokens))).toEqual(
        plain.map((hit) => Array.from(hit.frameTokens)),
      );
      expect(result.map((hit) => Array.from(hit.frameWeights))).toEqual(
        plain.map((hit) => Array.from(hit.frameWeights)),
      );
    }
    expect(plain[0]!.segmentId).toBe(rows[2]!.segmentId);
    // Another tenant's search finds nothing, cache or not.
    expect(await cachedStore.forTenant(randomUUID()).nearest(query)).toEqual([]);
    // A segment this process writes again is read afresh.
    await asSystem(() =>
      cachedStore.writeSegment({
        videoId: rows[2]!.videoId,
        index: 2,
        startMs: 2000,
        endMs: 3000,
        vectors: { embedding: Float32Array.from([0, 0, 1, 0]), ...tensors(9, 8) },
      }),
    );
    const after = await cachedStore.forTenant(tenant).nearest(query);
    expect(Array.from(after[0]!.frameTokens)).toEqual(Array(8).fill(9));
  });
});
