/**
 * Database outages as a kind of failure of their own. A job that loses its database mid-step (a
 * PostgreSQL restart, a fail-over, a network cut) has done nothing wrong: its worker waits for the
 * database to answer again and runs the job once more (every step is idempotent), instead of spending
 * the job's delivery attempts on an outage and leaving the row for the stale-job sweep.
 */
import { HbiError } from '../errors.js';
import type { Queryable } from './port.js';
import { inSystemScope } from './scope.js';

/** `details.dependency` of the UNAVAILABLE errors the database adapters raise for a lost connection. */
export const DATABASE_DEPENDENCY = 'database';

/** Prisma's codes for a server it cannot reach, a closed connection or an exhausted pool. */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/**
 * True for a connection that failed, not a statement: node-postgres and socket codes (`ECONNREFUSED`,
 * `ECONNRESET`, …), SQLSTATE classes 08 (connection exception) and 57P (operator intervention: the
 * server shutting down), Prisma's connection codes, and codeless errors for a connection that ended
 * ("Connection terminated …", "… not queryable").
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') {
    return (
      /^E[A-Z]+$/.test(code) ||
      code.startsWith('08') ||
      code.startsWith('57P') ||
      PRISMA_CONNECTION_CODES.has(code)
    );
  }
  return /connection terminated|not queryable|connection error|can't reach database server/i.test(
    (error as Error).message ?? '',
  );
}

/** The UNAVAILABLE error an adapter raises for a lost or refused connection. */
export function databaseUnavailable(error: unknown, message: string): HbiError {
  if (error instanceof HbiError) return error;
  return new HbiError('UNAVAILABLE', `${message}: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
    details: { dependency: DATABASE_DEPENDENCY },
  });
}

/**
 * True when `error`, or any error in its `cause` chain, says the database could not be reached: an
 * adapter's UNAVAILABLE for the database or a raw connection failure (Prisma wraps the driver's error).
 */
export function isDatabaseOutage(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof HbiError) {
      if (current.code === 'UNAVAILABLE' && current.details.dependency === DATABASE_DEPENDENCY) return true;
    } else if (isConnectionError(current)) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export interface WaitForDatabaseOptions {
  /** Gives up (returns false) at this time, in `Date.now()` milliseconds. */
  deadline: number;
  /** Gives up (returns false) when aborted: the process is stopping. */
  signal?: AbortSignal;
  /** First pause between probes; doubles up to `maxIntervalMs`. Default 500 ms. */
  intervalMs?: number;
  /** Default 5 000 ms. */
  maxIntervalMs?: number;
  /** Called after each failed probe (for a log line). */
  onProbeFailed?: (error: unknown, attempt: number) => void;
}

/**
 * Probes the database with `SELECT 1` until it answers (true), the deadline passes or the signal aborts
 * (false). A probe failure that is not an outage (bad credentials after a restart, say) is not waited
 * out: it is thrown, so the job fails with the real reason.
 */
export async function waitForDatabase(db: Queryable, options: WaitForDatabaseOptions): Promise<boolean> {
  let pause = options.intervalMs ?? 500;
  const maxPause = options.maxIntervalMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) return false;
    try {
      await inSystemScope('database availability probe', () => db.query('SELECT 1'));
      return true;
    } catch (error) {
      if (!isDatabaseOutage(error)) throw error;
      options.onProbeFailed?.(error, attempt);
    }
    const left = options.deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(pause, left), options.signal);
    pause = Math.min(pause * 2, maxPause);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
