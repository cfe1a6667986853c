/**
 * The PostgreSQL adapter against the real server from infra/: the shared Database contract (and Prisma
 * Client beside it), the same migrations as PGlite (once, even when two processes start together), the
 * schema drift check, and per-model-version HNSW indexes. Each test gets a database of its own, dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { openSchemaEngineWithAdapter } from '../../../scripts/db/schema-engine.mjs';
import { migrateDatabase } from '../../../src/core/adapters.js';
import { readMigrations } from '../../../src/core/db/migrate.js';
import type { PostgresDatabase } from '../../../src/core/db/postgres.js';
import { openPostgresDatabase } from '../../../src/core/db/postgres.js';
import { createMemoryEventBus } from '../../../src/core/events/memory.js';
import { JobStore } from '../../../src/core/jobs/job-store.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import {
  ensureVectorIndex,
  vectorExpression,
  vectorIndexName,
} from '../../../src/core/segments/vector-store.js';
import { databaseContract } from '../../unit/db/database-contract.js';
import { relationalContract } from '../../unit/db/relational-contract.js';
import { createTestDatabase, infraSettings, withClient } from '../infra.js';
import { asOwner, systemView } from '../../helpers/system-scope.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));
const settings = infraSettings();
const dropAfterwards: (() => Promise<void>)[] = [];

/** A new empty database, dropped after the file's tests; its URL. */
async function freshDatabase(): Promise<string> {
  const database = await createTestDatabase(settings.databaseUrl);
  dropAfterwards.push(database.drop);
  return database.url;
}

const withAdmin = <T>(work: (client: pg.Client) => Promise<T>) => withClient(settings.databaseUrl, work);

/**
 * A pool for `@prisma/adapter-pg` whose results report PostgreSQL's one-byte `"char"` (OID 18, in the
 * catalogue columns the schema engine reads) as text: adapter-pg 7.10 has no mapping for it and fails
 * with "Column type 'char' could not be deserialized" (the PGlite adapter maps it). The text form of
 * a "char" is the character itself, so nothing changes but the type tag.
 */
function charAsTextPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
  const patched = async (...args: unknown[]) => {
    const result = await query(...args);
    for (const field of result.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 25;
    return result;
  };
  return Object.assign(pool, { query: patched });
}

afterAll(async () => {
  for (const drop of dropAfterwards) await drop();
});

databaseContract('postgres', async () => openPostgresDatabase({ url: await freshDatabase() }));
relationalContract('postgres', async () => openPostgresDatabase({ url: await freshDatabase() }));

