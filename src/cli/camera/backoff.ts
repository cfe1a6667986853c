/**
 * Exponential back-off with jitter, for reconnecting to a dropped source and retrying uploads while
 * the platform is away: each failure doubles the wait up to a ceiling, success starts over, and a
 * random share of each wait spreads many agents restarting at once.
 */

export interface BackoffOptions {
  /** First wait, in ms. */
  initialMs: number;
  /** Longest wait, in ms. */
  maxMs: number;
  /** Growth per failure (2 = doubling). */
  factor?: number;
  /** Share of each wait (0–1) replaced by a random amount, so agents do not retry in lock-step. */
  jitter?: number;
  /** A number in [0, 1); replaceable in tests. */
  random?: () => number;
}

export class Backoff {
  readonly #options: Required<BackoffOptions>;
  #failures = 0;

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError('Backoff needs 0 < initialMs <= maxMs');
    }
    this.#options = { factor: 2, jitter: 0.2, random: Math.random, ...options };
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** The wait before the next attempt, counting one more failure. */
  next(): number {
    const { initialMs, maxMs, factor, jitter, random } = this.#options;
    const base = Math.min(maxMs, initialMs * factor ** this.#failures);
    this.#failures++;
    return Math.round(base * (1 - jitter) + base * jitter * random());
  }

  /** After a success: the next failure waits `initialMs` again. */
  reset(): void {
    this.#failures = 0;
  }
}

export { sleep } from '../../core/util/sleep.js';
