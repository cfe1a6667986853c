import { afterEach, describe, expect, it, vi } from 'vitest';

import { whileHeartbeating } from '../../../src/core/events/kafka.js';

describe('heartbeats while a Kafka handler runs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('beats every interval while the handler works, and stops when it ends', async () => {
    vi.useFakeTimers();
    let beats = 0;
    const errors: unknown[] = [];
    let finish!: (value: string) => void;
    const running = whileHeartbeating(
      async () => {
        beats++;
        if (beats === 2) throw new Error('rebalance in progress');
      },
      3_000,
      () => new Promise<string>((resolve) => (finish = resolve)),
      (error) => errors.push(error),
    );
    // A handler running for 10 minutes (past any session timeout) keeps its member alive.
    await vi.advanceTimersByTimeAsync(600_000);
    expect(beats).toBe(200);
    expect(errors).toHaveLength(1);
    finish('done');
    expect(await running).toBe('done');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(beats).toBe(200);
  });

  it('stops beating when the handler throws, passing its error on', async () => {
    vi.useFakeTimers();
    let beats = 0;
    const failing = whileHeartbeating(
      async () => void beats++,
      1_000,
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        throw new Error('job failed');
      },
      () => undefined,
    );
    const outcome = expect(failing).rejects.toThrow('job failed');
    await vi.advanceTimersByTimeAsync(10_000);
    await outcome;
    expect(beats).toBe(2);
  });
});