describe('PostgreSQL adapter specifics', () => {
  // Statements around the ports, in the system scope (the ports name their own).
  const open = async (): Promise<PostgresDatabase> =>
    systemView(await openPostgresDatabase({ url: await freshDatabase() }));

  it('applies the same migrations as PGlite once, recording them in _prisma_migrations', async () => {
    const db = await open();
    try {
      const files = await readMigrations(MIGRATIONS);
      expect(await migrateDatabase(db, MIGRATIONS)).toEqual(files.map((file) => file.name));
      expect(await migrateDatabase(db, MIGRATIONS)).toEqual([]);
      const { rows } = await db.query<{ migration_name: string; checksum: string }>(
        'SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name',
      );
      expect(rows).toEqual(files.map((file) => ({ migration_name: file.name, checksum: file.checksum })));
    } finally {
      await db.close();
    }
  });

  it('lets two processes that start together apply each migration exactly once', async () => {
    const url = await freshDatabase();
    const [first, second] = await Promise.all([openPostgresDatabase({ url }), openPostgresDatabase({ url })]);
    try {
      const applied = await Promise.all([
        migrateDatabase(first, MIGRATIONS),
        migrateDatabase(second, MIGRATIONS),
      ]);
      const files = await readMigrations(MIGRATIONS);
      expect(applied.flat().sort()).toEqual(files.map((file) => file.name).sort());
      const { rows } = await systemView(first).query<{ n: number }>(
        'SELECT count(*)::int AS n FROM "_prisma_migrations"',
      );
      expect(rows[0]!.n).toBe(files.length);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('matches prisma/schema.prisma once migrated (and the check sees a difference)', async () => {
    const url = await freshDatabase();
    const db = await openPostgresDatabase({ url });
    try {
      await migrateDatabase(db, MIGRATIONS);
      const pool = charAsTextPool(url);
      const engine = await openSchemaEngineWithAdapter(new PrismaPg(pool), SCHEMA);
      try {
        expect(await engine.diffLiveToSchema()).toBe('');
        await asOwner(() => db.exec('ALTER TABLE "videos" DROP COLUMN "title"'));
        expect(await engine.diffLiveToSchema()).toMatch(/ALTER TABLE "videos" ADD COLUMN\s+"title" TEXT/);
      } finally {
        engine.dispose();
        await pool.end();
      }
    } finally {
      await db.close();
    }
  });

  it("stamps jobs with the server's clock, the one all processes share, not this process's", async () => {
    const db = await open();
    const events = createMemoryEventBus();
    try {
      await migrateDatabase(db, MIGRATIONS);
      const jobs = new JobStore(db, events, createMemoryLogger());
      const { rows } = await db.query<{ now: Date }>('SELECT now() AS "now"');
      const near = (at: Date | null) => Math.abs(at!.getTime() - rows[0]!.now.getTime()) < 60_000;
      // This process's clock is years off; the server's is not.
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2001-02-03T04:05:06Z') });
      const { job } = await jobs.create({
        tenantId: randomUUID(),
        kind: 'INGEST',
        idempotencyKey: randomUUID(),
      });
      const started = (await jobs.start(job.id))!;
      const finished = (await jobs.finish(job.id, { status: 'SUCCEEDED' }))!;
      vi.useRealTimers();
      const stamps = [job.createdAt, job.updatedAt, started.startedAt, started.updatedAt];
      stamps.push(finished.finishedAt, finished.updatedAt);
      expect(stamps.map(near)).toEqual(stamps.map(() => true));
    } finally {
      vi.useRealTimers();
      await events.close();
      await db.close();
    }
  });

  it('serves nearest-neighbour queries through a per-model-version HNSW index', async () => {
    const db = await open();
    try {
      await migrateDatabase(db, MIGRATIONS);
      const version = randomUUID();
      const tenant = randomUUID();
      const video = randomUUID();
      await db.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenant, 't']);
      await db.query(
        `INSERT INTO videos (id, tenant_id, object_key, content_sha256, size_bytes, updated_at)
         VALUES ($1, $2, 'k', 'h', 1, now())`,
        [video, tenant],
      );
      await db.query(
        `INSERT INTO model_versions (id, name, version, architecture, embed_dim, manifest_sha256, manifest)
         VALUES ($1, 'm', '1', 'tiny', 4, 'x', '{}')`,
        [version],
      );
      for (let i = 0; i < 4; i++) {
        const segment = randomUUID();
        await db.query(
          'INSERT INTO segments (id, video_id, index, start_ms, end_ms) VALUES ($1, $2, $3, 0, 1)',
          [segment, video, i],
        );
        await db.query(
          `INSERT INTO segment_embeddings (segment_id, model_version_id, embedding, frame_tokens, frame_weights, frame_mask)
           VALUES ($1, $2, $3::vector, $4, $4, $4)`,
          [
            segment,
            version,
            `[${[0, 1, 2, 3].map((d) => (d === i ? 1 : 0)).join(',')}]`,
            new Uint8Array([0]),
          ],
        );
      }
      await ensureVectorIndex(db, version, 4);
      await ensureVectorIndex(db, version, 4);
      const query = `SELECT s.index FROM segment_embeddings e JOIN segments s ON s.id = e.segment_id
        WHERE e.model_version_id = '${version}' ORDER BY ${vectorExpression(4)} <=> $1::vector(4) LIMIT 1`;
      // A pool hands out different connections: the planner setting lives in the transaction.
      const plan = await db.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_seqscan = off');
        return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`, ['[0,0,1,0]']);
      });
      expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain(vectorIndexName(version));
      expect((await db.query<{ index: number }>(query, ['[0,0,1,0.1]'])).rows).toEqual([{ index: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('fails to open with UNAVAILABLE when nothing listens, CONFIG_INVALID on a wrong password', async () => {
    const closed = new URL(settings.databaseUrl);
    closed.port = '1';
    await expect(
      openPostgresDatabase({ url: closed.toString(), connectTimeoutMs: 2_000 }),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    const wrong = new URL(settings.databaseUrl);
    wrong.password = 'not-the-password';
    const failure = await openPostgresDatabase({ url: wrong.toString() }).catch((error: Error) => error);
    expect(failure).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((failure as Error).message).not.toContain('not-the-password');
  });

  it('turns a lost connection into UNAVAILABLE, and keeps statement errors as PostgreSQL reports them', async () => {
    const db = await open();
    try {
      await expect(db.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
      const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const killed = db.transaction(async (tx) => {
        const own = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await withAdmin((client) => client.query('SELECT pg_terminate_backend($1)', [own.rows[0]!.pid]));
        await tx.query('SELECT 1');
      });
      await expect(killed).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
      expect(rows[0]!.pid).toBeGreaterThan(0);
      // The pool replaces the dead connection.
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});
