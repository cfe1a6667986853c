/**
 * The contract every Database adapter passes (PGlite now; PostgreSQL via `pg` in the integration tier).
 * One database per suite: adapters can be slow to open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Database } from '../../../src/core/db/port.js';

export function databaseContract(name: string, open: () => Promise<Database>) {
  describe(`Database contract: ${name}`, () => {
    let db: Database;
    beforeAll(async () => {
      db = await open();
      await db.exec(
        'CREATE TABLE contract_items (id INT PRIMARY KEY, label TEXT NOT NULL); CREATE TABLE contract_other (x INT);',
      );
    });
    afterAll(() => db.close());

    it('runs parameterised statements and reports affected rows', async () => {
      const insert = await db.query('INSERT INTO contract_items (id, label) VALUES ($1, $2), ($3, $4)', [
        1,
        'one',
        2,
        'two',
      ]);
      expect(insert.affectedRows).toBe(2);
      const { rows } = await db.query<{ id: number; label: string }>(
        'SELECT id, label FROM contract_items WHERE id = $1',
        [2],
      );
      expect(rows).toEqual([{ id: 2, label: 'two' }]);
    });

    it('commits a transaction that resolves', async () => {
      const result = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO contract_items (id, label) VALUES ($1, $2)', [3, 'three']);
        return 'done';
      });
      expect(result).toBe('done');
      expect((await db.query('SELECT 1 FROM contract_items WHERE id = 3')).rows).toHaveLength(1);
    });

    it('rolls back everything a failing transaction did', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO contract_items (id, label) VALUES ($1, $2)', [4, 'four']);
          await tx.query('INSERT INTO contract_items (id, label) VALUES ($1, $2)', [4, 'duplicate']);
        }),
      ).rejects.toThrow();
      expect((await db.query('SELECT 1 FROM contract_items WHERE id = 4')).rows).toHaveLength(0);
    });

    it('executes multi-statement scripts', async () => {
      await db.exec('INSERT INTO contract_other VALUES (1); INSERT INTO contract_other VALUES (2);');
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contract_other')).rows).toEqual([
        { n: 2 },
      ]);
    });

    it('has pgvector', async () => {
      const { rows } = await db.query<{ d: number }>('SELECT $1::vector <-> $2::vector AS d', [
        '[0,0]',
        '[3,4]',
      ]);
      expect(rows[0]!.d).toBeCloseTo(5);
    });
  });
}
