/**
 * The contract of `db.prisma` beside the SQL port, on every adapter (PGlite here; PostgreSQL in the
 * integration tier): both see each other's writes, each keeps its transactions to itself while the
 * other runs concurrently (nothing waits forever, nothing leaks into or out of a transaction), and a
 * statement sent around an open port transaction fails at once instead of waiting for it.
 */
import { randomUUID } from 'node:crypto';
import { ownerView } from '../../helpers/system-scope.js';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import type { RelationalDatabase } from '../../../src/core/db/relational.js';
import { MIGRATIONS_DIR } from '../../../src/core/kernel.js';

/** A promise and its resolve, to hold a transaction open while the test acts around it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Fails when `work` has not settled after `ms`: a deadlock shows up as this, not as a hung suite. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms (deadlock?)`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const WAIT_MS = 20_000;

export function relationalContract(name: string, open: () => Promise<RelationalDatabase>) {
  describe(`Prisma Client beside the SQL port: ${name}`, () => {
    let db: RelationalDatabase;
    beforeAll(async () => {
      db = ownerView(await open());
      await migrate(db, MIGRATIONS_DIR);
    });
    afterAll(() => db?.close());

    const tenantExists = async (id: string) =>
      (await db.query('SELECT 1 FROM "tenants" WHERE "id" = $1', [id])).rows.length === 1;

    it('reads what the port wrote and the other way round', async () => {
      const [viaSql, viaPrisma] = [randomUUID(), randomUUID()];
      await db.query(`INSERT INTO "tenants" ("id", "name") VALUES ($1, 'sql')`, [viaSql]);
      await db.prisma.tenant.create({ data: { id: viaPrisma, name: 'prisma' } });
      expect(await db.prisma.tenant.findUnique({ where: { id: viaSql } })).toMatchObject({ name: 'sql' });
      const { rows } = await db.query<{ name: string }>('SELECT "name" FROM "tenants" WHERE "id" = $1', [
        viaPrisma,
      ]);
      expect(rows).toEqual([{ name: 'prisma' }]);
    });

    it('runs Prisma around an open port transaction without joining it or waiting forever', async () => {
      const [inside, outside] = [randomUUID(), randomUUID()];
      const held = gate();
      const release = gate();
      const transaction = db.transaction(async (tx) => {
        await tx.query(`INSERT INTO "tenants" ("id", "name") VALUES ($1, 'inside')`, [inside]);
        held.open();
        await release.opened;
        throw new Error('roll back');
      });
      await held.opened;
      // Issued while the transaction is open: PGlite runs them after it, PostgreSQL beside it.
      const write = db.prisma.tenant.create({ data: { id: outside, name: 'outside' } });
      const read = db.prisma.tenant.findUnique({ where: { id: inside } });
      const count = db.prisma.$transaction(async (tx) => tx.tenant.count({ where: { id: inside } }));
      release.open();
      await expect(within(WAIT_MS, transaction)).rejects.toThrow('roll back');
      await within(WAIT_MS, write);
      expect(await within(WAIT_MS, read)).toBeNull();
      expect(await within(WAIT_MS, count)).toBe(0);
      expect(await tenantExists(inside)).toBe(false);
      expect(await tenantExists(outside)).toBe(true);
    });

    it('runs the port around an open Prisma transaction without joining it or waiting forever', async () => {
      const [inside, outside] = [randomUUID(), randomUUID()];
      const held = gate();
      const release = gate();
      const transaction = db.prisma.$transaction(async (tx) => {
        await tx.tenant.create({ data: { id: inside, name: 'inside' } });
        held.open();
        await release.opened;
        throw new Error('roll back');
      });
      await held.opened;
      const write = db.query(`INSERT INTO "tenants" ("id", "name") VALUES ($1, 'outside')`, [outside]);
      const read = db.query('SELECT 1 FROM "tenants" WHERE "id" = $1', [inside]);
      const portTransaction = db.transaction((tx) =>
        tx.query('SELECT 1 FROM "tenants" WHERE "id" = $1', [inside]),
      );
      release.open();
      await expect(within(WAIT_MS, transaction)).rejects.toThrow('roll back');
      await within(WAIT_MS, write);
      expect((await within(WAIT_MS, read)).rows).toEqual([]);
      expect((await within(WAIT_MS, portTransaction)).rows).toEqual([]);
      expect(await tenantExists(inside)).toBe(false);
      expect(await tenantExists(outside)).toBe(true);
      // A committed Prisma transaction is seen by the port.
      const committed = randomUUID();
      await db.prisma.$transaction(async (tx) => tx.tenant.create({ data: { id: committed, name: 'c' } }));
      expect(await tenantExists(committed)).toBe(true);
    });

    it('refuses, at once, Prisma or the port called around an open port transaction from inside it', async () => {
      const id = randomUUID();
      const attempt = (around: () => Promise<unknown>) =>
        within(
          WAIT_MS,
          db.transaction(async (tx) => {
            await tx.query(`INSERT INTO "tenants" ("id", "name") VALUES ($1, 'x')`, [id]);
            await around();
          }),
        );
      await expect(attempt(() => db.prisma.tenant.findUnique({ where: { id } }))).rejects.toThrow(
        /inside db\.transaction but outside it/,
      );
      await expect(attempt(() => db.prisma.$transaction(async () => undefined))).rejects.toThrow(
        /inside db\.transaction but outside it/,
      );
      await expect(attempt(() => db.query('SELECT 1'))).rejects.toThrow(/db\.query was called inside/);
      await expect(attempt(() => db.transaction(async () => undefined))).rejects.toThrow(
        /db\.transaction was called inside/,
      );
      // Each attempt rolled back, and both paths still work.
      expect(await tenantExists(id)).toBe(false);
      await db.prisma.tenant.create({ data: { id, name: 'after' } });
      expect(await tenantExists(id)).toBe(true);
    });

    it('completes a burst of concurrent port and Prisma work, transactions included', async () => {
      const ids = Array.from({ length: 12 }, () => randomUUID());
      const work = ids.map((id, i) => {
        switch (i % 4) {
          case 0:
            return db.transaction(async (tx) => {
              await tx.query(`INSERT INTO "tenants" ("id", "name") VALUES ($1, 'burst')`, [id]);
              await tx.query('SELECT count(*) FROM "tenants"');
            });
          case 1:
            return db.prisma.$transaction(async (tx) => {
              await tx.tenant.create({ data: { id, name: 'burst' } });
              await tx.tenant.count();
            });
          case 2:
            return db.prisma.tenant.create({ data: { id, name: 'burst' } });
          default:
            return db.query(`INSERT INTO "tenants" ("id", "name") VALUES ($1, 'burst')`, [id]);
        }
      });
      await within(WAIT_MS, Promise.all(work));
      expect(await db.prisma.tenant.count({ where: { id: { in: ids }, name: 'burst' } })).toBe(ids.length);
    });
  });
}
