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
import type { QueryResult, Queryable } from './port.js';
import type { RelationalDatabase } from './relational.js';
import { TransactionGuard, lazyPrisma, pglitePrisma } from './relational.js';

export interface PgliteDatabase extends RelationalDatabase {
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
  // PGlite is one connection: a statement sent around an open transaction would wait for it forever,
  // so the port and Prisma refuse one (see relational.ts).
  const guard = new TransactionGuard();
  const prisma = lazyPrisma(() => pglitePrisma(client, guard));
  return {
    kind: 'pglite',
    client,
    ...guard.wrap(wrap(client), ['query', 'exec'], 'db'),
    transaction: <T>(work: (tx: Queryable) => Promise<T>) => {
      guard.check('db.transaction');
      return client.transaction((tx) => guard.run(() => work(wrap(tx))));
    },
    get prisma() {
      return prisma.get();
    },
    close: async () => {
      await prisma.disconnect();
      await client.close();
    },
  };
}
