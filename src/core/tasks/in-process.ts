/**
 * The embedded task dispatcher: items of one kind queue up and run through their plugin's batch
 * handler together, as soon as `maxBatchSize` items wait or the oldest has waited `maxDelayMs`
 * (concurrent GraphQL fields and requests share batches). Each item is validated against the
 * handler's `input` schema before it queues, so a bad item fails alone with BAD_USER_INPUT. Every
 * item settles with its own outcome; a handler that throws or miscounts fails only its own batch.
 * Queues are bounded per kind; up to `concurrency` batches of one kind run at once, so a slow item
 * (a long caption) does not hold up the next batch.
 */
import { randomUUID } from 'node:crypto';

import { HbiError, toHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TaskOutcome } from '../plugins/define-plugin.js';
import { isUuid } from '../util/ids.js';
import type { TaskDispatcher, TaskRoute, TaskRouter, TaskRunOptions } from './port.js';
import { decodeTaskError, encodeTaskError, throughWire } from './wire.js';

export interface InProcessDispatcherOptions {
  /** Finds each kind's handler and plugin context (the plugin registry, once started). */
  route: TaskRouter;
  /** The kinds `route` knows, for `kinds` and for logs. */
  kinds: readonly string[];
  logger: Logger;
  /** Longest an item waits for companions before a partial batch runs. Default 2 ms. */
  maxDelayMs?: number;
  /** Items waiting per kind before new ones are refused with UNAVAILABLE. Default 1024. */
  queueLimit?: number;
  /** Batches of one kind running at once. Default 4. */
  concurrency?: number;
  /** Waiting limit applied when `run` gives none; undefined waits as long as the item runs. */
  defaultTimeoutMs?: number;
  /** Pass inputs, outputs and errors through their wire form as the cluster bus will. Default true. */
  wireFormat?: boolean;
}

interface Pending {
  id: string;
  tenantId: string;
  input: unknown;
  enqueuedAt: number;
  /** False once the caller stopped waiting (timeout): the item is skipped if it has not started. */
  waiting: boolean;
  resolve: (value: unknown) => void;
  reject: (error: HbiError) => void;
}

interface KindQueue {
  route: TaskRoute;
  maxBatchSize: number;
  items: Pending[];
  running: number;
  timer: NodeJS.Timeout | undefined;
}

