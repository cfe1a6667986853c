/**
 * A job that loses its database mid-step waits for it and runs again, instead of spending its delivery
 * attempts on the outage (and leaving its row to the stale-job sweep). In-process fakes for the job
 * store, the ingestor and a database that is down until told otherwise; the real worker and memory bus.
 * The same path against a real PostgreSQL restart: tests/integration/postgres-restart.test.ts.
 */
import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import type { Queryable } from '../../../src/core/db/port.js';
import { databaseUnavailable, isDatabaseOutage, waitForDatabase } from '../../../src/core/db/outage.js';
import { HbiError, toHbiError, toPublicError } from '../../../src/core/errors.js';
import { createMemoryEventBus } from '../../../src/core/events/memory.js';
import type { EventBus } from '../../../src/core/events/port.js';
import type { JobQueuedEvent } from '../../../src/core/ingest/ingest-events.js';
import { JOB_QUEUED } from '../../../src/core/ingest/ingest-events.js';
import { IngestWorker } from '../../../src/core/ingest/ingest-worker.js';
import type { VideoIngestor } from '../../../src/core/ingest/video-ingestor.js';
import type { JobOutcome, JobRecord, JobStore } from '../../../src/core/jobs/job-store.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { ObjectStore } from '../../../src/core/storage/port.js';
import { eventually } from '../../helpers/fixtures.js';

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('isDatabaseOutage', () => {
  it('knows a lost connection from a failed statement, through wrappers', () => {
    expect(isDatabaseOutage(refused())).toBe(true);
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    expect(isDatabaseOutage(shutdown)).toBe(true);
    expect(isDatabaseOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseOutage(databaseUnavailable(refused(), 'No PostgreSQL connection'))).toBe(true);
    // Prisma wraps the driver's error; its own code for an unreachable server counts too.
    expect(
      isDatabaseOutage(new Error('query failed', { cause: new Error('wrapped', { cause: shutdown }) })),
    ).toBe(true);
    expect(isDatabaseOutage(Object.assign(new Error("Can't reach database server"), { code: 'P1001' }))).toBe(
      true,
    );

    // a Unix socket that is not there is a connection that failed…
    const noSocket = Object.assign(new Error('connect ENOENT /run/postgresql/.s.PGSQL.5432'), {
      code: 'ENOENT',
      syscall: 'connect',
    });
    expect(isDatabaseOutage(noSocket)).toBe(true);
    // …a file that is not there, or not readable, is not (it once made a failed ingest say the database
    // did not answer, and the ingest worker wait for it)
    for (const [code, syscall] of [
      ['ENOENT', 'open'],
      ['EACCES', 'open'],
      ['EIO', 'read'],
      ['EISDIR', 'read'],
    ]) {
      const file = Object.assign(new Error(`${code}: ${syscall} /data/clip.mp4`), { code, syscall });
      expect(isDatabaseOutage(file), code).toBe(false);
      expect(isDatabaseOutage(new Error('segment callback failed', { cause: file })), code).toBe(false);
    }
    expect(isDatabaseOutage(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseOutage(new HbiError('UNAVAILABLE', 'Kafka is down'))).toBe(false);
    expect(isDatabaseOutage(new HbiError('BAD_USER_INPUT', 'not a video'))).toBe(false);
    expect(isDatabaseOutage(undefined)).toBe(false);
  });

  it('turns an outage into a retriable UNAVAILABLE for clients, whatever wrapped it', () => {
    // Prisma Client keeps the adapter error's code and drops the error itself.
    const prisma = Object.assign(
      new Error('No PostgreSQL connection: timeout exceeded when trying to connect'),
      {
        name: 'PrismaClientKnownRequestError',
        code: 'UNAVAILABLE',
      },
    );
    expect(toHbiError(prisma)).toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
      details: { dependency: 'database', retryAfterSeconds: 1 },
    });
    expect(toPublicError(refused()).code).toBe('UNAVAILABLE');
    // Not every UNAVAILABLE-coded foreign error is the database, and statement errors stay INTERNAL.
    expect(toHbiError(Object.assign(new Error('x'), { code: 'UNAVAILABLE' })).code).toBe('INTERNAL');
    expect(toHbiError(Object.assign(new Error('duplicate key'), { code: '23505' })).code).toBe('INTERNAL');
  });
});

describe('waitForDatabase', () => {
  const flaky = (downFor: number) => {
    let probes = 0;
    const db: Queryable = {
      query: async <R>() => {
        probes++;
        if (probes <= downFor) throw databaseUnavailable(refused(), 'No PostgreSQL connection');
        return { rows: [] as R[], affectedRows: undefined };
      },
      exec: async () => undefined,
    };
    return { db, probes: () => probes };
  };

  it('probes until the database answers', async () => {
    const { db, probes } = flaky(3);
    const failures: number[] = [];
    const back = await waitForDatabase(db, {
      deadline: Date.now() + 60_000,
      intervalMs: 5,
      onProbeFailed: (_, attempt) => failures.push(attempt),
    });
    expect(back).toBe(true);
    expect(probes()).toBe(4);
    expect(failures).toEqual([1, 2, 3]);
  });

  it('gives up at the deadline or when aborted, and rethrows what is not an outage', async () => {
    expect(await waitForDatabase(flaky(Infinity).db, { deadline: Date.now() + 30, intervalMs: 5 })).toBe(
      false,
    );
    const stop = new AbortController();
    const waiting = waitForDatabase(flaky(Infinity).db, {
      deadline: Date.now() + 600_000,
      signal: stop.signal,
    });
    stop.abort();
    expect(await waiting).toBe(false);
    const denied: Queryable = {
      query: () =>
        Promise.reject(Object.assign(new Error('password authentication failed'), { code: '28P01' })),
      exec: async () => undefined,
    };
    await expect(waitForDatabase(denied, { deadline: Date.now() + 1_000 })).rejects.toThrow(/password/);
  });
});

