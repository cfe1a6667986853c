/**
 * A push-driven async iterator: producers `push` and `end`, one consumer iterates. Unlike an async
 * generator, `return()` (a client unsubscribing) takes effect at once even while the consumer waits,
 * and runs `onClose` so the producer can drop its listener.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  #ending = false;
  #closed = false;
  readonly #onClose: () => void;

  constructor(onClose: () => void = () => undefined) {
    this.#onClose = onClose;
  }

  /** Queues `item` for the consumer; ignored once the queue is closed. */
  push(item: T): void {
    if (this.#closed || this.#ending) return;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: item, done: false });
    } else this.#items.push(item);
  }

  /** No more items: the consumer gets the queued ones, then `done`. */
  end(): void {
    this.#ending = true;
    if (this.#items.length === 0) this.#close();
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) {
      if (this.#ending && this.#items.length === 0) this.#close();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.#items.length = 0;
    this.#close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    const resolve = this.#waiting;
    this.#waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }
}
