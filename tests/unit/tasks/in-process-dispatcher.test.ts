import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { HbiError } from '../../../src/core/errors.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type {
  AnyTask,
  TaskContext,
  TaskDefinition,
  TaskItem,
} from '../../../src/core/plugins/define-plugin.js';
import { defineTask, handleEach } from '../../../src/core/plugins/define-plugin.js';
import type { InProcessDispatcherOptions } from '../../../src/core/tasks/in-process.js';
import type { TaskRunOptions } from '../../../src/core/tasks/port.js';
import { InProcessTaskDispatcher } from '../../../src/core/tasks/in-process.js';
import { fakeServices } from '../../helpers/fake-services.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TENANT = '00000000-0000-4000-8000-000000000001';
const contextFor = (tenantId: string) =>
  ({ ...fakeServices(), config: {}, tenantId }) as unknown as TaskContext;

/**
 * A dispatcher over `handlers`, recording the batches each kind's handler received. Its `run` sends
 * every item for TENANT unless the options name another tenant.
 */
function dispatcherFor(handlers: Record<string, AnyTask>, options: Partial<InProcessDispatcherOptions> = {}) {
  const logger = createMemoryLogger();
  const inner = new InProcessTaskDispatcher({
    route: (kind) => (handlers[kind] ? { handler: handlers[kind], context: contextFor } : undefined),
    kinds: Object.keys(handlers),
    logger,
    ...options,
  });
  const dispatcher = {
    kinds: inner.kinds,
    run: <O = unknown>(kind: string, input: unknown, options: Partial<TaskRunOptions> = {}) =>
      inner.run(kind, input, { tenantId: TENANT, ...options }) as Promise<O>,
    close: () => inner.close(),
  };
  return { dispatcher, inner, logger };
}

/** Doubles numbers; a negative number fails its own item. */
function doubler(batches: number[][], extra: Partial<TaskDefinition<number, number>> = {}) {
  return defineTask<number, number>({
    kind: 'math.double',
    input: z.number(),
    maxBatchSize: 4,
    async handle(batch: readonly TaskItem<number>[]) {
      batches.push(batch.map((item) => item.input));
      return handleEach(batch, async (n) => {
        if (n < 0) throw new HbiError('BAD_USER_INPUT', `negative: ${n}`);
        return n * 2;
      });
    },
    ...extra,
  });
}

