/**
 * The transactional outbox of `job.queued`. A job's message is written in the same statement as its
 * row (`jobs.request`, see JobStore.create/enqueue), so a job is never recorded without the work that
 * runs it, nor announced without a row. This relay hands unsent messages to the bus: it claims them
 * (`published_at` set in one UPDATE … FOR UPDATE SKIP LOCKED, so of several relays in a cluster one
 * publishes each), publishes, and on a passing bus failure releases the claim and tries again with
 * back-off. Requests kick it right after their commit; it also polls, for messages another process
 * wrote and could not send. A crash between claim and publish leaves the job QUEUED with
 * `published_at` set: the start-up sweep (`recoverInterrupted`) queues it again.
 */
import type { RelationalDatabase } from '../db/relational.js';
import { inSystemScope } from '../db/scope.js';
import { isRetriable, toPublicError } from '../errors.js';
import type { EventBus } from '../events/port.js';
import type { JobStore } from '../jobs/job-store.js';
import type { Logger } from '../logger.js';
import type { JobQueuedEvent } from './ingest-events.js';
import { JOB_QUEUED } from './ingest-events.js';

/** Back-off of re-sending while the bus is down: doubling from 1 s to 30 s. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** Messages claimed per round. */
const BATCH = 100;

export interface JobRelayOptions {
  db: Pick<RelationalDatabase, 'query'>;
  events: EventBus;
  jobs: Pick<JobStore, 'finish'>;
  logger: Logger;
  /** How often the outbox is looked at without a kick. Default 5 s. */
  pollMs?: number;
}

export class JobRelay {
  readonly #options: JobRelayOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #retryDelay = RETRY_FIRST_MS;
  #failing = false;
  #stopped = false;

  constructor(options: JobRelayOptions) {
    this.#options = options;
  }

  /** Starts polling and relays what is already waiting. */
  start(): void {
    this.kick();
  }

  /** Relays soon (a request just committed a message); coalesces with a round in progress. */
  kick(): void {
    if (this.#stopped || this.#failing) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  /** Relays every waiting message now; resolves when the outbox is empty or the bus refused. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
    await this.#round();
  }

  /** Stops relaying once the round in hand is done; unsent messages stay in the outbox. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#round(), ms);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    if (this.#running || this.#stopped) return;
    const round = (async () => {
      let next = this.#options.pollMs ?? 5_000;
      try {
        do {
          this.#again = false;
          while (!this.#stopped && (await this.#relayBatch()) === BATCH);
        } while (this.#again && !this.#stopped);
        // (The cluster's Kafka outage test looks for this line.)
        if (this.#failing) this.#options.logger.info('queued job handed to workers after the bus came back');
        this.#failing = false;
        this.#retryDelay = RETRY_FIRST_MS;
      } catch (error) {
        if (!this.#failing) {
          this.#options.logger.warn('job recorded but the event bus is down; re-sending it with back-off', {
            error,
          });
        }
        this.#failing = true;
        next = this.#retryDelay;
        this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
      }
      this.#schedule(next);
    })();
    this.#running = round;
    try {
      await round;
    } finally {
      this.#running = undefined;
    }
  }

  /** Claims up to BATCH unsent messages and publishes them; returns how many it claimed. */
  async #relayBatch(): Promise<number> {
    const { db, events, jobs, logger } = this.#options;
    return inSystemScope('job outbox relay', async () => {
      const { rows } = await db.query<{ id: string; request: JobQueuedEvent }>(
        `UPDATE "jobs" SET "published_at" = now()
          WHERE "id" IN (SELECT "id" FROM "jobs"
                          WHERE "status" = 'QUEUED' AND "request" IS NOT NULL AND "published_at" IS NULL
                          ORDER BY "created_at" LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING "id", "request"`,
        [BATCH],
      );
      if (rows.length === 0) return 0;
      // One video's jobs share a key (and so a partition, in order); a new upload has no video yet.
      const messages = rows.map(({ id, request }) => ({
        key: ('videoId' in request && request.videoId) || id,
        value: request,
      }));
      try {
        await events.publish<JobQueuedEvent>(JOB_QUEUED, messages);
      } catch (error) {
        const ids = rows.map((row) => row.id);
        if (isRetriable(error)) {
          await db.query(`UPDATE "jobs" SET "published_at" = NULL WHERE "id" = ANY($1::uuid[])`, [ids]);
          throw error;
        }
        // The bus refuses these messages for good: their jobs cannot run.
        logger.error('queued jobs cannot be handed to workers; they failed', { jobs: ids, error });
        for (const id of ids) await jobs.finish(id, { status: 'FAILED', error: toPublicError(error) });
      }
      return rows.length;
    });
  }
}
