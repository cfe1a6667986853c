/**
 * The embedded database has no autovacuum: the vector store analyses the segment tables itself once
 * enough rows were written, so search uses its HNSW index with no manual ANALYZE.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import type { BulkSegment } from '../../../src/core/segments/vector-store.js';
import { VectorStore, vectorIndexName } from '../../../src/core/segments/vector-store.js';
import { systemView } from '../../helpers/system-scope.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const DIM = 8;
const SEGMENTS = 3_000;

/** A deterministic unit vector per segment, spread over the sphere. */
function unit(seed: number): Float32Array {
  const values = Float32Array.from(
    { length: DIM },
    (_, d) => (Math.sin(seed * 12.9898 + d * 78.233) * 43758.5453) % 1,
  );
  const norm = Math.hypot(...values) || 1;
  return values.map((value) => value / norm);
}

describe('segment table statistics on the embedded database', () => {
  let db: PgliteDatabase;
  let store: VectorStore;
  const tenant = randomUUID();
  const model = { id: randomUUID(), modelId: 'm@1', embedDim: DIM };

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS);
    const sql = systemView(db);
    await sql.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenant, 't']);
    await sql.query(
      `INSERT INTO model_versions (id, name, version, architecture, embed_dim, manifest_sha256, manifest) VALUES ($1, 'm', '1', 'tiny', $2, 'x', '{}')`,
      [model.id, DIM],
    );
    store = new VectorStore(db, model);
    await store.ensureIndex();
    await store.statisticsSettled();
  });
  afterAll(async () => {
    await store?.close();
    await db?.close();
  });

  const plan = () => store.explainNearest(tenant, { embedding: unit(7), k: 10 });

  it('scans while the planner has no statistics, and uses the HNSW index after a bulk load with no manual step', async () => {
    const sql = systemView(db);
    const videos: string[] = [];
    for (let v = 0; v < SEGMENTS / 10; v++) videos.push(randomUUID());
    await sql.transaction(async (tx) => {
      for (let i = 0; i < videos.length; i += 100) {
        const chunk = videos.slice(i, i + 100);
        const values = chunk.map(
          (_, j) =>
            `($${j * 2 + 1}::uuid, $${j * 2 + 2}::uuid, 'k', md5(random()::text), 1, 'INDEXED', now())`,
        );
        await tx.query(
          `INSERT INTO videos (id, tenant_id, object_key, content_sha256, size_bytes, status, updated_at) VALUES ${values.join(', ')}`,
          chunk.flatMap((id) => [id, tenant]),
        );
      }
    });
    const rows: BulkSegment[] = Array.from({ length: SEGMENTS }, (_, i) => ({
      segmentId: randomUUID(),
      videoId: videos[Math.floor(i / 10)]!,
      index: i % 10,
      startMs: 0,
      endMs: 1000,
      vectors: {
        embedding: unit(i),
        frameTokens: new Float32Array(DIM),
        frameWeights: new Float32Array(1),
        frameMask: new Float32Array(1),
      },
    }));
    // Before anything was analysed the planner sees empty tables.
    const before = await plan();
    expect(before).not.toContain(vectorIndexName(model.id));
    for (let i = 0; i < rows.length; i += 500) {
      await sql.transaction((tx) => store.insertBulk(rows.slice(i, i + 500), tx));
    }
    await store.statisticsSettled();
    const { rows: analysed } = await sql.query<{ n: number }>(
      `SELECT reltuples::int AS "n" FROM pg_class WHERE relname = 'segment_embeddings'`,
    );
    expect(analysed[0]!.n).toBe(SEGMENTS);
    expect(await plan()).toContain(vectorIndexName(model.id));
    // And search answers through it.
    const found = await store.forTenant(tenant).nearest({ embedding: unit(42), k: 5 });
    expect(found).toHaveLength(5);
    expect(found[0]!.similarity).toBeGreaterThan(0.99);
  });
});
