/**
 * Jobs: long-running work (ingest, re-index) as rows of `jobs` with a status, progress (steps done of
 * total: segments) and a client-safe error. Every change is published as `job.updated`, keyed by the
 * job's id so one job's updates arrive in order, for whichever gateway streams `jobProgress`. A job
 * only ever leaves QUEUED or RUNNING, so once finished it never changes: a redelivered request or a
 * late report from a cancelled run is a no-op.
 */
import { randomUUID } from 'node:crypto';

import type { Queryable } from '../db/port.js';
import type { PublicError } from '../errors.js';
import { UnreachableCaseError } from '../errors.js';
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

interface JobRow {
  id: string;
  tenant_id: string;
  kind: JobKind;
  status: JobStatus;
  video_id: string | null;
  model: string | null;
  done_steps: number;
  total_steps: number | null;
  attempts: number;
  error: PublicError | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

/** Selects a job's columns (with its model's name) from `source`, a table or CTE aliased `j`. */
const SELECT_JOB = (source: string) =>
  `SELECT j."id", j."tenant_id", j."kind", j."status", j."video_id", j."done_steps", j."total_steps",
          j."attempts", j."error", j."created_at", j."started_at", j."finished_at", j."updated_at",
          mv."name" || '@' || mv."version" AS "model"
   FROM ${source} j LEFT JOIN "model_versions" mv ON mv."id" = j."model_version_id"`;

const ACTIVE = `j."status" IN ('QUEUED', 'RUNNING')`;

/** Reads and changes job rows; every change is announced on the bus. */
export class JobStore {
  readonly #db: Queryable;
  readonly #events: EventBus;
  readonly #logger: Logger;

  constructor(db: Queryable, events: EventBus, logger: Logger) {
    this.#db = db;
    this.#events = events;
    this.#logger = logger;
  }

