/**
 * The relational side of the database through Prisma Client (generated from `prisma/schema.prisma`
 * into `src/generated/prisma`, committed): tenants, cameras, videos, jobs and model versions. It runs
 * over the connection(s) the SQL port already opened, through a driver adapter: the same PGlite
 * instance embedded (`pglite-prisma-adapter`), the same `pg` pool on PostgreSQL (`@prisma/adapter-pg`).
 * Raw SQL through the port stays where Prisma cannot go (pgvector, HNSW, frame-tensor rows).
 *
 * One rule keeps the two from waiting on each other: inside `db.transaction(work)` every statement
 * runs on `work`'s handle. PGlite is one connection, so a statement sent around an open transaction
 * (through the port or through Prisma) would wait for that transaction, which waits for it: both
 * adapters refuse such a statement at once (`TransactionGuard`) instead of hanging. Outside a
 * transaction the port and Prisma may be used side by side and concurrently; PGlite runs one
 * statement or transaction at a time, in order.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

import { HbiError } from '../errors.js';
import type { Database } from './port.js';

import { Prisma, PrismaClient } from '../../generated/prisma/client.js';

export { Prisma };

/** SQL NULL for a nullable Json column (plain `null` is ambiguous to Prisma). */
export const DB_NULL = Prisma.DbNull;

/**
 * A JSON-serialisable object (a public error, a manifest) as a Json column value: interfaces such as
 * PublicError have no index signature, so TypeScript needs this widening through `object`.
 */
export function toJson(value: object): Prisma.InputJsonValue {
  return value;
}

/** The typed client of the relational tables. */
export type Relational = PrismaClient;

/** The kernel's database: the SQL port plus Prisma Client over the same connection(s). */
export interface RelationalDatabase extends Database {
  /** Created on first use; disconnected by `close()`. */
  readonly prisma: Relational;
}

/**
 * Knows which async flows run inside one of this database's transactions. `run` marks `work`'s flow
 * (and everything it starts) until it settles; `check` throws in such a flow.
 */
export class TransactionGuard {
  readonly #inside = new AsyncLocalStorage<{ open: boolean }>();

  run<T>(work: () => Promise<T>): Promise<T> {
    const mark = { open: true };
    return this.#inside.run(mark, async () => {
      try {
        return await work();
      } finally {
        mark.open = false;
      }
    });
  }

  check(what: string): void {
    if (this.#inside.getStore()?.open) {
      throw new HbiError(
        'INTERNAL',
        `${what} was called inside db.transaction but outside it: it would wait for the transaction ` +
          `that waits for it. Run it on the transaction's handle, or after the transaction.`,
      );
    }
  }

  /** `target` with `methods` checked first (its other members pass through). */
  wrap<T extends object>(target: T, methods: readonly (keyof T & string)[], label: string): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(object);
        if (!methods.includes(property as keyof T & string)) return bound;
        return (...args: unknown[]) => {
          this.check(`${label}.${String(property)}`);
          return bound(...args);
        };
      },
    });
  }
}

/**
 * Prisma's interactive transactions give up after 2 s waiting to start and 5 s running by default. On
 * PGlite a transaction starts only once the one connection is free (an ingest's statements, an HNSW
 * build or ANALYZE may hold it for longer on a busy machine); the port's transactions have no limit.
 */
const TRANSACTION_OPTIONS = { maxWait: 30_000, timeout: 60_000 };

/** Prisma Client on the PGlite instance the port uses (statements outside its transactions checked by `guard`). */
export function pglitePrisma(client: PGlite, guard: TransactionGuard): Relational {
  return new PrismaClient({
    adapter: new PrismaPGlite(guard.wrap(client, ['query', 'exec', 'transaction'], 'prisma')),
    transactionOptions: TRANSACTION_OPTIONS,
  });
}

/** Prisma Client on the port's `pg` pool: one pool, one size limit (Prisma parses its own result types). */
export function postgresPrisma(pool: pg.Pool, guard: TransactionGuard): Relational {
  return new PrismaClient({
    adapter: new PrismaPg(guard.wrap(pool, ['query', 'connect'], 'prisma')),
    transactionOptions: TRANSACTION_OPTIONS,
  });
}

/** A lazily created client and its disconnect, for the adapters' `prisma` getter and `close`. */
export function lazyPrisma(create: () => Relational): { get(): Relational; disconnect(): Promise<void> } {
  let client: Relational | undefined;
  return {
    get: () => (client ??= create()),
    disconnect: async () => {
      await client?.$disconnect();
      client = undefined;
    },
  };
}

/**
 * The database's clock. A job's `updatedAt` orders its updates for watchers in every process, so job
 * timestamps come from the one database (as SQL's `now()` did), not from each process's own clock,
 * which is what Prisma would write.
 */
export async function databaseNow(prisma: Pick<Relational, '$queryRaw'>): Promise<Date> {
  const [row] = await prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS "now"`;
  return row!.now;
}

/** Creates the tenant row when missing (tenants are created on first use, named `default`). */
export async function ensureTenant(prisma: Relational, tenantId: string): Promise<void> {
  // INSERT … ON CONFLICT DO NOTHING: safe when two requests create the same tenant at once.
  await prisma.tenant.createMany({ data: [{ id: tenantId, name: 'default' }], skipDuplicates: true });
}

/** Prisma's error for a unique constraint a write would break (P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
