/**
 * Cluster database: PostgreSQL 15 with pgvector through a `pg` connection pool. Raw SQL like the
 * embedded adapter, with PGlite's result types: the same query returns the same JavaScript values on
 * both adapters (see `PGLITE_TYPES`). Prisma Client (`prisma`) shares the pool (relational.ts).
 */
import pg from 'pg';
import type { PoolClient, QueryResult as PgQueryResult } from 'pg';

import { HbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Database, QueryResult, Queryable } from './port.js';
import type { RelationalDatabase } from './relational.js';
import { TransactionGuard, lazyPrisma, postgresPrisma } from './relational.js';
import { restrictedRole } from './row-security.js';
import type { DataScope } from './scope.js';
import { inlineScopeStatement, requireScope } from './scope.js';
import { databaseUnavailable, isConnectionError } from './outage.js';

export interface PostgresOptions {
  /** `postgresql://user:password@host:port/database` (query parameters such as `sslmode` pass through). */
  url: string;
  /** Most connections this process opens. Default 10. */
  poolSize?: number;
  /** How long to wait for a connection before failing with UNAVAILABLE. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. Default `hbi-platform`. */
  applicationName?: string;
  logger?: Logger;
}

export interface PostgresDatabase extends RelationalDatabase {
  readonly pool: pg.Pool;
  /**
   * Runs `work` on one dedicated connection: for session state such as the advisory lock that
   * `migrate` holds. The session's `transaction` runs on that same connection.
   */
  withSession<T>(work: (session: Database) => Promise<T>): Promise<T>;
  /** Statements waiting for one of the pool's connections now. */
  waitingForConnection(): number;
}

/** True for the PostgreSQL adapter (it needs `withSession` for migrations). */
export function isPostgresDatabase(db: Database): db is PostgresDatabase {
  return db.kind === 'postgres' && 'withSession' in db;
}

/** Opens the pool, checks the server answers and that pgvector is installed in the database. */
export async function openPostgresDatabase(options: PostgresOptions): Promise<PostgresDatabase> {
  const target = describeUrl(options.url);
  const arrayElements = new Map<number, number>();
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'hbi-platform',
    types: pgliteTypes(arrayElements),
  });
  // An idle connection dropped by the server must not crash the process: the pool replaces it.
  pool.on('error', (error) => options.logger?.warn('idle PostgreSQL connection failed', { target, error }));
  let role: string | undefined;
  try {
    await pool.query('SELECT 1');
    await ensureVector(pool, target);
    await readArrayTypes(pool, arrayElements);
    // A superuser or BYPASSRLS role is not bound by row-level security: statements then run as the
    // application role (row-security.ts). The usual owner role is bound itself (FORCE).
    role = await restrictedRole(queryable(pool));
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw databaseError(error, `Cannot open PostgreSQL at ${target}`);
  }

  /**
   * Runs `work` on one connection taken from the pool. A connection that fails while held is
   * destroyed on release instead of going back to the pool; its error event is caught here, since
   * an unheard one would crash the process.
   */
  async function withConnection<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect().catch((error: unknown) => {
      throw databaseUnavailable(error, `No PostgreSQL connection to ${target}`);
    });
    let broken: Error | undefined;
    const onError = (error: Error) => (broken ??= error);
    client.on('error', onError);
    try {
      return await work(client);
    } catch (error) {
      if (isConnectionError(error) || isConnectionError((error as { cause?: unknown })?.cause)) {
        broken ??= error as Error;
      }
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  // A statement sent around an open transaction would run outside it (and could wait on its locks):
  // the port and Prisma refuse one, as on PGlite (see relational.ts).
  const guard = new TransactionGuard();
  // Every statement runs in a transaction that first sets its flow's data scope (scope.ts): the
  // port's and Prisma's alike.
  const begin = (scope: DataScope) => `BEGIN; ${inlineScopeStatement(scope, role)}`;
  const inScope = <T>(client: PoolClient, scope: DataScope, work: (tx: Queryable) => Promise<T>) =>
    runTransaction(client, begin(scope), work);
  const scopedPool = scopedPrismaPool(pool, begin, (scope, work) =>
    withConnection((client) => inScope(client, scope, () => work(client))),
  );
  const prisma = lazyPrisma(() => postgresPrisma(scopedPool, guard));
  const transaction = async <T>(client: PoolClient, work: (tx: Queryable) => Promise<T>): Promise<T> => {
    const scope = requireScope('A database transaction');
    return guard.run(() => inScope(client, scope, work));
  };
  /** A statement in a transaction of its own, on `client` or on one taken from the pool. */
  const single = (client: PoolClient | undefined): Queryable => {
    const run = async <T>(what: string, work: (tx: Queryable) => Promise<T>): Promise<T> => {
      const scope = requireScope(what);
      return client ? inScope(client, scope, work) : withConnection((c) => inScope(c, scope, work));
    };
    return {
      query: (sql, params) => run('A database statement', (tx) => tx.query(sql, params)),
      exec: (sql) => run('A database script', (tx) => tx.exec(sql)),
    };
  };
  return {
    kind: 'postgres',
    pool,
    ...guard.wrap(single(undefined), ['query', 'exec'], 'db'),
    transaction: (work) => {
      guard.check('db.transaction');
      return withConnection((client) => transaction(client, work));
    },
    withSession: (work) => {
      guard.check('db.withSession');
      return withConnection((client) =>
        work({
          kind: 'postgres',
          ...guard.wrap(single(client), ['query', 'exec'], 'session'),
          transaction: (inner) => {
            guard.check('session.transaction');
            return transaction(client, inner);
          },
          close: () => Promise.resolve(),
        }),
      );
    },
    get prisma() {
      return prisma.get();
    },
    waitingForConnection: () => pool.waitingCount,
    close: async () => {
      await prisma.disconnect();
      await pool.end();
    },
  };
}

