import { describe, expect, it } from 'vitest';

import { Backoff, sleep } from '../../../src/cli/camera/backoff.js';

describe('Backoff', () => {
  it('doubles each wait up to the ceiling and starts over after a success', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoff.failures).toBe(6);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it('replaces a share of each wait with a random amount, never exceeding the computed wait', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.5, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.5, random: () => 0.999 });
    expect(low.next()).toBe(500);
    expect(high.next()).toBeLessThanOrEqual(1000);
    expect(high.next()).toBeGreaterThan(1900);
  });

  it('refuses settings that cannot back off', () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
  });

  it('sleep ends early, without throwing, when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await sleep(10_000, controller.signal);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
