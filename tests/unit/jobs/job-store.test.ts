import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { createMemoryEventBus } from '../../../src/core/events/memory.js';
import type { EventBus } from '../../../src/core/events/port.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/ingest/video-ingestor.js';
import type { JobRecord, JobUpdatedEvent } from '../../../src/core/jobs/job-store.js';
import { JOB_UPDATED, JobStore, isFinished, progressOf } from '../../../src/core/jobs/job-store.js';
import { JobWatcher } from '../../../src/core/jobs/job-watcher.js';
import { MIGRATIONS_DIR } from '../../../src/core/kernel.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { eventually } from '../../helpers/fixtures.js';
import { systemCalls } from '../../helpers/system-scope.js';

const TENANT = DEFAULT_TENANT_ID;
const failure = {
  code: 'VIDEO_UNREADABLE' as const,
  message: 'The file is not a readable video',
  retriable: false,
};

describe('JobStore and JobWatcher', () => {
  let db: PgliteDatabase;
  let events: EventBus;
  let jobs: JobStore;
  let watcher: JobWatcher;
  const announced: JobUpdatedEvent[] = [];

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS_DIR);
    events = createMemoryEventBus();
    // Driven as the workers drive it: by job id, in the scope of the message at hand.
    jobs = systemCalls(new JobStore(db, events, createMemoryLogger()));
    watcher = await JobWatcher.start(events, jobs, 'test-watch');
    await events.subscribe<JobUpdatedEvent>({
      topics: [JOB_UPDATED],
      group: 'test-log',
      handler: async (message) => void announced.push(message.value),
    });
  });
  afterAll(async () => {
    await watcher?.stop();
    await events?.close();
    await db?.close();
  });

  const newJob = (key: string = randomUUID()) =>
    jobs.create({ tenantId: TENANT, kind: 'INGEST', idempotencyKey: key });

  it('creates a job once per idempotency key', async () => {
    const first = await newJob('same-key');
    const again = await newJob('same-key');
    expect(first).toMatchObject({ created: true, job: { status: 'QUEUED', doneSteps: 0, totalSteps: null } });
    expect(again).toEqual({ created: false, job: first.job });
    expect(await jobs.get(TENANT, first.job.id)).toEqual(first.job);
    expect(await jobs.get(TENANT, 'not-an-id')).toBeUndefined();
    expect(await jobs.get(randomUUID(), first.job.id)).toBeUndefined();
  });

  it('runs a job through planned progress to a final state that never changes again', async () => {
    const { job } = await newJob();
    expect(await jobs.start(job.id)).toMatchObject({ status: 'RUNNING', attempts: 1 });
    await jobs.plan(job.id, 4);
    const half = (await jobs.advance(job.id, 2))!;
    expect(progressOf(half)).toBe(0.5);
    const done = (await jobs.finish(job.id, { status: 'SUCCEEDED' }))!;
    expect(done).toMatchObject({ status: 'SUCCEEDED', doneSteps: 4, totalSteps: 4, error: null });
    expect(done.finishedAt).toBeInstanceOf(Date);
    expect(progressOf(done)).toBe(1);
    // A redelivered request or a late report changes nothing.
    expect(await jobs.start(job.id)).toBeUndefined();
    expect(await jobs.advance(job.id)).toBeUndefined();
    expect(await jobs.finish(job.id, { status: 'FAILED', error: failure })).toBeUndefined();
    expect((await jobs.get(TENANT, job.id))!.status).toBe('SUCCEEDED');
    await eventually(() =>
      expect(
        announced.filter((event) => event.id === job.id).map((event) => [event.status, event.doneSteps]),
      ).toEqual([
        ['QUEUED', 0],
        ['RUNNING', 0],
        ['RUNNING', 0],
        ['RUNNING', 2],
        ['SUCCEEDED', 4],
      ]),
    );
  });

  it('records a client-safe error on failure, and restarts progress when a run starts again', async () => {
    const { job } = await newJob();
    await jobs.start(job.id);
    await jobs.plan(job.id, 3);
    await jobs.advance(job.id);
    await jobs.requeue(job.id, { ...failure, code: 'UNAVAILABLE', retriable: true });
    expect(await jobs.start(job.id)).toMatchObject({
      attempts: 2,
      doneSteps: 0,
      totalSteps: null,
      error: null,
    });
    const failed = await jobs.finish(job.id, { status: 'FAILED', error: failure });
    expect(failed).toMatchObject({ status: 'FAILED', error: failure });
    expect(isFinished(failed!.status)).toBe(true);
  });

  it('pages jobs newest first, filtered by status, and finds the active job of a kind', async () => {
    const all = await jobs.list(TENANT, { limit: 100 });
    const first = await jobs.list(TENANT, { limit: 2 });
    const last = first.jobs.at(-1)!;
    const rest = await jobs.list(TENANT, { limit: 100, after: { createdAt: last.createdAt, id: last.id } });
    expect([...first.jobs, ...rest.jobs].map((job) => job.id)).toEqual(all.jobs.map((job) => job.id));
    expect(first.totalCount).toBe(all.jobs.length);
    const queued = await jobs.list(TENANT, { limit: 100, status: 'QUEUED' });
    expect(queued.jobs.every((job) => job.status === 'QUEUED')).toBe(true);
    const reindex = await jobs.create({ tenantId: TENANT, kind: 'REINDEX', idempotencyKey: randomUUID() });
    expect((await jobs.findActive(TENANT, 'REINDEX', null))?.id).toBe(reindex.job.id);
    await jobs.finish(reindex.job.id, { status: 'SUCCEEDED' });
    expect(await jobs.findActive(TENANT, 'REINDEX', null)).toBeUndefined();
  });

  it('streams a job: its current state first, each change, ending after the final state', async () => {
    const { job } = await newJob();
    const stream = await watcher.watch(TENANT, job.id);
    const seen: JobRecord[] = [];
    const reading = (async () => {
      for await (const state of stream) seen.push(state);
    })();
    await jobs.start(job.id);
    await jobs.plan(job.id, 2);
    await jobs.advance(job.id);
    await jobs.advance(job.id);
    await jobs.finish(job.id, { status: 'SUCCEEDED' });
    await reading;
    expect(seen.map((state) => [state.status, state.doneSteps, state.totalSteps])).toEqual([
      ['QUEUED', 0, null],
      ['RUNNING', 0, null],
      ['RUNNING', 0, 2],
      ['RUNNING', 1, 2],
      ['RUNNING', 2, 2],
      ['SUCCEEDED', 2, 2],
    ]);
  });

  it('gives a late watcher the final state and completes; NOT_FOUND for unknown jobs', async () => {
    const { job } = await newJob();
    await jobs.finish(job.id, { status: 'CANCELLED', error: failure });
    const seen: string[] = [];
    for await (const state of await watcher.watch(TENANT, job.id)) seen.push(state.status);
    expect(seen).toEqual(['CANCELLED']);
    await expect(watcher.watch(TENANT, randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(watcher.watch(TENANT, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stops streaming when the subscriber leaves', async () => {
    const { job } = await newJob();
    const stream = await watcher.watch(TENANT, job.id);
    expect((await stream.next()).value).toMatchObject({ status: 'QUEUED' });
    const waiting = stream.next();
    await stream.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    await jobs.start(job.id);
  });
});