describe('the ingest worker through a database outage', () => {
  const TENANT = randomUUID();
  let bus: EventBus | undefined;
  let worker: IngestWorker | undefined;
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  function setup(options: { waitMs: number; ingest: (run: number) => Promise<void> }) {
    bus = createMemoryEventBus();
    let up = true;
    const db: Queryable = {
      query: async <R>() => {
        if (!up) throw databaseUnavailable(refused(), 'No PostgreSQL connection');
        return { rows: [] as R[], affectedRows: undefined };
      },
      exec: async () => undefined,
    };
    const outcomes: JobOutcome[] = [];
    const requeued: string[] = [];
    let starts = 0;
    const record = (id: string): JobRecord => ({
      id,
      tenantId: TENANT,
      kind: 'INGEST',
      status: 'RUNNING',
      videoId: null,
      model: null,
      doneSteps: 0,
      totalSteps: null,
      attempts: starts,
      error: null,
      createdAt: new Date(),
      startedAt: new Date(),
      finishedAt: null,
      updatedAt: new Date(),
    });
    const jobs = {
      start: async (id: string) => {
        starts++;
        return record(id);
      },
      finish: async (id: string, outcome: JobOutcome) => {
        outcomes.push(outcome);
        return record(id);
      },
      requeue: async (id: string) => {
        requeued.push(id);
        return record(id);
      },
      plan: async (id: string) => record(id),
      advance: async (id: string) => record(id),
      attachVideo: async (id: string) => record(id),
    } as unknown as JobStore;
    let runs = 0;
    const ingestor = {
      ingestObject: async () => options.ingest(++runs),
    } as unknown as VideoIngestor;
    const logger = createMemoryLogger();
    const config = { ...loadConfig({}), databaseOutageWaitMs: options.waitMs };
    const start = async () => {
      worker = await IngestWorker.start({
        config,
        db,
        storage: {} as ObjectStore,
        events: bus!,
        jobs,
        ingestor,
        vectors: { coverage: async () => [] },
        logger,
      });
    };
    const queue = async () => {
      const event: JobQueuedEvent = {
        kind: 'ingest',
        jobId: randomUUID(),
        tenantId: TENANT,
        source: { kind: 'object', key: 'uploads/clip.mp4' },
        title: 'clip',
        cameraId: null,
        sourceUri: 'upload:clip.mp4',
      };
      await bus!.publish(JOB_QUEUED, [{ key: event.jobId, value: event }]);
    };
    return {
      start,
      queue,
      outcomes,
      requeued,
      logger,
      runs: () => runs,
      starts: () => starts,
      setUp: (value: boolean) => void (up = value),
    };
  }

  it('waits for the database to come back and runs the job once more', async () => {
    const fake = setup({
      waitMs: 60_000,
      ingest: async (run) => {
        if (run === 1) {
          // The database goes away mid-step and comes back a little later.
          fake.setUp(false);
          setTimeout(() => fake.setUp(true), 200);
          throw databaseUnavailable(refused(), 'PostgreSQL connection failed');
        }
      },
    });
    await fake.start();
    await fake.queue();
    await eventually(() => expect(fake.outcomes).toHaveLength(1), 20_000);
    expect(fake.outcomes[0]).toMatchObject({ status: 'SUCCEEDED' });
    expect(fake.runs()).toBe(2);
    // Nothing was written while the database was away, and no delivery attempt was spent on it.
    expect(fake.requeued).toEqual([]);
    expect(await bus!.listDeadLetters!(JOB_QUEUED)).toEqual([]);
    expect(JSON.stringify(fake.logger.records.map((record) => record.message))).toContain(
      'waiting for it to answer again',
    );
  });

  it('hands the message back to the bus when the outage outlasts HBI_DB_OUTAGE_WAIT_MS', async () => {
    const fake = setup({
      waitMs: 50,
      ingest: async () => {
        fake.setUp(false);
        throw databaseUnavailable(refused(), 'PostgreSQL connection failed');
      },
    });
    await fake.start();
    await fake.queue();
    // Each of the worker's 3 deliveries waits out its share and fails; the message is dead-lettered and
    // the job is never marked FAILED for an outage (the stale-job sweep queues it again later).
    await eventually(async () => expect(await bus!.listDeadLetters!(JOB_QUEUED)).toHaveLength(1), 20_000);
    expect(fake.runs()).toBe(3);
    expect(fake.outcomes).toEqual([]);
    expect(fake.requeued).toEqual([]);
  });

  it('fails other errors at once without waiting', async () => {
    const fake = setup({
      waitMs: 60_000,
      ingest: async () => {
        throw new HbiError('BAD_USER_INPUT', 'Not a video', { retriable: false });
      },
    });
    await fake.start();
    await fake.queue();
    await eventually(() => expect(fake.outcomes).toHaveLength(1), 20_000);
    expect(fake.outcomes[0]).toMatchObject({ status: 'FAILED', error: { code: 'BAD_USER_INPUT' } });
    expect(fake.runs()).toBe(1);
  });

  it('stops waiting when the worker stops', async () => {
    const fake = setup({
      waitMs: 600_000,
      ingest: async () => {
        fake.setUp(false);
        throw databaseUnavailable(refused(), 'PostgreSQL connection failed');
      },
    });
    await fake.start();
    await fake.queue();
    await eventually(
      () =>
        expect(JSON.stringify(fake.logger.records.map((record) => record.message))).toContain(
          'waiting for it',
        ),
      20_000,
    );
    await worker!.stop();
    worker = undefined;
    expect(fake.outcomes).toEqual([]);
  });
});
