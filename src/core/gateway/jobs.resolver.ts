/**
 * Jobs as clients see them: `job`, `jobs` (newest first) and `jobProgress`, a graphql-ws subscription
 * that sends the job's current state, then each change, and completes after the final one.
 */
import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root, Subscription } from 'type-graphql';

import { Policy } from '../auth/policy.js';
import type { SubscribeResolverData } from 'type-graphql';

import { HbiError } from '../errors.js';
import type { JobRecord } from '../jobs/job-store.js';
import { isUuid } from '../util/ids.js';
import { checkPageSize, decodeCursor, encodeCursor, toConnection } from './connections.js';
import type { GatewayContext } from './context.js';
import { Job, JobConnection, JobStatus, toJob } from './jobs.types.js';
import { libraryOf, notFound, tenantOf } from './library.resolver.js';
import { Video, toVideo } from './library.types.js';

@Resolver(() => Job)
export class JobResolver {
  @Policy('read')
  @Query(() => Job, { nullable: true, description: 'One job by id.' })
  async job(@Arg('id', () => ID) id: string, @Ctx() context: GatewayContext): Promise<Job> {
    const record = await libraryOf(context).jobs.get(tenantOf(context), id);
    if (!record) throw notFound('Job', id);
    return toJob(record);
  }

  @Policy('read')
  @Query(() => JobConnection, { description: 'Jobs, newest first.' })
  async jobs(
    @Arg('first', () => Int, {
      nullable: true,
      description: 'Page size: at most the server limit; 20 (or that limit) when omitted.',
    })
    first: number | null | undefined,
    @Arg('after', () => String, { nullable: true, description: 'endCursor of the previous page.' })
    after: string | null | undefined,
    @Arg('status', () => JobStatus, { nullable: true }) status: JobStatus | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<JobConnection> {
    const limit = checkPageSize(first, context.services.config.maxPageSize);
    const key = after ? decodeCursor('job', after, 2) : undefined;
    if (key && (typeof key[0] !== 'number' || typeof key[1] !== 'string' || !isUuid(key[1])))
      throw new HbiError('BAD_USER_INPUT', `Invalid cursor ${JSON.stringify(after)}`);
    const page = await libraryOf(context).jobs.list(tenantOf(context), {
      limit: limit + 1,
      ...(key ? { after: { createdAt: new Date(key[0]!), id: String(key[1]) } } : {}),
      ...(status ? { status: status } : {}),
    });
    return Object.assign(
      new JobConnection(),
      toConnection(page.jobs, {
        first: limit,
        after,
        totalCount: page.totalCount,
        cursor: (job) => encodeCursor('job', [job.createdAt.getTime(), job.id]),
        node: toJob,
      }),
    );
  }

  @FieldResolver(() => Video, { nullable: true, description: 'The video worked on, once known.' })
  async video(@Root() job: Job, @Ctx() context: GatewayContext): Promise<Video | null> {
    if (!job.videoId) return null;
    const record = await libraryOf(context).catalog.video(tenantOf(context), job.videoId);
    return record ? toVideo(record) : null;
  }

  @Policy('read')
  @Subscription(() => Job, {
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { jobId: string }, GatewayContext>) =>
      libraryOf(context).watcher.watch(tenantOf(context), args.jobId),
    description:
      "A job's state now, then after each change (progress, status), completing after the final state. NOT_FOUND for an unknown job.",
  })
  jobProgress(@Root() job: JobRecord, @Arg('jobId', () => ID) _jobId: string): Job {
    return toJob(job);
  }
}
