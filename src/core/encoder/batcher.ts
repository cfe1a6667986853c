/**
 * A dynamic batcher: requests queue up and run together, as soon as a full batch is waiting or the
 * oldest request has waited `maxDelayMs`. The queue is bounded: past `queueLimit` a request is refused
 * at once with ENCODER_OVERLOADED (retriable) instead of growing memory and latency without bound.
 * Each request settles on its own: the batch function returns one result or one error per item.
 */
import { HbiError, toHbiError } from '../errors.js';

export interface BatcherOptions<I = never> {
  /** Names the queue in errors and logs (the graph name). */
  name: string;
  maxBatchSize: number;
  maxDelayMs: number;
  queueLimit: number;
  /** Requests with different keys never share a batch (e.g. different sequence lengths). */
  keyOf?: (item: I) => string;
}

/** Runs one batch; must return exactly one result or Error per item, in order. */
export type BatchFunction<I, O> = (items: readonly I[]) => Promise<readonly (O | Error)[]>;

interface Pending<I, O> {
  item: I;
  key: string;
  enqueuedAt: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class DynamicBatcher<I, O> {
  readonly #queue: Pending<I, O>[] = [];
  readonly #options: BatcherOptions<I>;
  readonly #run: BatchFunction<I, O>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed: HbiError | undefined;

  constructor(options: BatcherOptions<I>, run: BatchFunction<I, O>) {
    if (options.maxBatchSize < 1 || options.queueLimit < 1)
      throw new RangeError('maxBatchSize and queueLimit must be ≥ 1');
    this.#options = options;
    this.#run = run;
  }

  /** Requests waiting (not counting the batch in flight). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues one request; settles with its own result or error. */
  submit(item: I): Promise<O> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#queue.length >= this.#options.queueLimit) {
      return Promise.reject(
        new HbiError(
          'ENCODER_OVERLOADED',
          `The ${this.#options.name} queue is full (${this.#options.queueLimit} waiting); retry later`,
          {
            details: { graph: this.#options.name, queueLimit: this.#options.queueLimit },
          },
        ),
      );
    }
    return new Promise<O>((resolve, reject) => {
      const key = this.#options.keyOf?.(item) ?? '';
      this.#queue.push({ item, key, enqueuedAt: Date.now(), resolve, reject });
      this.#schedule();
    });
  }

  /** Refuses new requests, rejects queued ones with `reason`, and waits for the batch in flight. */
  async close(reason: HbiError): Promise<void> {
    this.#closed = reason;
    clearTimeout(this.#timer);
    for (const pending of this.#queue.splice(0)) pending.reject(reason);
    await this.#running;
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const head = this.#queue[0]!;
    const sameKey = this.#queue.filter((pending) => pending.key === head.key).length;
    const waited = Date.now() - head.enqueuedAt;
    if (sameKey >= this.#options.maxBatchSize || waited >= this.#options.maxDelayMs) {
      this.#running = this.#flush().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    } else {
      this.#timer = setTimeout(() => this.#schedule(), this.#options.maxDelayMs - waited);
    }
  }

  async #flush(): Promise<void> {
    const headKey = this.#queue[0]!.key;
    const batch: Pending<I, O>[] = [];
    for (let index = 0; index < this.#queue.length && batch.length < this.#options.maxBatchSize;) {
      if (this.#queue[index]!.key === headKey) batch.push(...this.#queue.splice(index, 1));
      else index++;
    }
    let results: readonly (O | Error)[];
    try {
      results = await this.#run(batch.map((pending) => pending.item));
      if (results.length !== batch.length) {
        throw new HbiError(
          'INTERNAL',
          `Batch function for ${this.#options.name} returned ${results.length} results for ${batch.length} items`,
        );
      }
    } catch (error) {
      const failure = toHbiError(error, 'INFERENCE_FAILED');
      for (const pending of batch) pending.reject(failure);
      return;
    }
    batch.forEach((pending, index) => {
      const result = results[index];
      if (result instanceof Error) pending.reject(result);
      else pending.resolve(result as O);
    });
  }
}
