/**
 * The mutations a frontend ingests with: `createUpload` (then PUT the bytes to the URL it returns),
 * `ingestVideo` (a server path inside the ingest folders, or an http(s) URL), `reindexVideo`,
 * `reindexAll` and `deleteVideo`. Each answers at once; jobs report the rest.
 */
import { GraphQLDateTime, GraphQLSafeInt } from 'graphql-scalars';
import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';

import { Policy } from '../auth/policy.js';
import { Cost } from './cost.js';

import type { GatewayContext } from './context.js';
import { Job, UploadTicket, VideoDeletion, toJob } from './jobs.types.js';
import { libraryOf, tenantOf } from './library.resolver.js';

const CAPTURED_AT =
  "Wall-clock time the video's first frame was recorded (a camera segment): the video's capturedAt, used by search's recordedAfter/recordedBefore.";

@Resolver()
export class IngestResolver {
  @Policy('write')
  @Cost(100)
  @Mutation(() => UploadTicket, {
    description:
      'A single-use URL to PUT one video to (at most sizeBytes, before expiresAt); the PUT answers with the id of the ingest job it starts.',
  })
  async createUpload(
    @Arg('filename', () => String) filename: string,
    @Arg('contentType', () => String) contentType: string,
    @Arg('sizeBytes', () => GraphQLSafeInt, {
      description: 'Exact size of the file; the upload limit applies.',
    })
    sizeBytes: number,
    @Arg('title', () => String, { nullable: true }) title: string | null | undefined,
    @Arg('cameraId', () => ID, { nullable: true }) cameraId: string | null | undefined,
    @Arg('capturedAt', () => GraphQLDateTime, { nullable: true, description: CAPTURED_AT })
    capturedAt: Date | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<UploadTicket> {
    const ticket = await libraryOf(context).requests.createUpload(
      { filename, contentType, sizeBytes, title, cameraId, capturedAt, origin: context.origin ?? '' },
      tenantOf(context),
      context.principal?.kind === 'key' ? context.principal.id : null,
    );
    return Object.assign(new UploadTicket(), ticket);
  }

  @Policy('write')
  @Cost(100)
  @Mutation(() => Job, {
    description:
      'Queues the ingest of a file on the server (inside HBI_INGEST_ROOTS) or of an http(s) URL; give exactly one.',
  })
  async ingestVideo(
    @Arg('path', () => String, { nullable: true }) path: string | null | undefined,
    @Arg('url', () => String, { nullable: true }) url: string | null | undefined,
    @Arg('title', () => String) title: string,
    @Arg('cameraId', () => ID, { nullable: true }) cameraId: string | null | undefined,
    @Arg('idempotencyKey', () => String, {
      nullable: true,
      description: 'Sending the same key again returns the first job instead of queuing another.',
    })
    idempotencyKey: string | null | undefined,
    @Arg('capturedAt', () => GraphQLDateTime, { nullable: true, description: CAPTURED_AT })
    capturedAt: Date | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<Job> {
    const job = await libraryOf(context).requests.ingest(
      { path, url, title, cameraId, idempotencyKey, capturedAt },
      tenantOf(context),
    );
    return toJob(job);
  }

  @Policy('write')
  @Cost(10)
  @Mutation(() => VideoDeletion, {
    description:
      'Removes a video with its segments, vectors, cached answers and stored object; idempotent (deleted: false when there was nothing).',
  })
  async deleteVideo(@Arg('id', () => ID) id: string, @Ctx() context: GatewayContext): Promise<VideoDeletion> {
    const deletion = await libraryOf(context).requests.deleteVideo(id, tenantOf(context));
    if (deletion.deleted) await audit(context, 'video.delete', id);
    return Object.assign(new VideoDeletion(), deletion);
  }

  @Policy('write')
  @Cost(100)
  @Mutation(() => Job, {
    description:
      'Queues a re-encode of one video with the loaded model (the running one, if any, is returned).',
  })
  async reindexVideo(@Arg('id', () => ID) id: string, @Ctx() context: GatewayContext): Promise<Job> {
    const job = await libraryOf(context).requests.reindexVideo(id, tenantOf(context));
    await audit(context, 'video.reindex', id, { jobId: job.id });
    return toJob(job);
  }

  @Policy('write')
  @Cost(100)
  @Mutation(() => Job, {
    description:
      'Queues a re-encode of every video the loaded model has not encoded yet (all of them with force); resumable, one job at a time.',
  })
  async reindexAll(
    @Arg('force', () => Boolean, { defaultValue: false }) force: boolean,
    @Ctx() context: GatewayContext,
  ): Promise<Job> {
    const job = await libraryOf(context).requests.reindexAll(force, tenantOf(context));
    await audit(context, 'library.reindex', null, { jobId: job.id, force });
    return toJob(job);
  }
}

/** Records a change in the audit log, by the request's principal, from the request's source. */
async function audit(
  context: GatewayContext,
  action: string,
  target: string | null,
  details?: Record<string, unknown>,
): Promise<void> {
  if (!context.principal) return;
  await context.services.audit.record(context.principal, {
    tenantId: context.tenantId,
    action,
    target,
    source: context.source ?? null,
    ...(details ? { details } : {}),
  });
}
