/**
 * Planner statistics for the segment tables on the embedded database. PGlite runs no autovacuum: until
 * someone runs ANALYZE its planner believes the tables are tiny and scans them instead of using the
 * HNSW index (803 ms instead of tens at 200 000 segments). This keeper does what autovacuum's analyse
 * step does on PostgreSQL: it counts the segment rows this process writes and, once they reach
 * `max(MIN_ROWS, FRACTION × rows at the last ANALYZE)`, analyses the tables in the background (one
 * run at a time, a second later so a bulk load is analysed once, not per statement). It also analyses
 * once at start. On PostgreSQL it does nothing: autovacuum keeps the statistics (its defaults analyse
 * a table after 10 % of it changed; see README, Cluster adapters).
 */
import type { Database } from '../db/port.js';
import { inOwnerScope } from '../db/scope.js';
import type { Logger } from '../logger.js';

/** Rows written before the first refresh; autovacuum's `autovacuum_analyze_threshold` is 50. */
const MIN_ROWS = 500;
/** Share of the table that must change, as autovacuum's `autovacuum_analyze_scale_factor`. */
const FRACTION = 0.1;
/** Writes arriving within this long are analysed together. */
const DEBOUNCE_MS = 1_000;

export class TableStatistics {
  readonly #db: Database;
  readonly #logger: Logger | undefined;
  #pending = 0;
  #rowsAtLastAnalyze = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(db: Database, logger?: Logger) {
    this.#db = db;
    this.#logger = logger;
  }

  /** Counts `rows` segment rows written; schedules a refresh once enough have changed. */
  wrote(rows: number): void {
    if (this.#db.kind !== 'pglite' || this.#closed) return;
    this.#pending += rows;
    if (this.#pending >= Math.max(MIN_ROWS, FRACTION * this.#rowsAtLastAnalyze)) this.refreshSoon();
  }

  /** Schedules one refresh (no-op when one is already scheduled). */
  refreshSoon(): void {
    if (this.#db.kind !== 'pglite' || this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#refresh();
    }, DEBOUNCE_MS);
    this.#timer.unref();
  }

  /** Resolves once nothing is scheduled or running. */
  async settled(): Promise<void> {
    while (this.#timer || this.#running) {
      if (this.#running) await this.#running;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #refresh(): Promise<void> {
    if (this.#running) {
      // One at a time: the rows written meanwhile are analysed by a run after this one.
      await this.#running;
      if (this.#pending > 0) this.refreshSoon();
      return;
    }
    const analysed = this.#pending;
    this.#pending = 0;
    this.#running = (async () => {
      try {
        const rows = await inOwnerScope('statistics', async () => {
          await this.#db.exec('ANALYZE "videos", "segments", "segment_embeddings"');
          const { rows: counted } = await this.#db.query<{ n: number }>(
            `SELECT reltuples::float8 AS "n" FROM pg_class WHERE relname = 'segment_embeddings'`,
          );
          return Math.max(0, Number(counted[0]?.n ?? 0));
        });
        this.#rowsAtLastAnalyze = rows;
        this.#logger?.debug('segment table statistics refreshed', { rows, writtenSince: analysed });
      } catch (error) {
        this.#pending += analysed;
        this.#logger?.warn('ANALYZE failed; search may scan instead of using the vector index', { error });
      }
    })();
    try {
      await this.#running;
    } finally {
      this.#running = undefined;
    }
  }
}
