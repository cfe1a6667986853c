/**
 * Row-level security, the same checks on PGlite (unit tier) and PostgreSQL (integration tier): every
 * table with a tenant is under a FORCEd policy; a transaction that names no tenant sees none of its
 * rows and may write none; one that names tenant A sees A's rows only, whatever its WHERE clause;
 * segments and vectors take their video's tenant; the adapters refuse a statement outside any scope.
 */
import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import type { RelationalDatabase } from '../../src/core/db/relational.js';
import { inSystemScope, inTenantScope } from '../../src/core/db/scope.js';
import { HbiError } from '../../src/core/errors.js';

export interface RowSecurityTarget {
  /** The migrated database, through its adapter. */
  db: RelationalDatabase;
  /**
   * Runs `sql` in one transaction straight on the database, around the adapter, as the role the
   * platform's statements run as, with exactly `settings` set for the transaction (none: nothing).
   */
  raw(sql: string, params?: unknown[], settings?: Record<string, string>): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const TENANT_TABLES = [
  'api_keys',
  'audit_events',
  'cameras',
  'jobs',
  'plugin_cache',
  'segment_embeddings',
  'segments',
  'tenants',
  'videos',
];

interface Seeded {
  a: string;
  b: string;
  /** Rows per table per tenant. */
  perTenant: number;
  videoOfA: string;
  videoOfB: string;
}

/** Two tenants with one row of every tenant table each, written in each tenant's own scope. */
async function seed(db: RelationalDatabase): Promise<Seeded> {
  const [a, b] = [randomUUID(), randomUUID()];
  const modelVersionId = randomUUID();
  await inSystemScope('test: model version', () =>
    db.prisma.modelVersion.create({
      data: {
        id: modelVersionId,
        name: `rls-${modelVersionId}`,
        version: '1',
        architecture: 'test',
        embedDim: 3,
        manifestSha256: 'x',
        manifest: {},
      },
    }),
  );
  const videos: string[] = [];
  for (const tenantId of [a, b]) {
    await inTenantScope(tenantId, async () => {
      const { prisma } = db;
      await prisma.tenant.create({ data: { id: tenantId, name: `t-${tenantId}` } });
      const camera = await prisma.camera.create({ data: { id: randomUUID(), tenantId, name: 'cam' } });
      const video = await prisma.video.create({
        data: {
          id: randomUUID(),
          tenantId,
          cameraId: camera.id,
          objectKey: `videos/${tenantId}`,
          contentSha256: tenantId,
          sizeBytes: 1n,
        },
      });
      videos.push(video.id);
      await prisma.apiKey.create({
        data: { id: randomUUID(), tenantId, name: 'k', prefix: 'hbik_', secretHash: randomUUID() },
      });
      await prisma.auditEvent.create({
        data: { id: randomUUID(), tenantId, actor: 'test', action: 'seed' },
      });
      await prisma.job.create({
        data: { id: randomUUID(), tenantId, kind: 'INGEST', idempotencyKey: `rls:${randomUUID()}` },
      });
      await prisma.pluginCacheEntry.create({
        data: { tenantId, plugin: 'p', modelVersionId, key: 'k', videoId: video.id, value: { v: 1 } },
      });
      // No tenant column in the INSERT: the database takes the video's (and the segment's).
      const segmentId = randomUUID();
      await db.query(
        `INSERT INTO "segments" ("id", "video_id", "index", "start_ms", "end_ms") VALUES ($1, $2, 0, 0, 1000)`,
        [segmentId, video.id],
      );
      await db.query(
        `INSERT INTO "segment_embeddings" ("segment_id", "model_version_id", "embedding", "frame_tokens", "frame_weights", "frame_mask")
         VALUES ($1, $2, '[1,0,0]'::vector, '\\x00'::bytea, '\\x00'::bytea, '\\x00'::bytea)`,
        [segmentId, modelVersionId],
      );
    });
  }
  return { a, b, perTenant: 1, videoOfA: videos[0]!, videoOfB: videos[1]! };
}

/** The contract; `open` gives a freshly migrated database of the adapter under test. */
export function rowSecurityContract(label: string, open: () => Promise<RowSecurityTarget>): void {
  describe(`row-level security (${label})`, () => {
    it('every table with a tenant column is under a forced policy', async () => {
      const target = await open();
      try {
        const rows = await target.raw(
          `SELECT c.relname AS "table", c.relrowsecurity AS "enabled", c.relforcerowsecurity AS "forced",
                  (SELECT count(*)::int FROM pg_policies p WHERE p.tablename = c.relname) AS "policies"
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r'
             AND (c.relname = 'tenants' OR EXISTS (SELECT 1 FROM information_schema.columns col
                  WHERE col.table_schema = 'public' AND col.table_name = c.relname AND col.column_name = 'tenant_id'))
           ORDER BY 1`,
        );
        // A new tenant table shows up here: it must get the policy too (and join TENANT_TABLES).
        expect(rows.map((row) => row.table)).toEqual(TENANT_TABLES);
        for (const row of rows)
          expect(row, String(row.table)).toMatchObject({ enabled: true, forced: true, policies: 1 });
      } finally {
        await target.close();
      }
    });

    it('a transaction without the tenant setting sees no rows of any tenant table and writes none', async () => {
      const target = await open();
      try {
        const seeded = await seed(target.db);
        // The same rows are there (the system scope sees both tenants)...
        for (const table of TENANT_TABLES) {
          const [all] = await target.raw(`SELECT count(*)::int AS "n" FROM "${table}"`, [], {
            'hbi.system': 'on',
          });
          expect(all!.n, table).toBe(2 * seeded.perTenant);
        }
        // ...and none is visible without the setting, or with an empty one.
        for (const table of TENANT_TABLES) {
          expect(await target.raw(`SELECT * FROM "${table}"`), table).toEqual([]);
          expect(await target.raw(`SELECT * FROM "${table}"`, [], { 'hbi.tenant_id': '' }), table).toEqual(
            [],
          );
        }
        await expect(
          target.raw(
            `INSERT INTO "audit_events" ("id", "tenant_id", "actor", "action") VALUES ($1, $2, 'x', 'x')`,
            [randomUUID(), seeded.a],
          ),
        ).rejects.toThrow(/row-level security/);
        const updated = await target.raw(`UPDATE "videos" SET "title" = 'taken' RETURNING "id"`);
        expect(updated).toEqual([]);
      } finally {
        await target.close();
      }
    });

    it("a transaction for tenant A sees A's rows only, with no WHERE clause at all, and cannot write B's", async () => {
      const target = await open();
      try {
        const { a, b, videoOfB } = await seed(target.db);
        for (const table of TENANT_TABLES) {
          const column = table === 'tenants' ? 'id' : 'tenant_id';
          const rows = await target.raw(`SELECT "${column}"::text AS "tenant" FROM "${table}"`, [], {
            'hbi.tenant_id': a,
          });
          expect(rows, table).toEqual([{ tenant: a }]);
        }
        await expect(
          target.raw(
            `INSERT INTO "audit_events" ("id", "tenant_id", "actor", "action") VALUES ($1, $2, 'x', 'x')`,
            [randomUUID(), b],
            {
              'hbi.tenant_id': a,
            },
          ),
        ).rejects.toThrow(/row-level security/);
        // B's video cannot be given a segment from A's scope (the tenant fill finds no video).
        await expect(
          target.raw(
            `INSERT INTO "segments" ("id", "video_id", "index", "start_ms", "end_ms") VALUES ($1, $2, 9, 0, 1)`,
            [randomUUID(), videoOfB],
            { 'hbi.tenant_id': a },
          ),
        ).rejects.toThrow(/not visible/);
        expect(
          await target.raw(`DELETE FROM "videos" WHERE "id" = $1 RETURNING "id"`, [videoOfB], {
            'hbi.tenant_id': a,
          }),
        ).toEqual([]);
      } finally {
        await target.close();
      }
    });

    it('the adapter runs each statement in its scope, and refuses one outside any', async () => {
      const target = await open();
      try {
        const { db } = target;
        const { a, b, videoOfA } = await seed(db);
        await expect(db.query('SELECT 1')).rejects.toMatchObject({
          code: 'INTERNAL',
          message: /outside any data scope/,
        });
        await expect(db.prisma.video.count()).rejects.toThrow(/outside any data scope/);
        await expect(db.transaction(() => Promise.resolve())).rejects.toThrow(/outside any data scope/);
        // A query that forgot its tenant filter: row-level security still holds it to the scope's tenant.
        const { rows } = await inTenantScope(a, () => db.query<{ id: string }>(`SELECT "id" FROM "videos"`));
        expect(rows.map((row) => row.id)).toEqual([videoOfA]);
        expect(
          await inTenantScope(a, () => db.prisma.segment.findMany({ select: { tenantId: true } })),
        ).toEqual([{ tenantId: a }]);
        const inTx = await inTenantScope(b, () =>
          db.transaction(
            async (tx) =>
              (await tx.query<{ n: number }>(`SELECT count(*)::int AS "n" FROM "videos"`)).rows[0]!.n,
          ),
        );
        expect(inTx).toBe(1);
        expect(await inTenantScope(a, () => db.prisma.$transaction((tx) => tx.video.count()))).toBe(1);
        expect(await inSystemScope('test', () => db.prisma.video.count())).toBe(2);
        // One tenant's flow reaching for another's data is a bug, refused before any statement.
        expect(() => inTenantScope(a, () => inTenantScope(b, () => undefined))).toThrow(HbiError);
      } finally {
        await target.close();
      }
    });
  });
}
