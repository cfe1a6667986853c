/**
 * Jobs: long-running work (ingest, re-index) as rows of `jobs` with a status, progress (steps done of
 * total: segments) and a client-safe error. Every change is published as `job.updated`, keyed by the
 * job's id so one job's updates arrive in order, for whichever gateway streams `jobProgress`. A job
 * only ever leaves QUEUED or RUNNING, so once finished it never changes: a redelivered request or a
 * late report from a cancelled run is a no-op.
 */
import { randomUUID } from 'node:crypto';

import type { Prisma, RelationalDatabase } from '../db/relational.js';
import { DB_NULL, databaseNow, ensureTenant, toJson } from '../db/relational.js';
import { inTenantScope } from '../db/scope.js';
import type { PublicError } from '../errors.js';
import { HbiError, UnreachableCaseError } from '../errors.js';
import type { EventBus } from '../events/port.js';
import type { Logger } from '../logger.js';
import { isUuid } from '../util/ids.js';

/** Topic of every job change; the value is a `JobUpdatedEvent`. */
export const JOB_UPDATED = 'job.updated';

export type JobKind = 'INGEST' | 'REINDEX' | 'DELETE';
export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface JobRecord {
  id: string;
  tenantId: string;
  kind: JobKind;
  status: JobStatus;
  /** The video worked on, once known (an ingest learns it after hashing); null after the video is deleted. */
  videoId: string | null;
  /** `name@version` of the model the job encodes with. */
  model: string | null;
  doneSteps: number;
  /** Null until the work is planned (an ingest plans once the video is probed). */
  totalSteps: number | null;
  /** Runs started: above 1 after a retry or a redelivery. */
  attempts: number;
  error: PublicError | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** A job as `job.updated` carries it: dates as ISO strings, since the bus serialises JSON. */
export type JobUpdatedEvent = Omit<JobRecord, 'createdAt' | 'startedAt' | 'finishedAt' | 'updatedAt'> & {
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
};

export interface NewJob {
  tenantId: string;
  kind: JobKind;
  /** Unique across jobs: asking again with the same key returns the first job. */
  idempotencyKey: string;
  videoId?: string | null;
  modelVersionId?: string | null;
  /**
   * The `job.queued` message that runs the job, given its id, when the work is known now: written in the
   * same INSERT as the row (the outbox the relay publishes from). Left out, `enqueue` adds it later.
   */
  request?: (jobId: string) => object;
  /**
   * SHA-256 of the normalised request. With the key of an existing job whose fingerprint differs, the
   * create is a CONFLICT instead of returning that job.
   */
  fingerprint?: string;
}

/** What `recoverInterrupted` did: jobs put back in the queue, and jobs failed (nothing to re-run them from). */
export interface RecoveredJobs {
  requeued: JobRecord[];
  failed: JobRecord[];
}

/** How a run ended. */
export type JobOutcome =
  | { status: 'SUCCEEDED' }
  | { status: 'FAILED'; error: PublicError }
  | { status: 'CANCELLED'; error: PublicError };

/** True once the job can change no more. */
export function isFinished(status: JobStatus): boolean {
  switch (status) {
    case 'QUEUED':
    case 'RUNNING':
      return false;
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
      return true;
    default:
      throw new UnreachableCaseError(status);
  }
}

/** Progress in 0…1: steps done of total; 1 once succeeded, 0 while unplanned. */
export function progressOf(job: Pick<JobRecord, 'status' | 'doneSteps' | 'totalSteps'>): number {
  if (job.status === 'SUCCEEDED') return 1;
  if (!job.totalSteps) return 0;
  return Math.min(1, job.doneSteps / job.totalSteps);
}

export function toJobEvent(job: JobRecord): JobUpdatedEvent {
  return {
    ...job,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    updatedAt: job.updatedAt.toISOString(),
  };
}

export function fromJobEvent(event: JobUpdatedEvent): JobRecord {
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return {
    ...event,
    createdAt: new Date(event.createdAt),
    startedAt: date(event.startedAt),
    finishedAt: date(event.finishedAt),
    updatedAt: new Date(event.updatedAt),
  };
}

/**
 * A job row as `JobRecord` needs it: all but the idempotency key and the outbox columns (the model by
 * id: `#records` names it).
 */
const OMIT = {
  idempotencyKey: true,
  request: true,
  requestSha256: true,
  publishedAt: true,
} satisfies Prisma.JobOmit;

type JobRow = Prisma.JobGetPayload<{ omit: typeof OMIT }>;

/** Only unfinished jobs change. */
const ACTIVE = { status: { in: ['QUEUED', 'RUNNING'] } } satisfies Prisma.JobWhereInput;

/** Reads and changes job rows; every change is announced on the bus. */
export class JobStore {
  readonly #db: Pick<RelationalDatabase, 'prisma'>;
  readonly #events: EventBus;
  readonly #logger: Logger;
  /** `name@version` by model version id: those rows never change, so each is read once. */
  readonly #models = new Map<string, string>();

  constructor(db: Pick<RelationalDatabase, 'prisma'>, events: EventBus, logger: Logger) {
    this.#db = db;
    this.#events = events;
    this.#logger = logger;
  }

  /**
   * Creates a QUEUED job (with its `job.queued` message, when given, in the same statement), or returns
   * the one already holding `idempotencyKey` (`created: false`); CONFLICT when that one was created
   * for a different request (another fingerprint).
   */
  async create(job: NewJob): Promise<{ job: JobRecord; created: boolean }> {
    return inTenantScope(job.tenantId, async () => {
      const { prisma } = this.#db;
      await ensureTenant(prisma, job.tenantId);
      const now = await databaseNow(prisma);
      const id = randomUUID();
      // INSERT … ON CONFLICT ("idempotency_key") DO NOTHING RETURNING: of two concurrent requests with
      // one key exactly one creates the job.
      const [inserted] = await prisma.job.createManyAndReturn({
        data: [
          {
            id,
            tenantId: job.tenantId,
            kind: job.kind,
            idempotencyKey: job.idempotencyKey,
            videoId: job.videoId ?? null,
            modelVersionId: job.modelVersionId ?? null,
            ...(job.request ? { request: toJson(job.request(id)) } : {}),
            requestSha256: job.fingerprint ?? null,
            createdAt: now,
            updatedAt: now,
          },
        ],
        skipDuplicates: true,
        omit: OMIT,
      });
      if (inserted) {
        const [record] = await this.#records([inserted]);
        await this.#announce(record!);
        return { job: record!, created: true };
      }
      const { requestSha256, ...existing } = await prisma.job.findFirstOrThrow({
        where: { idempotencyKey: job.idempotencyKey },
        omit: { ...OMIT, requestSha256: false },
      });
      if (job.fingerprint !== undefined && requestSha256 !== null && requestSha256 !== job.fingerprint) {
        throw new HbiError(
          'CONFLICT',
          `This idempotency key was already used for a different request (job ${existing.id}): send a ` +
            'new key for new work, or repeat the first request unchanged to get its job',
          { details: { jobId: existing.id } },
        );
      }
      const [record] = await this.#records([existing]);
      return { job: record!, created: false };
    });
  }

  /**
   * Writes the `job.queued` message of a job created without one (an upload, once its bytes are
   * stored), for the relay to publish; false when the job has left QUEUED or already has one.
   */
  async enqueue(id: string, request: object): Promise<boolean> {
    const { count } = await this.#db.prisma.job.updateMany({
      where: { id, status: 'QUEUED', request: { equals: DB_NULL } },
      data: { request: toJson(request) },
    });
    return count > 0;
  }

  /**
   * Puts back in the queue the jobs a stopped process left QUEUED or RUNNING (updated before
   * `staleBefore`, or all of them without it), to be published again from their stored request; jobs
   * without one (an upload cut off before its bytes were stored, a row from before the outbox) end
   * FAILED, since nothing could run them. Runs in the caller's scope (the system scope at start-up).
   */
  async recoverInterrupted(staleBefore?: Date): Promise<RecoveredJobs> {
    const { prisma } = this.#db;
    const now = await databaseNow(prisma);
    const stale: Prisma.JobWhereInput = {
      ...ACTIVE,
      ...(staleBefore ? { updatedAt: { lt: staleBefore } } : {}),
    };
    const requeued = await prisma.job.updateManyAndReturn({
      where: { ...stale, request: { not: DB_NULL } },
      data: {
        status: 'QUEUED',
        publishedAt: null,
        error: toJson({
          code: 'UNAVAILABLE',
          message: 'The process running this job stopped; it was queued again',
          retriable: true,
        } satisfies PublicError),
        updatedAt: now,
      },
      omit: OMIT,
    });
    const failed = await prisma.job.updateManyAndReturn({
      where: { ...stale, request: { equals: DB_NULL } },
      data: {
        status: 'FAILED',
        error: toJson({
          code: 'UNAVAILABLE',
          message:
            'The process handling this job stopped before its work was recorded (an upload cut off): submit it again',
          retriable: true,
        } satisfies PublicError),
        finishedAt: now,
        updatedAt: now,
      },
      omit: OMIT,
    });
    const result = { requeued: await this.#records(requeued), failed: await this.#records(failed) };
    for (const job of [...result.requeued, ...result.failed]) await this.#announce(job);
    return result;
  }

  /** The tenant's job, or undefined (malformed ids included). */
  async get(tenantId: string, id: string): Promise<JobRecord | undefined> {
    return inTenantScope(tenantId, async () => {
      if (!isUuid(id)) return undefined;
      return this.#record(await this.#db.prisma.job.findFirst({ where: { id, tenantId }, omit: OMIT }));
    });
  }

  /** A page of the tenant's jobs, newest first, after the (createdAt, id) key; `limit` rows at most. */
  async list(
    tenantId: string,
    options: { limit: number; after?: { createdAt: Date; id: string }; status?: JobStatus },
  ): Promise<{ jobs: JobRecord[]; totalCount: number }> {
    return inTenantScope(tenantId, async () => {
      const { prisma } = this.#db;
      const where: Prisma.JobWhereInput = { tenantId, ...(options.status ? { status: options.status } : {}) };
      const { after } = options;
      const [totalCount, rows] = await Promise.all([
        prisma.job.count({ where }),
        prisma.job.findMany({
          where: after ? { ...where, OR: beforeKey(after) } : where,
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: options.limit,
          omit: OMIT,
        }),
      ]);
      return { jobs: await this.#records(rows), totalCount };
    });
  }

  /** The newest QUEUED or RUNNING job of `kind` for the video (null: for no video), if any. */
  async findActive(tenantId: string, kind: JobKind, videoId: string | null): Promise<JobRecord | undefined> {
    return inTenantScope(tenantId, async () => {
      return this.#record(
        await this.#db.prisma.job.findFirst({
          where: { tenantId, kind, videoId, ...ACTIVE },
          orderBy: { createdAt: 'desc' },
          omit: OMIT,
        }),
      );
    });
  }

  /** Marks a run started (from QUEUED, or RUNNING again on redelivery) and resets its progress; undefined once finished. */
  start(id: string): Promise<JobRecord | undefined> {
    return this.#change(
      id,
      { status: 'RUNNING', attempts: { increment: 1 }, doneSteps: 0, totalSteps: null, error: DB_NULL },
      // The first start is kept: `started_at = COALESCE("started_at", now())`.
      (job, now) => (job.startedAt === null ? { startedAt: now } : undefined),
    );
  }

  /** Records the video the job works on. */
  attachVideo(id: string, videoId: string): Promise<JobRecord | undefined> {
    return this.#change(id, { videoId });
  }

  /** Adds `steps` to the planned total (the first plan starts from zero). */
  plan(id: string, steps: number): Promise<JobRecord | undefined> {
    // `total_steps + n` leaves NULL as it is; the first plan then sets it (`COALESCE(total_steps, 0) + n`).
    return this.#change(id, { totalSteps: { increment: steps } }, (job) =>
      job.totalSteps === null ? { totalSteps: steps } : undefined,
    );
  }

  /** Counts `steps` more as done. */
  advance(id: string, steps = 1): Promise<JobRecord | undefined> {
    return this.#change(id, { doneSteps: { increment: steps } });
  }

  /** Ends the job; undefined when it had already ended (the first outcome stands). */
  finish(id: string, outcome: JobOutcome): Promise<JobRecord | undefined> {
    return this.#change(
      id,
      (now) => ({
        status: outcome.status,
        error: outcome.status === 'SUCCEEDED' ? DB_NULL : toJson(outcome.error),
        finishedAt: now,
      }),
      // A job that succeeded is done: every planned step counts (`GREATEST(done, total)`).
      (job) =>
        outcome.status === 'SUCCEEDED' && (job.totalSteps ?? 0) > job.doneSteps
          ? { doneSteps: job.totalSteps! }
          : undefined,
    );
  }

  /** Puts a run that failed for a passing reason back in the queue, saying why. */
  requeue(id: string, error: PublicError): Promise<JobRecord | undefined> {
    return this.#change(id, { status: 'QUEUED', error: toJson(error) });
  }

  /** Cancels every unfinished job of a video (it is being deleted); returns them. */
  async cancelForVideo(tenantId: string, videoId: string, error: PublicError): Promise<JobRecord[]> {
    return inTenantScope(tenantId, async () => {
      const { prisma } = this.#db;
      const now = await databaseNow(prisma);
      const rows = await prisma.job.updateManyAndReturn({
        where: { tenantId, videoId, ...ACTIVE },
        data: { status: 'CANCELLED', error: toJson(error), finishedAt: now, updatedAt: now },
        omit: OMIT,
      });
      const jobs = await this.#records(rows);
      for (const job of jobs) await this.#announce(job);
      return jobs;
    });
  }

  /**
   * Applies `data` to an unfinished job, then what `then` derives from the updated row, in one
   * transaction on the database's clock, and announces the result; undefined when finished or missing.
   * Prisma cannot write `COALESCE(col, …)` or one column from another, so those steps read the row
   * after the first update: by then this transaction holds the row's lock, so no other change slips in.
   */
  async #change(
    id: string,
    data: Prisma.JobUncheckedUpdateManyInput | ((now: Date) => Prisma.JobUncheckedUpdateManyInput),
    then?: (job: JobRow, now: Date) => Prisma.JobUncheckedUpdateManyInput | undefined,
  ): Promise<JobRecord | undefined> {
    const row = await this.#db.prisma.$transaction(async (tx) => {
      const now = await databaseNow(tx);
      const values = typeof data === 'function' ? data(now) : data;
      const [updated] = await tx.job.updateManyAndReturn({
        where: { id, ...ACTIVE },
        data: { ...values, updatedAt: now },
        omit: OMIT,
      });
      const more = updated && then?.(updated, now);
      return more ? tx.job.update({ where: { id }, data: { ...more, updatedAt: now }, omit: OMIT }) : updated;
    });
    const job = await this.#record(row);
    if (job) await this.#announce(job);
    return job;
  }

  async #record(row: JobRow | null | undefined): Promise<JobRecord | undefined> {
    return row ? (await this.#records([row]))[0] : undefined;
  }

  /** Rows as records, each with its model's `name@version`. */
  async #records(rows: readonly JobRow[]): Promise<JobRecord[]> {
    const missing = new Set<string>();
    for (const { modelVersionId: id } of rows) if (id !== null && !this.#models.has(id)) missing.add(id);
    if (missing.size > 0) {
      const models = await this.#db.prisma.modelVersion.findMany({
        where: { id: { in: [...missing] } },
        select: { id: true, name: true, version: true },
      });
      for (const model of models) this.#models.set(model.id, `${model.name}@${model.version}`);
    }
    return rows.map(({ modelVersionId, error, ...row }) => ({
      ...row,
      model: modelVersionId === null ? null : (this.#models.get(modelVersionId) ?? null),
      error: error as PublicError | null,
    }));
  }

  /** The row is the truth; the event only tells watchers, so a bus failure is logged, not thrown. */
  async #announce(job: JobRecord): Promise<void> {
    await this.#events
      .publish<JobUpdatedEvent>(JOB_UPDATED, [{ key: job.id, value: toJobEvent(job) }])
      .catch((error: unknown) => this.#logger.warn('job update not announced', { jobId: job.id, error }));
  }
}

/** Rows strictly after `key` in (createdAt, id) descending order. */
function beforeKey(key: { createdAt: Date; id: string }): Prisma.JobWhereInput[] {
  return [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lt: key.id } }];
}