  /** Creates a QUEUED job, or returns the one already holding `idempotencyKey` (`created: false`). */
  async create(job: NewJob): Promise<{ job: JobRecord; created: boolean }> {
    await this.#db.query(
      `INSERT INTO "tenants" ("id", "name") VALUES ($1, 'default') ON CONFLICT ("id") DO NOTHING`,
      [job.tenantId],
    );
    const inserted = await this.#one(
      `WITH j AS (
         INSERT INTO "jobs" ("id", "tenant_id", "kind", "idempotency_key", "video_id", "model_version_id", "updated_at")
         VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT ("idempotency_key") DO NOTHING RETURNING *)
       ${SELECT_JOB('j')}`,
      [
        randomUUID(),
        job.tenantId,
        job.kind,
        job.idempotencyKey,
        job.videoId ?? null,
        job.modelVersionId ?? null,
      ],
    );
    if (inserted) {
      await this.#announce(inserted);
      return { job: inserted, created: true };
    }
    const existing = await this.#one(`${SELECT_JOB('"jobs"')} WHERE j."idempotency_key" = $1`, [
      job.idempotencyKey,
    ]);
    return { job: existing!, created: false };
  }

  /** The tenant's job, or undefined (malformed ids included). */
  async get(tenantId: string, id: string): Promise<JobRecord | undefined> {
    if (!isUuid(id)) return undefined;
    return this.#one(`${SELECT_JOB('"jobs"')} WHERE j."id" = $1 AND j."tenant_id" = $2`, [id, tenantId]);
  }

  /** A page of the tenant's jobs, newest first, after the (createdAt, id) key; `limit` rows at most. */
  async list(
    tenantId: string,
    options: { limit: number; after?: { createdAt: Date; id: string }; status?: JobStatus },
  ): Promise<{ jobs: JobRecord[]; totalCount: number }> {
    const where = [`j."tenant_id" = $1`];
    const params: unknown[] = [tenantId];
    if (options.status) {
      params.push(options.status);
      where.push(`j."status" = $${params.length}`);
    }
    const { rows: counted } = await this.#db.query<{ count: number }>(
      `SELECT count(*)::int AS "count" FROM "jobs" j WHERE ${where.join(' AND ')}`,
      params,
    );
    if (options.after) {
      params.push(options.after.createdAt, options.after.id);
      where.push(`(j."created_at", j."id") < ($${params.length - 1}, $${params.length})`);
    }
    params.push(options.limit);
    const { rows } = await this.#db.query<JobRow>(
      `${SELECT_JOB('"jobs"')} WHERE ${where.join(' AND ')}
       ORDER BY j."created_at" DESC, j."id" DESC LIMIT $${params.length}`,
      params,
    );
    return { jobs: rows.map(toRecord), totalCount: counted[0]!.count };
  }

  /** The newest QUEUED or RUNNING job of `kind` for the video (null: for no video), if any. */
  async findActive(tenantId: string, kind: JobKind, videoId: string | null): Promise<JobRecord | undefined> {
    return this.#one(
      `${SELECT_JOB('"jobs"')} WHERE j."tenant_id" = $1 AND j."kind" = $2 AND ${ACTIVE}
         AND j."video_id" IS NOT DISTINCT FROM $3 ORDER BY j."created_at" DESC LIMIT 1`,
      [tenantId, kind, videoId],
    );
  }

  /** Marks a run started (from QUEUED, or RUNNING again on redelivery) and resets its progress; undefined once finished. */
  start(id: string): Promise<JobRecord | undefined> {
    return this.#change(
      id,
      `"status" = 'RUNNING', "attempts" = "attempts" + 1, "started_at" = COALESCE("started_at", now()),
       "done_steps" = 0, "total_steps" = NULL, "error" = NULL`,
    );
  }

  /** Records the video the job works on. */
  attachVideo(id: string, videoId: string): Promise<JobRecord | undefined> {
    return this.#change(id, `"video_id" = $2`, [videoId]);
  }

  /** Adds `steps` to the planned total (the first plan starts from zero). */
  plan(id: string, steps: number): Promise<JobRecord | undefined> {
    return this.#change(id, `"total_steps" = COALESCE("total_steps", 0) + $2`, [steps]);
  }

  /** Counts `steps` more as done. */
  advance(id: string, steps = 1): Promise<JobRecord | undefined> {
    return this.#change(id, `"done_steps" = "done_steps" + $2`, [steps]);
  }

  /** Ends the job; undefined when it had already ended (the first outcome stands). */
  finish(id: string, outcome: JobOutcome): Promise<JobRecord | undefined> {
    const error = outcome.status === 'SUCCEEDED' ? null : JSON.stringify(outcome.error);
    return this.#change(
      id,
      `"status" = $2::"JobStatus", "error" = $3::jsonb, "finished_at" = now(),
       "done_steps" = CASE WHEN $2 = 'SUCCEEDED' THEN GREATEST("done_steps", COALESCE("total_steps", 0)) ELSE "done_steps" END`,
      [outcome.status, error],
    );
  }

  /** Puts a run that failed for a passing reason back in the queue, saying why. */
  requeue(id: string, error: PublicError): Promise<JobRecord | undefined> {
    return this.#change(id, `"status" = 'QUEUED', "error" = $2::jsonb`, [JSON.stringify(error)]);
  }

  /** Cancels every unfinished job of a video (it is being deleted); returns them. */
  async cancelForVideo(tenantId: string, videoId: string, error: PublicError): Promise<JobRecord[]> {
    const { rows } = await this.#db.query<JobRow>(
      `WITH j AS (
         UPDATE "jobs" j SET "status" = 'CANCELLED', "error" = $3::jsonb, "finished_at" = now(), "updated_at" = now()
         WHERE j."tenant_id" = $1 AND j."video_id" = $2 AND ${ACTIVE} RETURNING *)
       ${SELECT_JOB('j')}`,
      [tenantId, videoId, JSON.stringify(error)],
    );
    const jobs = rows.map(toRecord);
    for (const job of jobs) await this.#announce(job);
    return jobs;
  }

  /** Applies `assignments` to an unfinished job, announces the result; undefined when finished or missing. */
  async #change(id: string, assignments: string, params: unknown[] = []): Promise<JobRecord | undefined> {
    const job = await this.#one(
      `WITH j AS (
         UPDATE "jobs" j SET ${assignments}, "updated_at" = now() WHERE j."id" = $1 AND ${ACTIVE} RETURNING *)
       ${SELECT_JOB('j')}`,
      [id, ...params],
    );
    if (job) await this.#announce(job);
    return job;
  }

  async #one(sql: string, params: unknown[]): Promise<JobRecord | undefined> {
    const { rows } = await this.#db.query<JobRow>(sql, params);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** The row is the truth; the event only tells watchers, so a bus failure is logged, not thrown. */
  async #announce(job: JobRecord): Promise<void> {
    await this.#events
      .publish<JobUpdatedEvent>(JOB_UPDATED, [{ key: job.id, value: toJobEvent(job) }])
      .catch((error: unknown) => this.#logger.warn('job update not announced', { jobId: job.id, error }));
  }
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    status: row.status,
    videoId: row.video_id,
    model: row.model,
    doneSteps: row.done_steps,
    totalSteps: row.total_steps,
    attempts: row.attempts,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}
