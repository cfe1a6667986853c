/**
 * Streams one job's changes to its subscribers (`jobProgress`). One bus subscription per process (its
 * own consumer group, new messages only) fans `job.updated` out to the local watchers of each job. A
 * watch starts with the job's current row, so a subscriber that arrives late still sees the final
 * state, and it ends right after a finished state.
 */
import { HbiError } from '../errors.js';
import type { EventBus, Subscription } from '../events/port.js';
import { AsyncQueue } from '../util/async-queue.js';
import type { JobRecord, JobStore, JobUpdatedEvent } from './job-store.js';
import { JOB_UPDATED, fromJobEvent, isFinished } from './job-store.js';

type Listener = (job: JobRecord) => void;

export class JobWatcher {
  readonly #store: Pick<JobStore, 'get'>;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #open = new Set<AsyncQueue<JobRecord>>();
  #subscription: Subscription | undefined;

  private constructor(store: Pick<JobStore, 'get'>) {
    this.#store = store;
  }

  /** Subscribes to `job.updated` under `group` (unique per process) and returns the watcher. */
  static async start(events: EventBus, store: Pick<JobStore, 'get'>, group: string): Promise<JobWatcher> {
    const watcher = new JobWatcher(store);
    watcher.#subscription = await events.subscribe<JobUpdatedEvent>({
      topics: [JOB_UPDATED],
      group,
      fromBeginning: false,
      handler: (message) => {
        const job = fromJobEvent(message.value);
        for (const listener of watcher.#listeners.get(job.id) ?? []) listener(job);
        return Promise.resolve();
      },
    });
    return watcher;
  }

  /**
   * The job's states from now on: its current row first, then each change, ending after a finished
   * state. NOT_FOUND when the tenant has no such job. Ending the iterator early unsubscribes.
   */
  async watch(tenantId: string, jobId: string): Promise<AsyncIterableIterator<JobRecord>> {
    let last: JobRecord | undefined;
    const listeners = this.#listeners.get(jobId) ?? new Set<Listener>();
    const queue = new AsyncQueue<JobRecord>(() => {
      this.#open.delete(queue);
      listeners.delete(deliver);
      if (listeners.size === 0) this.#listeners.delete(jobId);
    });
    const deliver: Listener = (job) => {
      if (job.tenantId !== tenantId || (last && !isNewer(job, last))) return;
      last = job;
      queue.push(job);
      if (isFinished(job.status)) queue.end();
    };
    // Listen before reading the row, so no change between the read and the first event is lost.
    listeners.add(deliver);
    this.#listeners.set(jobId, listeners);
    this.#open.add(queue);
    const current = await this.#store.get(tenantId, jobId).catch((error: unknown) => {
      void queue.return();
      throw error;
    });
    if (!current) {
      void queue.return();
      throw new HbiError('NOT_FOUND', `Job ${jobId} not found`, { details: { id: jobId } });
    }
    deliver(current);
    return queue;
  }

  /** Leaves the bus; open watches end. */
  async stop(): Promise<void> {
    await this.#subscription?.stop();
    for (const queue of [...this.#open]) await queue.return();
  }
}

/** True when `job` is a later state than `last` (updates of one job arrive in order, reads may race them). */
function isNewer(job: JobRecord, last: JobRecord): boolean {
  if (isFinished(last.status)) return false;
  const age = job.updatedAt.getTime() - last.updatedAt.getTime();
  if (age !== 0) return age > 0;
  return (
    job.status !== last.status ||
    job.doneSteps > last.doneSteps ||
    job.totalSteps !== last.totalSteps ||
    job.videoId !== last.videoId
  );
}
