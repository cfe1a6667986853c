import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import { inOwnerScope } from '../../../src/core/db/scope.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import {
  ensureVectorIndex,
  vectorExpression,
  vectorIndexName,
} from '../../../src/core/segments/vector-store.js';
import { systemView } from '../../helpers/system-scope.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const literal = (values: number[]) => `[${values.join(',')}]`;

describe('per-model-version HNSW indexes', () => {
  let db: PgliteDatabase;
  const tiny = randomUUID();
  const wide = randomUUID();

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS);
    const tenant = randomUUID();
    const video = randomUUID();
    await systemView(db).query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenant, 't']);
    await systemView(db).query(
      `INSERT INTO videos (id, tenant_id, object_key, content_sha256, size_bytes, updated_at) VALUES ($1, $2, 'k', 'h', 1, now())`,
      [video, tenant],
    );
    for (const [id, dim] of [
      [tiny, 4],
      [wide, 6],
    ] as const) {
      await systemView(db).query(
        `INSERT INTO model_versions (id, name, version, architecture, embed_dim, manifest_sha256, manifest) VALUES ($1, $2, '1', 'tiny', $3, 'x', '{}')`,
        [id, `m${dim}`, dim],
      );
    }
    // Four segments, each embedded by both versions (different dimensions in one column).
    for (let i = 0; i < 4; i++) {
      const segment = randomUUID();
      await systemView(db).query(
        'INSERT INTO segments (id, video_id, index, start_ms, end_ms) VALUES ($1, $2, $3, 0, 1)',
        [segment, video, i],
      );
      for (const [version, dim] of [
        [tiny, 4],
        [wide, 6],
      ] as const) {
        const embedding = Array.from({ length: dim }, (_, d) => (d === i ? 1 : 0));
        await systemView(db).query(
          `INSERT INTO segment_embeddings (segment_id, model_version_id, embedding, frame_tokens, frame_weights, frame_mask)
           VALUES ($1, $2, $3::vector, '\\x00', '\\x00', '\\x00')`,
          [segment, version, literal(embedding)],
        );
      }
    }
  });
  afterAll(() => db.close());

  it('creates one index per model version, idempotently', async () => {
    await ensureVectorIndex(db, tiny, 4);
    await ensureVectorIndex(db, tiny, 4);
    await ensureVectorIndex(db, wide, 6);
    const { rows } = await systemView(db).query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE tablename = 'segment_embeddings' AND indexname LIKE '%hnsw%' ORDER BY indexname",
    );
    expect(rows.map((row) => row.indexname).sort()).toEqual(
      [vectorIndexName(tiny), vectorIndexName(wide)].sort(),
    );
  });

  it('builds with more maintenance memory for that statement alone when asked', async () => {
    const setting = async () =>
      (await systemView(db).query<{ maintenance_work_mem: string }>('SHOW maintenance_work_mem')).rows[0]!
        .maintenance_work_mem;
    const before = await setting();
    await inOwnerScope('test', () => db.exec(`DROP INDEX IF EXISTS "${vectorIndexName(wide)}"`));
    await ensureVectorIndex(db, wide, 6, { buildMemoryMb: 300 });
    const { rows } = await systemView(db).query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE indexname = '${vectorIndexName(wide)}'`,
    );
    expect(rows).toHaveLength(1);
    expect(before).not.toBe('300MB');
    expect(await setting()).toBe(before); // SET LOCAL: gone with the build's transaction
  });

  it('serves nearest-neighbour queries through the index for that version', async () => {
    await ensureVectorIndex(db, tiny, 4);
    const query = `SELECT s.index FROM segment_embeddings e JOIN segments s ON s.id = e.segment_id
      WHERE e.model_version_id = '${tiny}' ORDER BY ${vectorExpression(4)} <=> $1::vector(4) LIMIT 1`;
    await systemView(db).exec('SET enable_seqscan = off');
    const plan = await systemView(db).query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`, [
      literal([0, 0, 1, 0]),
    ]);
    expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain(vectorIndexName(tiny));
    const { rows } = await systemView(db).query<{ index: number }>(query, [literal([0, 0, 1, 0.1])]);
    expect(rows).toEqual([{ index: 2 }]);
    await systemView(db).exec('RESET enable_seqscan');
  });

  it('refuses ids and dimensions that could not be safely spliced into DDL', () => {
    expect(() => vectorIndexName('x"; DROP TABLE videos; --')).toThrow(/Not a model version id/);
    expect(() => vectorExpression(0)).toThrow(/Unsupported embedding dimension/);
  });
});
