/**
 * A process-wide limit on video decodes running at once (HBI_MAX_CONCURRENT_DECODES). Each decode is one
 * ffmpeg process that uses several cores by itself; without a limit, a burst of uploads starts as many
 * decoders as there are jobs and they all slow down together. Decodes past the limit wait their turn
 * (first come, first served).
 */
import os from 'node:os';

export class DecodeSlots {
  #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  get limit(): number {
    return this.#limit;
  }

  /** Decodes running now. */
  get active(): number {
    return this.#active;
  }

  /** Decodes waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Changes the limit; decodes already running keep their slots, waiting ones start if there is room. */
  setLimit(limit: number): void {
    this.#limit = Math.max(1, Math.floor(limit));
    this.#wake();
  }

  /** Runs `work` once a slot is free and frees it when `work` settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active += 1;
    }
    try {
      return await work();
    } finally {
      this.#active -= 1;
      this.#wake();
    }
  }

  #wake(): void {
    while (this.#active < this.#limit && this.#waiting.length > 0) {
      this.#active += 1;
      this.#waiting.shift()!();
    }
  }
}

/** The default limit: half the CPU cores (ffmpeg decodes with several threads), at least 1. */
export function defaultDecodeLimit(cores: number = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}

const shared = new DecodeSlots(defaultDecodeLimit());

/**
 * The process's decode slots, limited to `setting` (HBI_MAX_CONCURRENT_DECODES; 0 = the default). Every
 * ingestor of the process shares them; the last setting applied wins.
 */
export function processDecodeSlots(setting: number): DecodeSlots {
  shared.setLimit(setting > 0 ? setting : defaultDecodeLimit());
  return shared;
}
