/**
 * Database outages as a kind of failure of their own. A job that loses its database mid-step (a
 * PostgreSQL restart, a fail-over, a network cut) has done nothing wrong: its worker waits for the
 * database to answer again and runs the job once more (every step is idempotent), instead of spending
 * the job's delivery attempts on an outage and leaving the row for the stale-job sweep.
 */
import { DATABASE_DEPENDENCY, HbiError, isDatabaseOutage } from '../errors.js';
import type { Database, Queryable } from './port.js';
import { inSystemScope } from './scope.js';
import { sleep } from '../util/sleep.js';

export { DATABASE_DEPENDENCY, isConnectionError, isDatabaseOutage } from '../errors.js';

/** The UNAVAILABLE error an adapter raises for a lost or refused connection. */
export function databaseUnavailable(error: unknown, message: string): HbiError {
  if (error instanceof HbiError) return error;
  return new HbiError('UNAVAILABLE', `${message}: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
    details: { dependency: DATABASE_DEPENDENCY },
  });
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

/**
 * Load shedding at the door: throws RATE_LIMITED (HTTP 429, retry after a second) when more than
 * `maxWaiting` statements of this process already wait for a database connection (0: never). A request
 * refused here has changed nothing; one let in could otherwise wait out the pool's connect timeout
 * halfway through its work and fail with UNAVAILABLE.
 */
export function refuseWhenDatabaseBusy(db: Pick<Database, 'waitingForConnection'>, maxWaiting: number): void {
  const waiting = db.waitingForConnection?.() ?? 0;
  if (maxWaiting > 0 && waiting > maxWaiting) {
    throw new HbiError(
      'RATE_LIMITED',
      `The server is busy: ${waiting} database statements are waiting for a connection (HBI_DB_MAX_WAITING=${maxWaiting}); retry after the time given`,
      { details: { retryAfterSeconds: 1, dependency: DATABASE_DEPENDENCY } },
    );
  }
}
