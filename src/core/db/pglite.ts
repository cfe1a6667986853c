/**
 * Embedded database: PGlite (PostgreSQL compiled to WebAssembly) in this process, with the pgvector
 * extension, persisted in a folder (or in memory for tests). Same SQL dialect as the cluster's
 * PostgreSQL, so migrations and queries are shared.
 */
import { mkdir } from 'node:fs/promises';

import { PGlite } from '@electric-sql/pglite';
import type { Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

import { HbiError } from '../errors.js';
import type { Database, QueryResult, Queryable } from './port.js';

export interface PgliteDatabase extends Database {
  /** The PGlite instance, for the Prisma driver adapter and the schema engine. */
  readonly client: PGlite;
}

/** Opens (creating when missing) the database in `dataDir`, or in memory when `dataDir` is undefined. */
export async function openPgliteDatabase(dataDir?: string): Promise<PgliteDatabase> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  let client: PGlite;
  try {
    client = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { vector } });
  } catch (error) {
    throw new HbiError('UNAVAILABLE', `Cannot open the embedded database${dataDir ? ` in ${dataDir}` : ''}`, {
      cause: error,
    });
  }
  // The extension is bundled; enabling it here lets queries use `vector` before any migration ran.
  await client.exec('CREATE EXTENSION IF NOT EXISTS vector');
  const wrap = (target: PGlite | Transaction): Queryable => ({
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await target.query<R>(sql, [...params]);
      return { rows: result.rows, affectedRows: result.affectedRows };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    client,
    ...wrap(client),
    transaction: <T>(work: (tx: Queryable) => Promise<T>) => client.transaction((tx) => work(wrap(tx))),
    close: () => client.close(),
  };
}
