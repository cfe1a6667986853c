/** GraphQL types of jobs and of the ingest mutations: job, its connection, upload tickets, deletions. */
import { GraphQLDateTime, GraphQLSafeInt } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

import type { JobRecord } from '../jobs/job-store.js';
import { progressOf } from '../jobs/job-store.js';
import { Connection } from './connections.js';
import { ErrorInfo, toErrorInfo } from './library.types.js';

export enum JobKind {
  INGEST = 'INGEST',
  REINDEX = 'REINDEX',
  DELETE = 'DELETE',
}
registerEnumType(JobKind, { name: 'JobKind', description: 'What a job does.' });

export enum JobStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(JobStatus, {
  name: 'JobStatus',
  description: 'Where a job is; SUCCEEDED, FAILED and CANCELLED are final.',
});

@ObjectType({ description: 'Long-running work (ingest, re-index) with observable progress.' })
export class Job {
  @Field(() => ID)
  id!: string;

  @Field(() => JobKind)
  kind!: JobKind;

  @Field(() => JobStatus)
  status!: JobStatus;

  @Field(() => Float, {
    description: 'Share done, 0…1: segments encoded of those planned; 1 once SUCCEEDED.',
  })
  progress!: number;

  @Field(() => Int)
  doneSteps!: number;

  @Field(() => Int, { nullable: true, description: 'Segments planned; null until the video is probed.' })
  totalSteps!: number | null;

  @Field(() => Int, { description: 'Runs started (more than 1 after a retry).' })
  attempts!: number;

  @Field(() => ErrorInfo, {
    nullable: true,
    description: 'Why it FAILED or was CANCELLED (or why a retry is pending).',
  })
  error!: ErrorInfo | null;

  @Field(() => ID, {
    nullable: true,
    description: 'The video worked on, once known; null after it was deleted.',
  })
  videoId!: string | null;

  @Field(() => String, { nullable: true, description: 'The model (`name@version`) the job encodes with.' })
  model!: string | null;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => GraphQLDateTime, { nullable: true })
  startedAt!: Date | null;

  @Field(() => GraphQLDateTime, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => GraphQLDateTime)
  updatedAt!: Date;
}

@ObjectType({ description: 'A page of jobs, newest first.' })
export class JobConnection extends Connection(Job, 'JobEdge') {}

@ObjectType({
  description:
    'Where to PUT one video: the bytes go in the request body (at most maxBytes); the response body names the ingest job.',
})
export class UploadTicket {
  @Field(() => ID)
  uploadId!: string;

  @Field(() => String, { description: 'Single-use URL on this server; PUT the file to it before expiresAt.' })
  uploadUrl!: string;

  @Field(() => String, {
    description: 'Where the bytes will be stored (identical bytes already stored are reused).',
  })
  objectKey!: string;

  @Field(() => GraphQLDateTime)
  expiresAt!: Date;

  @Field(() => GraphQLSafeInt, {
    description: 'The declared size: a longer body is refused (413, LIMIT_EXCEEDED).',
  })
  maxBytes!: number;
}

@ObjectType({ description: 'The outcome of deleteVideo.' })
export class VideoDeletion {
  @Field(() => ID)
  videoId!: string;

  @Field(() => Boolean, { description: 'False when there was nothing to delete (deleting is idempotent).' })
  deleted!: boolean;

  @Field(() => Int, { description: 'Segments removed with it.' })
  segments!: number;
}

export function toJob(record: JobRecord): Job {
  return Object.assign(new Job(), {
    id: record.id,
    kind: record.kind as JobKind,
    status: record.status as JobStatus,
    progress: progressOf(record),
    doneSteps: record.doneSteps,
    totalSteps: record.totalSteps,
    attempts: record.attempts,
    error: toErrorInfo(record.error),
    videoId: record.videoId,
    model: record.model,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    updatedAt: record.updatedAt,
  });
}
