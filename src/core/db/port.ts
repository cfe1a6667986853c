/**
 * The database port: PostgreSQL-dialect SQL with positional parameters ($1, $2, …). The embedded
 * adapter is PGlite (with pgvector) in-process; the cluster adapter is a `pg` pool on PostgreSQL 15.
 * Both speak one dialect, so one migrations folder and one query path serve both.
 */

export interface QueryResult<R> {
  rows: R[];
  /** Rows inserted, updated or deleted, where the statement reports it. */
  affectedRows: number | undefined;
}

/** Anything that runs statements: the database itself or an open transaction. */
export interface Queryable {
  /** One statement with positional parameters. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** A script of statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: string;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Statements of this process waiting for a connection right now (a pool's queue); absent where
   * there is no pool (the embedded database). Gateways refuse new requests while it is long.
   */
  waitingForConnection?(): number;
  close(): Promise<void>;
}