export class InProcessTaskDispatcher implements TaskDispatcher {
  readonly kinds: readonly string[];
  readonly #options: Required<Omit<InProcessDispatcherOptions, 'defaultTimeoutMs'>> &
    Pick<InProcessDispatcherOptions, 'defaultTimeoutMs'>;
  readonly #queues = new Map<string, KindQueue>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: InProcessDispatcherOptions) {
    this.#options = {
      ...options,
      maxDelayMs: options.maxDelayMs ?? 2,
      queueLimit: options.queueLimit ?? 1024,
      concurrency: options.concurrency ?? 4,
      wireFormat: options.wireFormat ?? true,
    };
    if (this.#options.queueLimit < 1 || this.#options.concurrency < 1 || this.#options.maxDelayMs < 0) {
      throw new RangeError('queueLimit and concurrency must be ≥ 1 and maxDelayMs ≥ 0');
    }
    this.kinds = Object.freeze([...options.kinds]);
  }

  run(kind: string, input: unknown, options: TaskRunOptions): Promise<unknown> {
    try {
      return this.#submit(kind, input, options);
    } catch (error) {
      return Promise.reject(toHbiError(error));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const reason = new HbiError('UNAVAILABLE', 'The task dispatcher is shutting down');
    for (const queue of this.#queues.values()) {
      clearTimeout(queue.timer);
      for (const pending of queue.items.splice(0)) pending.reject(reason);
    }
    await Promise.allSettled([...this.#inFlight]);
  }

  #submit(kind: string, raw: unknown, options: TaskRunOptions): Promise<unknown> {
    if (this.#closed) throw new HbiError('UNAVAILABLE', 'The task dispatcher is shutting down');
    if (!isUuid(options?.tenantId ?? '')) {
      throw new HbiError('INTERNAL', `Task ${kind} was sent without a tenant: every task runs for one`);
    }
    const queue = this.#queue(kind);
    const input = this.#options.wireFormat ? throughWire(raw, `The input of task ${kind}`) : raw;
    const parsed = queue.route.handler.input?.safeParse(input);
    if (parsed && !parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
      );
      throw new HbiError('BAD_USER_INPUT', `Invalid ${kind} task: ${problems.join('; ')}`, {
        details: { kind, problems },
      });
    }
    if (queue.items.length >= this.#options.queueLimit) {
      throw new HbiError(
        'UNAVAILABLE',
        `The ${kind} queue is full (${this.#options.queueLimit} waiting); retry later`,
        { details: { kind, queueLimit: this.#options.queueLimit } },
      );
    }
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = {
        id: randomUUID(),
        tenantId: options.tenantId,
        input: parsed ? parsed.data : input,
        enqueuedAt: Date.now(),
        waiting: true,
        resolve,
        reject,
      };
      const timeoutMs = options.timeoutMs ?? this.#options.defaultTimeoutMs;
      if (timeoutMs !== undefined) {
        const timer = setTimeout(() => {
          pending.waiting = false;
          const index = queue.items.indexOf(pending);
          if (index >= 0) queue.items.splice(index, 1);
          reject(
            new HbiError('TIMEOUT', `Task ${kind} did not finish within ${timeoutMs} ms`, {
              details: { kind, timeoutMs },
            }),
          );
        }, timeoutMs);
        const settle =
          <T>(done: (value: T) => void) =>
          (value: T) => {
            clearTimeout(timer);
            done(value);
          };
        pending.resolve = settle(resolve);
        pending.reject = settle(reject);
      }
      queue.items.push(pending);
      this.#schedule(kind, queue);
    });
  }

  #queue(kind: string): KindQueue {
    const existing = this.#queues.get(kind);
    if (existing) return existing;
    const route = this.#options.route(kind);
    if (!route) {
      throw new HbiError('TASK_UNKNOWN', `No loaded plugin handles task kind "${kind}"`, {
        details: { kind, known: [...this.kinds] },
      });
    }
    const queue: KindQueue = {
      route,
      maxBatchSize: route.handler.maxBatchSize ?? 1,
      items: [],
      running: 0,
      timer: undefined,
    };
    this.#queues.set(kind, queue);
    return queue;
  }

  #schedule(kind: string, queue: KindQueue): void {
    clearTimeout(queue.timer);
    queue.timer = undefined;
    while (queue.running < this.#options.concurrency && queue.items.length > 0) {
      const waited = Date.now() - queue.items[0]!.enqueuedAt;
      const full = queue.items.length >= queue.maxBatchSize || queue.maxBatchSize === 1;
      if (!full && waited < this.#options.maxDelayMs) {
        queue.timer = setTimeout(() => this.#schedule(kind, queue), this.#options.maxDelayMs - waited);
        return;
      }
      const batch = takeBatch(queue.items, queue.maxBatchSize);
      queue.running++;
      const running = this.#runBatch(kind, queue.route, batch).finally(() => {
        queue.running--;
        this.#inFlight.delete(running);
        if (!this.#closed) this.#schedule(kind, queue);
      });
      this.#inFlight.add(running);
    }
  }

  async #runBatch(kind: string, route: TaskRoute, batch: readonly Pending[]): Promise<void> {
    let outcomes: readonly TaskOutcome<unknown>[];
    try {
      outcomes = await route.handler.handle(
        batch.map((pending) => ({ id: pending.id, input: pending.input as never })),
        route.context(batch[0]!.tenantId),
      );
      const count: number | undefined = Array.isArray(outcomes) ? outcomes.length : undefined;
      if (count !== batch.length) {
        throw new HbiError(
          'INTERNAL',
          `Task ${kind} returned ${count ?? 'no'} outcomes for ${batch.length} items`,
        );
      }
    } catch (error) {
      const failure = toHbiError(error);
      this.#options.logger.error('task batch failed as a whole', {
        kind,
        items: batch.length,
        error: failure,
      });
      for (const pending of batch) pending.reject(failure);
      return;
    }
    batch.forEach((pending, index) => {
      if (!pending.waiting) return;
      const outcome = outcomes[index];
      try {
        if (outcome?.ok === true) pending.resolve(this.#wire(outcome.value, `The output of task ${kind}`));
        else pending.reject(this.#wireError(outcome?.ok === false ? outcome.error : undefined, kind));
      } catch (error) {
        pending.reject(toHbiError(error));
      }
    });
  }

  #wire(value: unknown, what: string): unknown {
    return this.#options.wireFormat ? throughWire(value, what) : value;
  }

  #wireError(error: unknown, kind: string): HbiError {
    const failure = toHbiError(error ?? new Error(`Task ${kind} returned a malformed outcome`));
    return this.#options.wireFormat ? decodeTaskError(encodeTaskError(failure), failure) : failure;
  }
}

/**
 * Removes and returns the next batch: the oldest item and up to `size − 1` more of the same tenant, in
 * queue order (a batch's capabilities are bound to one tenant; other tenants' items keep their places).
 */
function takeBatch(items: Pending[], size: number): Pending[] {
  const tenantId = items[0]!.tenantId;
  const batch: Pending[] = [];
  for (let i = 0; i < items.length && batch.length < size;) {
    if (items[i]!.tenantId === tenantId) batch.push(items.splice(i, 1)[0]!);
    else i++;
  }
  return batch;
}
