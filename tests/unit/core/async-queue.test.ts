import { describe, expect, it } from 'vitest';

import { AsyncQueue } from '../../../src/core/util/async-queue.js';

describe('AsyncQueue', () => {
  it('hands pushed items to a waiting or later consumer, then ends after the queued ones', async () => {
    const queue = new AsyncQueue<number>();
    const first = queue.next();
    queue.push(1);
    queue.push(2);
    queue.end();
    queue.push(3);
    expect(await first).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('closes at once on return(), releasing a waiting consumer and telling the producer', async () => {
    let closed = 0;
    const queue = new AsyncQueue<number>(() => closed++);
    const waiting = queue.next();
    await queue.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    queue.push(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    await queue.return();
    expect(closed).toBe(1);
  });
});
