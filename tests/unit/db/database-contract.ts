/**
 * The contract every Database adapter passes (PGlite now; PostgreSQL via `pg` in the integration tier).
 * One database per suite: adapters can be slow to open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerView } from '../../helpers/system-scope.js';

import type { Database } from '../../../src/core/db/port.js';

export function databaseContract(name: string, open: () => Promise<Database>) {
  describe(`Database contract: ${name}`, () => {
    let db: Database;
    beforeAll(async () => {
      db = ownerView(await open());
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

    it('returns the same JavaScript values for every column type (PGlite’s parsing)', async () => {
      const { rows } = await db.query(
        `SELECT 7::int8 AS i8, 9007199254740993::int8 AS huge, 2::int4 AS i4, 1.5::float8 AS f8,
                1.25::numeric AS num, true AS yes, '{"a":[1]}'::jsonb AS doc, '\\x0102'::bytea AS bytes,
                '2020-01-02T03:04:05.006Z'::timestamptz AS at, '00000000-0000-0000-0000-000000000001'::uuid AS id,
                '[1,2]'::vector AS v, ARRAY[[1,2],[3,4]]::int4[] AS grid, ARRAY['a"b', NULL, 'c,d', '']::text[] AS texts,
                NULL::text AS nothing`,
      );
      expect(rows[0]).toEqual({
        i8: 7,
        huge: 9007199254740993n,
        i4: 2,
        f8: 1.5,
        num: '1.25',
        yes: true,
        doc: { a: [1] },
        bytes: new Uint8Array([1, 2]),
        at: new Date('2020-01-02T03:04:05.006Z'),
        id: '00000000-0000-0000-0000-000000000001',
        v: '[1,2]',
        grid: [
          [1, 2],
          [3, 4],
        ],
        texts: ['a"b', null, 'c,d', ''],
        nothing: null,
      });
    });

    it('binds dates, bytes, JSON text and vectors as parameters', async () => {
      const at = new Date('2021-06-07T08:09:10.011Z');
      const { rows } = await db.query<{ at: Date; bytes: Uint8Array; doc: unknown; d: number }>(
        'SELECT $1::timestamptz AS at, $2::bytea AS bytes, $3::jsonb AS doc, $4::vector <-> $5::vector AS d',
        [at, new Uint8Array([0, 255, 7]), JSON.stringify({ ok: [true] }), '[0,0]', '[3,4]'],
      );
      expect(rows[0]).toEqual({ at, bytes: new Uint8Array([0, 255, 7]), doc: { ok: [true] }, d: 5 });
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
