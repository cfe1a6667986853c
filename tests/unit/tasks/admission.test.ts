/** Admission control: a bounded number of tasks run, a few wait in order, the rest are refused at once. */
import { describe, expect, it } from 'vitest';

import { TaskAdmission } from '../../../src/core/tasks/admission.js';
import type { TaskDispatcher } from '../../../src/core/tasks/port.js';

/** A task that runs until `finish()` is called. */
function blocked() {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { work: () => done, finish };
}

describe('TaskAdmission', () => {
  it('runs up to maxInFlight, admits waiters in order as places free, refuses past maxWaiting', async () => {
    const admission = new TaskAdmission({ maxInFlight: 2, maxWaiting: 2, maxWaitMs: 60_000 });
    const [a, b] = [blocked(), blocked()];
    const order: string[] = [];
    const running = [admission.run(a.work), admission.run(b.work)];
    expect(admission.inFlight).toBe(2);
    const c = admission.run(async () => void order.push('c'));
    const d = admission.run(async () => void order.push('d'));
    expect(admission.waiting).toBe(2);
    await expect(admission.run(async () => 'e')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retriable: true,
      details: { retryAfterSeconds: 1 },
    });
    a.finish();
    b.finish();
    await Promise.all([...running, c, d]);
    expect(order).toEqual(['c', 'd']);
    expect(admission.inFlight).toBe(0);
    expect(admission.waiting).toBe(0);
  });

  it('refuses a waiter whose wait ran out, and frees its place when a task fails', async () => {
    const admission = new TaskAdmission({ maxInFlight: 1, maxWaiting: 5, maxWaitMs: 20 });
    const a = blocked();
    const first = admission.run(a.work);
    await expect(admission.run(async () => 'late')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(admission.waiting).toBe(0);
    a.finish();
    await first;
    await expect(admission.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await admission.run(async () => 'next')).toBe('next');
    expect(admission.inFlight).toBe(0);
  });

  it('wraps a dispatcher so every run is admitted first', async () => {
    const admission = new TaskAdmission({ maxInFlight: 1, maxWaiting: 0, maxWaitMs: 0 });
    const a = blocked();
    const run: TaskDispatcher['run'] = (kind) => (kind === 'slow' ? a.work() : Promise.resolve(kind));
    const dispatcher = admission.wrap({ run });
    const slow = dispatcher.run('slow', {}, { tenantId: 'x' });
    await expect(dispatcher.run('fast', {}, { tenantId: 'x' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    a.finish();
    await slow;
    expect(await dispatcher.run('fast', {}, { tenantId: 'x' })).toBe('fast');
  });
});
