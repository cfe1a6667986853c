/**
 * Admission control for the plugin tasks a gateway runs for requests (search, answer, caption, …). A
 * node serves a bounded number at once; a few more wait briefly for a free place, in arrival order;
 * past that, a request is refused at once with RATE_LIMITED (HTTP 429, retry after a second) instead of
 * queueing behind hundreds of others until it times out. Under overload clients see fast, retriable
 * refusals, and the requests admitted keep their latency.
 */
import { HbiError } from '../errors.js';
import type { TaskDispatcher } from './port.js';

export interface AdmissionSettings {
  /** Tasks running at once in this process. */
  maxInFlight: number;
  /** Tasks waiting for a place; more are refused at once. */
  maxWaiting: number;
  /** Longest a task waits for a place before it is refused. */
  maxWaitMs: number;
}

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

export class TaskAdmission {
  readonly #settings: AdmissionSettings;
  readonly #waiting: Waiter[] = [];
  #inFlight = 0;

  constructor(settings: AdmissionSettings) {
    this.#settings = settings;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `work` once admitted; RATE_LIMITED when the node is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  /** `dispatcher` with every run admitted first. */
  wrap<D extends Pick<TaskDispatcher, 'run'>>(dispatcher: D): D {
    return new Proxy(dispatcher, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (property !== 'run' || typeof value !== 'function') {
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return (...args: Parameters<TaskDispatcher['run']>) =>
          this.run(() => (value as TaskDispatcher['run']).apply(target, args));
      },
    });
  }

  #acquire(): Promise<void> {
    const { maxInFlight, maxWaiting, maxWaitMs } = this.#settings;
    if (this.#inFlight < maxInFlight && this.#waiting.length === 0) {
      this.#inFlight += 1;
      return Promise.resolve();
    }
    if (this.#waiting.length >= maxWaiting) return Promise.reject(busy(maxInFlight));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          this.#inFlight += 1;
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(busy(maxInFlight));
        }, maxWaitMs),
      };
      this.#waiting.push(waiter);
    });
  }

  #release(): void {
    this.#inFlight -= 1;
    const next = this.#waiting.shift();
    if (next) next.admit();
  }
}

function busy(maxInFlight: number): HbiError {
  return new HbiError(
    'RATE_LIMITED',
    `The server is at capacity (${maxInFlight} requests running): retry after 1 s`,
    { details: { retryAfterSeconds: 1, reason: 'capacity' } },
  );
}
