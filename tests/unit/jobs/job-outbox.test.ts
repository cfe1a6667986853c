import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { HbiError } from '../../../src/core/errors.js';
import { createMemoryEventBus } from '../../../src/core/events/memory.js';
import type { EventBus } from '../../../src/core/events/port.js';
import type { JobQueuedEvent } from '../../../src/core/ingest/ingest-events.js';
import { JOB_QUEUED } from '../../../src/core/ingest/ingest-events.js';
import { JobRelay } from '../../../src/core/ingest/job-relay.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/ingest/video-ingestor.js';
import { JobStore } from '../../../src/core/jobs/job-store.js';
import { MIGRATIONS_DIR } from '../../../src/core/kernel.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { eventually } from '../../helpers/fixtures.js';
import { systemCalls, systemView } from '../../helpers/system-scope.js';

const TENANT = DEFAULT_TENANT_ID;

/** A bus whose publishes fail (retriably) while `down` is set, recording what got through. */
function flakyBus(inner: EventBus) {
  const state = { down: false, attempts: 0 };
  const bus: EventBus = {
    kind: 'flaky',
    publish: async (topic, messages) => {
      state.attempts++;
      if (state.down) throw new HbiError('UNAVAILABLE', 'bus down');
      await inner.publish(topic, messages);
    },
    subscribe: (options) => inner.subscribe(options),
    close: () => inner.close(),
  };
  return { bus, state };
}

describe('jobs: idempotency conflicts, the outbox relay, and recovery after a crash', () => {
  let db: PgliteDatabase;
  let events: EventBus;
  let jobs: JobStore;
  const delivered: JobQueuedEvent[] = [];

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS_DIR);
    events = createMemoryEventBus();
    jobs = systemCalls(new JobStore(db, events, createMemoryLogger()));
    await events.subscribe<JobQueuedEvent>({
      topics: [JOB_QUEUED],
      group: 'test-worker',
      handler: async (message) => void delivered.push(message.value),
    });
  });
  afterAll(async () => {
    await events?.close();
    await db?.close();
  });

  const request = (jobId: string): JobQueuedEvent => ({
    kind: 'reindex',
    jobId,
    tenantId: TENANT,
    videoId: null,
    force: false,
  });
  const outbox = async (id: string) =>
    (
      await systemView(db).query<{ request: unknown; published: boolean }>(
        `SELECT "request", "published_at" IS NOT NULL AS "published" FROM "jobs" WHERE "id" = $1`,
        [id],
      )
    ).rows[0]!;

  it('returns the first job for the same key and request, and CONFLICT for another request', async () => {
    const key = randomUUID();
    const first = await jobs.create({
      tenantId: TENANT,
      kind: 'INGEST',
      idempotencyKey: key,
      fingerprint: 'a'.repeat(64),
      request,
    });
    const again = await jobs.create({
      tenantId: TENANT,
      kind: 'INGEST',
      idempotencyKey: key,
      fingerprint: 'a'.repeat(64),
      request,
    });
    expect(first.created).toBe(true);
    expect(again).toEqual({ created: false, job: first.job });
    const other = jobs.create({
      tenantId: TENANT,
      kind: 'INGEST',
      idempotencyKey: key,
      fingerprint: 'b'.repeat(64),
      request,
    });
    await expect(other).rejects.toMatchObject({
      code: 'CONFLICT',
      httpStatus: 409,
      details: { jobId: first.job.id },
    });
    await expect(other).rejects.toThrow(/different request.*new key/);
    // The message is stored with the row, not on the record.
    expect(first.job).not.toHaveProperty('request');
    expect(await outbox(first.job.id)).toEqual({ request: request(first.job.id), published: false });
  });

  it('relays each unsent message once, even with two relays racing', async () => {
    const { job } = await jobs.create({
      tenantId: TENANT,
      kind: 'REINDEX',
      idempotencyKey: randomUUID(),
      request,
    });
    const logger = createMemoryLogger();
    const relays = [1, 2].map(() => new JobRelay({ db, events, jobs, logger }));
    await Promise.all(relays.map((relay) => relay.flush()));
    await eventually(() => expect(delivered.filter((event) => event.jobId === job.id)).toHaveLength(1));
    expect((await outbox(job.id)).published).toBe(true);
    await Promise.all(relays.map((relay) => relay.flush()));
    expect(delivered.filter((event) => event.jobId === job.id)).toHaveLength(1);
    await Promise.all(relays.map((relay) => relay.stop()));
  });

  it('writes an upload’s message once its bytes are stored, and keeps it while the bus is down', async () => {
    const { job } = await jobs.create({ tenantId: TENANT, kind: 'INGEST', idempotencyKey: randomUUID() });
    const { bus, state } = flakyBus(events);
    const relay = new JobRelay({ db, events: bus, jobs, logger: createMemoryLogger() });
    await relay.flush();
    expect(await outbox(job.id)).toEqual({ request: null, published: false });
    expect(await jobs.enqueue(job.id, request(job.id))).toBe(true);
    expect(await jobs.enqueue(job.id, request(job.id))).toBe(false);
    state.down = true;
    await relay.flush();
    expect(state.attempts).toBeGreaterThan(0);
    expect(await outbox(job.id)).toEqual({ request: request(job.id), published: false });
    state.down = false;
    await relay.flush();
    await eventually(() => expect(delivered.filter((event) => event.jobId === job.id)).toHaveLength(1));
    expect((await outbox(job.id)).published).toBe(true);
    await relay.stop();
  });

  it('queues again the jobs a stopped process left unfinished, and fails those it cannot re-run', async () => {
    const running = await jobs.create({
      tenantId: TENANT,
      kind: 'REINDEX',
      idempotencyKey: randomUUID(),
      request,
    });
    await jobs.start(running.job.id);
    await systemView(db).query(`UPDATE "jobs" SET "published_at" = now() WHERE "id" = $1`, [running.job.id]);
    const upload = await jobs.create({ tenantId: TENANT, kind: 'INGEST', idempotencyKey: randomUUID() });
    const done = await jobs.create({
      tenantId: TENANT,
      kind: 'REINDEX',
      idempotencyKey: randomUUID(),
      request,
    });
    await jobs.finish(done.job.id, { status: 'SUCCEEDED' });

    // Cluster: only jobs unchanged since the threshold; these just changed.
    const early = await jobs.recoverInterrupted(new Date(Date.now() - 60_000));
    expect([...early.requeued, ...early.failed].map((job) => job.id)).not.toContain(running.job.id);

    const { requeued, failed } = await jobs.recoverInterrupted();
    expect(requeued.map((job) => job.id)).toContain(running.job.id);
    expect(requeued.map((job) => job.id)).not.toContain(done.job.id);
    expect(failed.map((job) => job.id)).toContain(upload.job.id);
    expect(await jobs.get(TENANT, running.job.id)).toMatchObject({
      status: 'QUEUED',
      error: { code: 'UNAVAILABLE', retriable: true },
    });
    expect(await jobs.get(TENANT, upload.job.id)).toMatchObject({
      status: 'FAILED',
      error: { code: 'UNAVAILABLE', message: expect.stringMatching(/submit it again/) },
    });
    expect(await outbox(running.job.id)).toEqual({ request: request(running.job.id), published: false });
    const relay = new JobRelay({ db, events, jobs, logger: createMemoryLogger() });
    await relay.flush();
    await eventually(() =>
      expect(delivered.filter((event) => event.jobId === running.job.id)).toHaveLength(1),
    );
    await relay.stop();
  });
});