/** Commands whose row count PGlite reports as `affectedRows` (it reports 0 for the rest). */
const COUNTED = new Set(['INSERT', 'UPDATE', 'DELETE', 'COPY', 'MERGE']);

function queryable(target: pg.Pool | PoolClient): Queryable {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result: PgQueryResult = await target.query(sql, [...params]).catch(rethrow);
      return {
        rows: result.rows as R[],
        affectedRows: COUNTED.has(result.command) ? (result.rowCount ?? 0) : 0,
      };
    },
    async exec(sql: string): Promise<void> {
      // No parameters: the simple query protocol, which runs several statements in one call.
      await target.query(sql).catch(rethrow);
    },
  };
}

async function runTransaction<T>(
  client: PoolClient,
  begin: string,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const tx = queryable(client);
  await tx.exec(begin);
  try {
    const result = await work(tx);
    await tx.exec('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * The pool as Prisma's adapter sees it: `query` runs in a scoped transaction of its own; a connection
 * from `connect` (Prisma's interactive and batch transactions) sets the scope of the flow that took it
 * right after Prisma's BEGIN.
 */
function scopedPrismaPool(
  pool: pg.Pool,
  begin: (scope: DataScope) => string,
  single: <T>(scope: DataScope, work: (client: PoolClient) => Promise<T>) => Promise<T>,
): pg.Pool {
  const overrides = {
    query: async (config: unknown, values?: unknown) => {
      const scope = requireScope('A database statement');
      return single(scope, (client) =>
        (client.query as (config: unknown, values?: unknown) => Promise<unknown>)(config, values),
      );
    },
    connect: async () => {
      const scope = requireScope('A database transaction');
      const client = await pool.connect();
      const query = client.query.bind(client) as (config: unknown, values?: unknown) => Promise<unknown>;
      return new Proxy(client, {
        get: (target, property) => {
          if (property === 'query') {
            return async (config: unknown, values?: unknown) => {
              const text = typeof config === 'string' ? config : (config as { text?: string })?.text;
              if (text?.trim().toUpperCase() !== 'BEGIN') return query(config, values);
              return query(begin(scope));
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function'
            ? (value as (...args: unknown[]) => unknown).bind(target)
            : value;
        },
      });
    },
  };
  return new Proxy(pool, {
    get: (target, property) => {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof typeof overrides];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function ensureVector(pool: pg.Pool, target: string): Promise<void> {
  const { rows } = await pool.query("SELECT 1 FROM pg_extension WHERE extname = 'vector'");
  if (rows.length > 0) return;
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
  } catch (error) {
    throw new HbiError(
      'CONFIG_INVALID',
      `pgvector is not enabled in ${target} and this role may not enable it: as a superuser run ` +
        `CREATE EXTENSION vector in that database (or in template1 before creating it)`,
      { cause: error },
    );
  }
}

/**
 * Result parsing as PGlite does it (its `types.ts` and `_initArrayTypes`): integers and floats as
 * numbers, int8 as a number when it is a safe integer (else a bigint), json/jsonb parsed, bool, dates
 * as Date, bytea as Uint8Array, arrays of any type known at open as arrays of their parsed elements,
 * everything else (numeric, uuid, vector, interval, …) as the server's text.
 */
function pgliteTypes(arrayElements: ReadonlyMap<number, number>): pg.CustomTypesConfig {
  const parserOf = (oid: number): ((text: string) => unknown) => {
    if (NUMBER_OIDS.has(oid)) return Number;
    switch (oid) {
      case 20: // int8
        return (text) => {
          const value = BigInt(text);
          return value < Number.MIN_SAFE_INTEGER || value > Number.MAX_SAFE_INTEGER ? value : Number(value);
        };
      case 114: // json
      case 3802: // jsonb
        return (text) => JSON.parse(text) as unknown;
      case 16: // bool
        return (text) => text === 't';
      case 1082: // date
      case 1114: // timestamp
      case 1184: // timestamptz
        return (text) => new Date(text);
      case 17: // bytea, hex output
        return (text) => new Uint8Array(Buffer.from(text.slice(2), 'hex'));
    }
    const element = arrayElements.get(oid);
    if (element === undefined) return (text) => text;
    const parseElement = parserOf(element);
    return (text) => parseArrayLiteral(text, parseElement, oid === BOX_ARRAY ? ';' : ',');
  };
  return {
    getTypeParser: ((oid: number, format?: string) =>
      format === 'binary'
        ? (value: unknown) => value
        : parserOf(oid)) as pg.CustomTypesConfig['getTypeParser'],
  };
}

const NUMBER_OIDS = new Set([21, 23, 26, 700, 701]); // int2, int4, oid, float4, float8
/** box[]: the one array type whose elements are separated by `;`. */
const BOX_ARRAY = 1020;

/** Every array type and its element type, as PGlite reads them when it opens. */
async function readArrayTypes(pool: pg.Pool, into: Map<number, number>): Promise<void> {
  const { rows } = await pool.query<{ oid: number; typarray: number }>(
    `SELECT b.oid, b.typarray FROM pg_catalog.pg_type a
     LEFT JOIN pg_catalog.pg_type b ON b.oid = a.typelem
     WHERE a.typcategory = 'A' GROUP BY b.oid, b.typarray`,
  );
  for (const { oid, typarray } of rows) if (oid !== null && typarray) into.set(Number(typarray), Number(oid));
}

/** Parses a PostgreSQL array literal such as `{1,NULL,"a \\"b"}` or `{{1,2},{3,4}}`. */
export function parseArrayLiteral(
  text: string,
  parseElement: (text: string) => unknown,
  delimiter = ',',
): unknown[] {
  let at = text.indexOf('{');
  const list = (): unknown[] => {
    const items: unknown[] = [];
    at++; // past '{'
    if (text[at] === '}') {
      at++;
      return items;
    }
    while (at < text.length) {
      if (text[at] === '{') {
        items.push(list());
      } else if (text[at] === '"') {
        let value = '';
        for (at++; at < text.length && text[at] !== '"'; at++) value += text[text[at] === '\\' ? ++at : at];
        at++;
        items.push(parseElement(value));
      } else {
        const start = at;
        while (at < text.length && text[at] !== delimiter && text[at] !== '}') at++;
        const raw = text.slice(start, at);
        items.push(raw === 'NULL' ? null : parseElement(raw));
      }
      if (text[at++] !== delimiter) break; // '}' closes this list
    }
    return items;
  };
  return list();
}

/**
 * Statement errors pass through unchanged (callers read their SQLSTATE `code`, as with PGlite); a lost
 * or refused connection becomes UNAVAILABLE, which handlers retry.
 */
function rethrow(error: unknown): never {
  if (isConnectionError(error)) throw databaseUnavailable(error, 'PostgreSQL connection failed');
  throw error;
}

/** Unreachable is UNAVAILABLE (retriable); bad credentials or a missing database CONFIG_INVALID. */
function databaseError(error: unknown, message: string): HbiError {
  if (error instanceof HbiError) return error;
  const raw = (error as { code?: unknown })?.code;
  const code = typeof raw === 'string' ? raw : '';
  // No SQLSTATE: the server was never reached (refused, timed out, DNS).
  if (isConnectionError(error) || !/^[0-9A-Z]{5}$/.test(code)) return databaseUnavailable(error, message);
  const detail = `${message}: ${(error as Error)?.message ?? String(error)}`;
  const refused = code.startsWith('28') || code === '3D000';
  return new HbiError(refused ? 'CONFIG_INVALID' : 'INTERNAL', detail, { cause: error });
}

/** `host:port/database` of a URL, for messages: never the password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}