describe('InProcessTaskDispatcher', () => {
  it('micro-batches concurrent items of one kind up to the handler’s maxBatchSize', async () => {
    const batches: number[][] = [];
    // A generous delay, so a busy machine cannot flush a partial batch while the six are submitted.
    const { dispatcher } = dispatcherFor({ 'math.double': doubler(batches) }, { maxDelayMs: 100 });
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => dispatcher.run<number>('math.double', n)),
    );
    expect(results).toEqual([2, 4, 6, 8, 10, 12]);
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('runs a partial batch once the oldest item has waited maxDelayMs', async () => {
    const batches: number[][] = [];
    const { dispatcher } = dispatcherFor({ 'math.double': doubler(batches) }, { maxDelayMs: 20 });
    const started = Date.now();
    expect(await dispatcher.run('math.double', 7)).toBe(14);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(batches).toEqual([[7]]);
  });

  it('fails only the item whose handler outcome is an error, with that item’s own error', async () => {
    const batches: number[][] = [];
    const { dispatcher } = dispatcherFor({ 'math.double': doubler(batches) }, { maxDelayMs: 50 });
    const results = await Promise.allSettled([1, -1, 3].map((n) => dispatcher.run('math.double', n)));
    expect(results[0]).toEqual({ status: 'fulfilled', value: 2 });
    expect(results[1]).toMatchObject({
      status: 'rejected',
      reason: { code: 'BAD_USER_INPUT', message: 'negative: -1' },
    });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 6 });
    expect(batches).toEqual([[1, -1, 3]]);
  });

  it('validates each item against the handler’s input schema before it joins a batch', async () => {
    const batches: number[][] = [];
    const { dispatcher } = dispatcherFor({ 'math.double': doubler(batches) });
    const results = await Promise.allSettled([
      dispatcher.run('math.double', 'two'),
      dispatcher.run('math.double', 2),
    ]);
    expect(results[0]).toMatchObject({
      status: 'rejected',
      reason: { code: 'BAD_USER_INPUT', details: { kind: 'math.double' } },
    });
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/^Invalid math\.double task: /);
    expect(results[1]).toEqual({ status: 'fulfilled', value: 4 });
    expect(batches).toEqual([[2]]);
  });

  it('hands the handler the parsed input, defaults applied', async () => {
    const seen: unknown[] = [];
    const { dispatcher } = dispatcherFor({
      'echo.say': defineTask({
        kind: 'echo.say',
        input: z.object({ text: z.string(), times: z.number().default(2) }),
        handle: async (batch) => {
          seen.push(...batch.map((item) => item.input));
          return handleEach(batch, async (input) => input.text.repeat(input.times));
        },
      }),
    });
    expect(await dispatcher.run('echo.say', { text: 'ab' })).toBe('abab');
    expect(seen).toEqual([{ text: 'ab', times: 2 }]);
  });

  it('answers an unknown kind with TASK_UNKNOWN naming the known ones', async () => {
    const { dispatcher } = dispatcherFor({ 'math.double': doubler([]) });
    await expect(dispatcher.run('math.triple', 1)).rejects.toMatchObject({
      code: 'TASK_UNKNOWN',
      details: { kind: 'math.triple', known: ['math.double'] },
    });
    expect(dispatcher.kinds).toEqual(['math.double']);
  });

  it('fails a whole batch (and only it) when the handler throws or miscounts, and logs it', async () => {
    let calls = 0;
    const { dispatcher, logger } = dispatcherFor({
      'flaky.run': defineTask<number, number>({
        kind: 'flaky.run',
        maxBatchSize: 2,
        async handle(batch) {
          calls++;
          if (calls === 1) throw new Error('boom');
          if (calls === 2) return [{ ok: true, value: 1 }];
          return batch.map((item) => ({ ok: true as const, value: item.input }));
        },
      }),
    });
    const first = await Promise.allSettled([dispatcher.run('flaky.run', 1), dispatcher.run('flaky.run', 2)]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((first[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'INTERNAL' });
    const second = await Promise.allSettled([dispatcher.run('flaky.run', 3), dispatcher.run('flaky.run', 4)]);
    expect((second[0] as PromiseRejectedResult).reason.message).toMatch(/returned 1 outcomes for 2 items/);
    expect(await dispatcher.run('flaky.run', 5)).toBe(5);
    expect(logger.records.filter((r) => r.message === 'task batch failed as a whole')).toHaveLength(2);
  });

  it('passes inputs, outputs and errors through JSON, as the cluster task bus will', async () => {
    const { dispatcher } = dispatcherFor({
      'clock.echo': defineTask({
        kind: 'clock.echo',
        handle: async (batch: readonly TaskItem<unknown>[]) =>
          batch.map((item) =>
            item.input === 'fail'
              ? {
                  ok: false as const,
                  error: new HbiError('NOT_FOUND', 'gone', { details: { at: new Date(0) } }),
                }
              : { ok: true as const, value: { got: item.input, at: new Date(0), skip: undefined } },
          ),
      }),
    });
    expect(await dispatcher.run('clock.echo', { when: new Date(0) })).toEqual({
      got: { when: '1970-01-01T00:00:00.000Z' },
      at: '1970-01-01T00:00:00.000Z',
    });
    const error = await dispatcher.run('clock.echo', 'fail').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'NOT_FOUND',
      message: 'gone',
      details: { at: '1970-01-01T00:00:00.000Z' },
    });
    await expect(dispatcher.run('clock.echo', { n: 1n })).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('refuses items past the queue limit with UNAVAILABLE (retriable)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { dispatcher } = dispatcherFor(
      {
        'slow.run': defineTask<number, number>({
          kind: 'slow.run',
          async handle(batch) {
            await gate;
            return batch.map((item) => ({ ok: true as const, value: item.input }));
          },
        }),
      },
      { queueLimit: 2, concurrency: 1 },
    );
    const running = dispatcher.run('slow.run', 1);
    await sleep(5);
    const queued = [dispatcher.run('slow.run', 2), dispatcher.run('slow.run', 3)];
    await expect(dispatcher.run('slow.run', 4)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
    });
    release();
    expect(await Promise.all([running, ...queued])).toEqual([1, 2, 3]);
  });

  it('runs up to `concurrency` batches of one kind at once', async () => {
    let active = 0;
    let peak = 0;
    const { dispatcher } = dispatcherFor(
      {
        'slow.run': defineTask<number, number>({
          kind: 'slow.run',
          async handle(batch) {
            active++;
            peak = Math.max(peak, active);
            await sleep(20);
            active--;
            return batch.map((item) => ({ ok: true as const, value: item.input }));
          },
        }),
      },
      { concurrency: 3 },
    );
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => dispatcher.run('slow.run', n)));
    expect(peak).toBe(3);
  });

  it('stops waiting after timeoutMs with TIMEOUT, and drops the item if it had not started', async () => {
    const seen: number[] = [];
    const { dispatcher } = dispatcherFor(
      {
        'slow.run': defineTask<number, number>({
          kind: 'slow.run',
          async handle(batch) {
            seen.push(...batch.map((item) => item.input));
            await sleep(40);
            return batch.map((item) => ({ ok: true as const, value: item.input }));
          },
        }),
      },
      { concurrency: 1 },
    );
    const [first, second] = await Promise.allSettled([
      dispatcher.run('slow.run', 1, { timeoutMs: 10 }),
      dispatcher.run('slow.run', 2, { timeoutMs: 10 }),
    ]);
    expect(first).toMatchObject({ status: 'rejected', reason: { code: 'TIMEOUT', retriable: true } });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'TIMEOUT' } });
    expect(await dispatcher.run('slow.run', 3)).toBe(3);
    expect(seen).toEqual([1, 3]);
  });

  it('on close fails queued items, lets running batches finish and refuses new items', async () => {
    const { dispatcher } = dispatcherFor(
      {
        'slow.run': defineTask<number, number>({
          kind: 'slow.run',
          async handle(batch) {
            await sleep(20);
            return batch.map((item) => ({ ok: true as const, value: item.input }));
          },
        }),
      },
      { concurrency: 1 },
    );
    const running = dispatcher.run('slow.run', 1);
    await sleep(5);
    const queued = dispatcher.run('slow.run', 2).catch((error: unknown) => error);
    await dispatcher.close();
    expect(await running).toBe(1);
    expect(await queued).toMatchObject({ code: 'UNAVAILABLE' });
    await expect(dispatcher.run('slow.run', 3)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('never mixes tenants in one batch and binds each batch’s context to its items’ tenant', async () => {
    const OTHER = '00000000-0000-4000-8000-000000000002';
    const seen: { tenant: string; inputs: number[] }[] = [];
    const { dispatcher } = dispatcherFor(
      {
        'math.tenant': defineTask<number, string>({
          kind: 'math.tenant',
          input: z.number(),
          maxBatchSize: 8,
          async handle(batch, context) {
            seen.push({ tenant: context.tenantId, inputs: batch.map((item) => item.input) });
            return batch.map((item) => ({ ok: true as const, value: `${context.tenantId}:${item.input}` }));
          },
        }),
      },
      { maxDelayMs: 100 },
    );
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => dispatcher.run('math.tenant', n, { tenantId: n % 2 ? TENANT : OTHER })),
    );
    expect(results).toEqual([`${TENANT}:1`, `${OTHER}:2`, `${TENANT}:3`, `${OTHER}:4`]);
    expect(seen).toEqual([
      { tenant: TENANT, inputs: [1, 3] },
      { tenant: OTHER, inputs: [2, 4] },
    ]);
  });

  it('refuses an item sent without a tenant', async () => {
    const { inner } = dispatcherFor({ 'math.double': doubler([]) });
    await expect(inner.run('math.double', 1, {} as TaskRunOptions)).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringContaining('without a tenant'),
    });
  });
});
