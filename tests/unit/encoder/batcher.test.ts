import { describe, expect, it } from 'vitest';

import { DynamicBatcher } from '../../../src/core/encoder/batcher.js';
import { HbiError } from '../../../src/core/errors.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recordingBatcher(options: {
  maxBatchSize: number;
  maxDelayMs: number;
  queueLimit?: number;
  runMs?: number;
}) {
  const batches: number[][] = [];
  const batcher = new DynamicBatcher<number, number>(
    { name: 'test', queueLimit: 100, ...options },
    async (items) => {
      batches.push([...items]);
      if (options.runMs) await sleep(options.runMs);
      return items.map((item) => item * 10);
    },
  );
  return { batcher, batches };
}

describe('DynamicBatcher', () => {
  it('runs a full batch at once without waiting for the delay', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 3, maxDelayMs: 10_000 });
    const results = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('runs a partial batch once the oldest request has waited maxDelayMs', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 8, maxDelayMs: 20 });
    const started = Date.now();
    expect(await Promise.all([batcher.submit(1), batcher.submit(2)])).toEqual([10, 20]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(batches).toEqual([[1, 2]]);
  });

  it('never exceeds maxBatchSize and keeps arrival order', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 2, maxDelayMs: 0 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    expect(batches.flat()).toEqual([1, 2, 3, 4, 5]);
    expect(Math.max(...batches.map((batch) => batch.length))).toBeLessThanOrEqual(2);
  });

  it('collects requests that arrive while a batch runs into the next batch', async () => {
    const { batcher, batches } = recordingBatcher({ maxBatchSize: 16, maxDelayMs: 0, runMs: 30 });
    const first = batcher.submit(1);
    await sleep(5);
    const rest = [2, 3, 4].map((n) => batcher.submit(n));
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('refuses requests past the queue limit with a retriable ENCODER_OVERLOADED', async () => {
    const { batcher } = recordingBatcher({ maxBatchSize: 1, maxDelayMs: 0, queueLimit: 2, runMs: 20 });
    const accepted = [batcher.submit(1)];
    await sleep(1); // the first is now in flight, not queued
    accepted.push(batcher.submit(2), batcher.submit(3));
    const refused = await batcher.submit(4).catch((error: HbiError) => error);
    expect(refused).toBeInstanceOf(HbiError);
    expect((refused as HbiError).code).toBe('ENCODER_OVERLOADED');
    expect((refused as HbiError).retriable).toBe(true);
    expect(await Promise.all(accepted)).toEqual([10, 20, 30]);
  });

  it('settles each request with its own result or error', async () => {
    const batcher = new DynamicBatcher<number, number>(
      { name: 'test', maxBatchSize: 4, maxDelayMs: 0, queueLimit: 10 },
      async (items) => items.map((n) => (n < 0 ? new HbiError('BAD_USER_INPUT', `negative ${n}`) : n)),
    );
    const results = await Promise.allSettled([1, -2, 3].map((n) => batcher.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('negative -2');
  });

  it('fails every request of a batch whose function throws, and keeps serving afterwards', async () => {
    let calls = 0;
    const batcher = new DynamicBatcher<number, number>(
      { name: 'test', maxBatchSize: 2, maxDelayMs: 50, queueLimit: 10 },
      async (items) => {
        if (calls++ === 0) throw new Error('runtime crashed');
        return [...items];
      },
    );
    const failed = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(
      failed.every((r) => r.status === 'rejected' && (r.reason as HbiError).code === 'INFERENCE_FAILED'),
    ).toBe(true);
    expect(await batcher.submit(3)).toBe(3);
  });

  it('never mixes requests with different keys in one batch', async () => {
    const batches: string[][] = [];
    const batcher = new DynamicBatcher<string, string>(
      { name: 'test', maxBatchSize: 8, maxDelayMs: 5, queueLimit: 10, keyOf: (item) => item[0]! },
      async (items) => {
        batches.push([...items]);
        return [...items];
      },
    );
    await Promise.all(['a1', 'b1', 'a2', 'b2'].map((item) => batcher.submit(item)));
    // How the items group depends on timers on a busy machine; that no batch mixes keys does not.
    for (const batch of batches) expect(new Set(batch.map((item) => item[0])).size).toBe(1);
    expect(batches.flat().sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('on close rejects queued requests with the reason and lets the batch in flight finish', async () => {
    const { batcher } = recordingBatcher({ maxBatchSize: 1, maxDelayMs: 0, runMs: 20 });
    const inFlight = batcher.submit(1);
    await sleep(1);
    const queued = batcher.submit(2).catch((error: unknown) => error);
    const reason = new HbiError('MODEL_NOT_READY', 'shutting down');
    await batcher.close(reason);
    expect(await inFlight).toBe(10);
    expect(await queued).toBe(reason);
    await expect(batcher.submit(3)).rejects.toBe(reason);
  });
});
