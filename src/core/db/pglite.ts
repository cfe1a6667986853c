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
import type { FolderLock } from './folder-lock.js';
import { lockFolder } from './folder-lock.js';
import type { QueryResult, Queryable } from './port.js';
import type { RelationalDatabase } from './relational.js';
import { TransactionGuard, lazyPrisma, pglitePrisma } from './relational.js';
import { restrictedRole } from './row-security.js';
import type { DataScope } from './scope.js';
import { requireScope, scopeStatement } from './scope.js';

export interface PgliteDatabase extends RelationalDatabase {
  /** The PGlite instance, for the Prisma driver adapter and the schema engine. */
  readonly client: PGlite;
}

/** Opens (creating when missing) the database in `dataDir`, or in memory when `dataDir` is undefined. */
export async function openPgliteDatabase(dataDir?: string): Promise<PgliteDatabase> {
  // One process per folder (folder-lock.ts): a second opener gets CONFLICT naming the holder's pid.
  let lock: FolderLock | undefined;
  if (dataDir) {
    await mkdir(dataDir, { recursive: true });
    lock = await lockFolder(dataDir);
  }
  let client: PGlite;
  let role: string | undefined;
  try {
    client = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { vector } });
  } catch (error) {
    await lock?.release();
    throw new HbiError('UNAVAILABLE', `Cannot open the embedded database${dataDir ? ` in ${dataDir}` : ''}`, {
      cause: error,
    });
  }
  try {
    // The extension is bundled; enabling it here lets queries use `vector` before any migration ran.
    await client.exec('CREATE EXTENSION IF NOT EXISTS vector');
    // PGlite's one user is a superuser, which row-level security does not apply to: every tenant and
    // system transaction runs as the unprivileged application role instead (row-security.ts).
    role = await restrictedRole(wrap(client));
  } catch (error) {
    await client.close().catch(() => undefined);
    await lock?.release();
    throw error;
  }
  const scoped = scopedClient(client, role);
  // PGlite is one connection: a statement sent around an open transaction would wait for it forever,
  // so the port and Prisma refuse one (see relational.ts).
  const guard = new TransactionGuard();
  const prisma = lazyPrisma(() => pglitePrisma(scoped, guard));
  return {
    kind: 'pglite',
    client,
    ...guard.wrap(wrap(scoped), ['query', 'exec'], 'db'),
    transaction: <T>(work: (tx: Queryable) => Promise<T>) => {
      guard.check('db.transaction');
      return scoped.transaction((tx) => guard.run(() => work(wrap(tx))));
    },
    get prisma() {
      return prisma.get();
    },
    close: async () => {
      try {
        await prisma.disconnect();
        await client.close();
      } finally {
        await lock?.release();
      }
    },
  };
}

/** The port's view of a PGlite handle (the instance, a scoped proxy of it, or a transaction). */
function wrap(target: Pick<PGlite, 'query' | 'exec'> | Transaction): Queryable {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await target.query<R>(sql, [...params]);
      return { rows: result.rows, affectedRows: result.affectedRows };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

/**
 * `client` with every statement in a transaction that first sets the scope of the flow that sent it
 * (scope.ts): `query` and `exec` each in one of their own, `transaction` at its start. What the port
 * and Prisma's adapter use; the raw client stays for the schema engine and the owner.
 */
function scopedClient(client: PGlite, role: string | undefined): PGlite {
  const open = async (tx: Transaction, scope: DataScope) => {
    const { sql, params } = scopeStatement(scope, role);
    await tx.query(sql, params);
  };
  const overrides = {
    // async: a statement outside any scope is a rejected promise, like any other failed statement.
    query: async (sql: string, params?: unknown[], options?: Parameters<PGlite['query']>[2]) => {
      const scope = requireScope('A database statement');
      return client.transaction(async (tx) => {
        await open(tx, scope);
        return tx.query(sql, params, options);
      });
    },
    exec: async (sql: string, options?: Parameters<PGlite['exec']>[1]) => {
      const scope = requireScope('A database script');
      return client.transaction(async (tx) => {
        await open(tx, scope);
        return tx.exec(sql, options);
      });
    },
    transaction: async <T>(work: (tx: Transaction) => Promise<T>) => {
      const scope = requireScope('A database transaction');
      return client.transaction(async (tx) => {
        await open(tx, scope);
        return work(tx);
      });
    },
  };
  return new Proxy(client, {
    get: (target, property) => {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof typeof overrides];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
