import 'reflect-metadata';

import { randomUUID } from 'node:crypto';

import type { ExecutionResult, GraphQLSchema } from 'graphql';
import { graphql, parse, subscribe } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_TENANT_ID } from '../../../src/core/tenancy.js';
import { HbiError } from '../../../src/core/errors.js';
import type { GatewayContext, GatewayServices } from '../../../src/core/gateway/context.js';
import type { GatewayPubSub } from '../../../src/core/gateway/schema.js';
import { buildGatewaySchema } from '../../../src/core/gateway/schema.js';
import { toGraphQLError } from '../../../src/core/graphql-errors.js';
import type { SegmentIndexedEvent } from '../../../src/core/ingest/ingest-events.js';
import { SEGMENT_INDEXED } from '../../../src/core/ingest/ingest-events.js';
import type { LibraryServices } from '../../../src/core/library/library.js';
import type { CameraRecord, SegmentRecord, VideoRecord } from '../../../src/core/library/video-catalog.js';
import type { JobRecord } from '../../../src/core/jobs/job-store.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { AsyncQueue } from '../../../src/core/util/async-queue.js';
import { NO_MEDIA } from '../../../src/core/media/media-links.js';

type Json = Record<string, any>;

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const CAMERA_ID = randomUUID();

const cameras: CameraRecord[] = ['lobby', 'dock', 'gate'].map((name, i) => ({
  id: i === 0 ? CAMERA_ID : randomUUID(),
  name,
  status: 'ONLINE',
  createdAt: at(i),
  lastSeenAt: null,
}));
const videos: VideoRecord[] = Array.from({ length: 5 }, (_, i) => ({
  id: randomUUID(),
  tenantId: 't',
  cameraId: i % 2 === 0 ? CAMERA_ID : null,
  title: `clip ${i}`,
  sourceUri: `upload:clip-${i}.mp4`,
  sizeBytes: 3_000_000_000 + i,
  durationMs: 3000,
  width: 128,
  height: 128,
  fps: 8,
  container: 'mov,mp4',
  codec: 'h264',
  status: i === 4 ? 'FAILED' : 'INDEXED',
  error:
    i === 4
      ? { code: 'VIDEO_UNREADABLE', message: 'The file is not a readable video', retriable: false }
      : null,
  capturedAt: i % 2 === 0 ? at(100 + i) : null,
  createdAt: at(10 + i),
  updatedAt: at(10 + i),
}));
const segments: SegmentRecord[] = [0, 1, 2].map((index) => ({
  id: randomUUID(),
  videoId: videos[0]!.id,
  index,
  startMs: index * 8000,
  endMs: index * 8000 + 10_000,
  createdAt: at(20),
}));
const job = (i: number, status: JobRecord['status']): JobRecord => ({
  id: randomUUID(),
  tenantId: 't',
  kind: 'INGEST',
  status,
  videoId: videos[i]!.id,
  model: 'hbi-fixture-tiny@0.0.1',
  doneSteps: status === 'SUCCEEDED' ? 2 : 1,
  totalSteps: 2,
  attempts: 1,
  error: null,
  createdAt: at(30 + i),
  startedAt: at(30 + i),
  finishedAt: null,
  updatedAt: at(30 + i),
});
const jobs = [job(0, 'SUCCEEDED'), job(1, 'RUNNING'), job(2, 'SUCCEEDED')];

const newestFirst = <T extends { createdAt: Date; id: string }>(
  rows: T[],
  after?: { createdAt: Date; id: string },
) =>
  [...rows]
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id.localeCompare(a.id))
    .filter(
      (row) =>
        !after ||
        row.createdAt.getTime() < after.createdAt.getTime() ||
        (row.createdAt.getTime() === after.createdAt.getTime() && row.id < after.id),
    );

/** In-memory stand-ins with the catalog's and job store's paging contract; requests are recorded. */
function fakeLibrary(
  calls: { method: string; args: unknown[] }[],
  watch: LibraryServices['watcher']['watch'],
) {
  const record =
    <T>(method: string, answer: (...args: any[]) => T) =>
    async (...args: unknown[]) => {
      calls.push({ method, args });
      return answer(...args);
    };
  const library: LibraryServices = {
    catalog: {
      video: async (_tenant, id) => videos.find((video) => video.id === id),
      videos: async (_tenant, options) => {
        const matching = videos.filter(
          (video) =>
            (!options.cameraId || video.cameraId === options.cameraId) &&
            (!options.status || video.status === options.status),
        );
        return {
          videos: newestFirst(matching, options.after).slice(0, options.limit),
          totalCount: matching.length,
        };
      },
      segment: async (_tenant, id) => segments.find((segment) => segment.id === id),
      segments: async (_tenant, videoId, options) => {
        const matching = segments.filter((segment) => segment.videoId === videoId);
        const page = matching.filter((segment) => segment.index > (options.afterIndex ?? -1));
        return { segments: page.slice(0, options.limit), totalCount: matching.length };
      },
      camera: async (_tenant, id) => cameras.find((camera) => camera.id === id),
      cameras: async (_tenant, options) => {
        const sorted = [...cameras].sort((a, b) => a.name.localeCompare(b.name));
        const page = sorted.filter((camera) => !options.afterName || camera.name > options.afterName);
        return { cameras: page.slice(0, options.limit), totalCount: cameras.length };
      },
    },
    jobs: {
      get: async (_tenant, id) => jobs.find((candidate) => candidate.id === id),
      list: async (_tenant, options) => {
        const matching = jobs.filter((candidate) => !options.status || candidate.status === options.status);
        return {
          jobs: newestFirst(matching, options.after).slice(0, options.limit),
          totalCount: matching.length,
        };
      },
    },
    watcher: { watch },
    cameras: {
      register: record('registerCamera', () => cameras[0]!),
      setStatus: record('setCameraStatus', () => cameras[0]!),
    },
    requests: {
      ingest: record('ingest', (input: Json) => {
        if (input.path === '/etc/passwd')
          throw new HbiError('BAD_USER_INPUT', 'Only files inside the ingest folders');
        return jobs[1]!;
      }),
      createUpload: record('createUpload', (input: Json) => ({
        uploadId: 'u-1',
        uploadUrl: `${input.origin}/uploads/token`,
        objectKey: 'uploads/u-1.mp4',
        expiresAt: at(999),
        maxBytes: input.sizeBytes,
      })),
      receiveUpload: record('receiveUpload', () => {
        throw new Error('not over GraphQL');
      }),
      reindexVideo: record('reindexVideo', () => ({ ...jobs[0]!, kind: 'REINDEX', status: 'QUEUED' })),
      reindexAll: record('reindexAll', () => ({
        ...jobs[0]!,
        kind: 'REINDEX',
        videoId: null,
        status: 'QUEUED',
      })),
      deleteVideo: record('deleteVideo', (id: string) => ({
        videoId: id,
        deleted: id === videos[3]!.id,
        segments: 0,
      })),
    },
  };
  return library;
}

describe('library, job and ingest resolvers (in-process fakes)', () => {
  let schema: GraphQLSchema;
  let pubSub: GatewayPubSub;
  const logger = createMemoryLogger();
  const calls: { method: string; args: unknown[] }[] = [];
  let watch: LibraryServices['watcher']['watch'] = () => Promise.reject(new Error('unset'));
  let context: GatewayContext;

  beforeAll(async () => {
    ({ schema, pubSub } = await buildGatewaySchema([]));
    const services = {
      config: { maxPageSize: 10, maxQueryDepth: 12, maxQueryComplexity: 2000, maxRequestBytes: 1 << 20 },
      logger,
      library: fakeLibrary(calls, (...args) => watch(...args)),
      audit: { record: async () => undefined, list: async () => [] },
    } as unknown as GatewayServices;
    context = {
      services,
      media: NO_MEDIA,
      principal: { tenantId: DEFAULT_TENANT_ID, role: 'admin', kind: 'key', id: 'test' },
      tenantId: DEFAULT_TENANT_ID,
      tasks: { run: () => Promise.reject(new Error('no tasks in this test')) },
      requestId: 'test',
      origin: 'http://api.test:4000',
    };
  });

  const run = async (
    source: string,
    variableValues: Json = {},
  ): Promise<{ data: Json; codes: unknown[] }> => {
    const result = await graphql({ schema, source, variableValues, contextValue: context });
    // As a client receives it: JSON (DateTime values serialise to ISO strings).
    return {
      data: JSON.parse(JSON.stringify(result.data ?? null)) as Json,
      codes: (result.errors ?? []).map((error) => toGraphQLError(error, logger).extensions.code),
    };
  };

  it('looks up one video with its fields, and answers NOT_FOUND with a null for unknown ids', async () => {
    const video = videos[4]!;
    const { data } = await run(
      `query ($id: ID!) { video(id: $id) { id title status sizeBytes durationMs cameraId capturedAt createdAt error { code message retriable } } }`,
      { id: video.id },
    );
    expect(data.video).toEqual({
      id: video.id,
      title: 'clip 4',
      status: 'FAILED',
      sizeBytes: 3_000_000_004,
      durationMs: 3000,
      cameraId: CAMERA_ID,
      capturedAt: at(104).toISOString(),
      createdAt: at(14).toISOString(),
      error: { code: 'VIDEO_UNREADABLE', message: 'The file is not a readable video', retriable: false },
    });
    for (const id of [randomUUID(), 'not-an-id']) {
      expect(await run(`query ($id: ID!) { video(id: $id) { id } }`, { id })).toEqual({
        data: { video: null },
        codes: ['NOT_FOUND'],
      });
    }
  });

  it('pages videos newest first with keyset cursors, filtered by camera and status', async () => {
    const PAGE = `query ($first: Int, $after: String, $cameraId: ID, $status: VideoStatus) {
      videos(first: $first, after: $after, cameraId: $cameraId, status: $status) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { title } } } }`;
    const first = (await run(PAGE, { first: 2 })).data.videos;
    expect(first.totalCount).toBe(5);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(first.edges.map((edge: Json) => edge.node.title)).toEqual(['clip 4', 'clip 3']);
    const rest = (await run(PAGE, { first: 10, after: first.pageInfo.endCursor })).data.videos;
    expect(rest.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(rest.edges.map((edge: Json) => edge.node.title)).toEqual(['clip 2', 'clip 1', 'clip 0']);
    const byCamera = (await run(PAGE, { cameraId: CAMERA_ID, status: 'INDEXED' })).data.videos;
    expect(byCamera.edges.map((edge: Json) => edge.node.title)).toEqual(['clip 2', 'clip 0']);
    expect((await run(PAGE, { first: 11 })).codes).toEqual(['LIMIT_EXCEEDED']);
    expect((await run(PAGE, { after: 'bogus' })).codes).toEqual(['BAD_USER_INPUT']);
    const foreign = Buffer.from(JSON.stringify(['job', 1, randomUUID()])).toString('base64url');
    expect((await run(PAGE, { after: foreign })).codes).toEqual(['BAD_USER_INPUT']);
    expect((await run(PAGE, { cameraId: 'camera-1' })).codes).toEqual(['BAD_USER_INPUT']);
  });

  it("pages a video's segments in timeline order, and links segments back to their video", async () => {
    const video = videos[0]!;
    const nested = await run(
      `query ($id: ID!) { video(id: $id) { segments(first: 2) { totalCount pageInfo { endCursor hasNextPage } edges { node { index startMs endMs } } } } }`,
      { id: video.id },
    );
    const page = nested.data.video.segments;
    expect(page.totalCount).toBe(3);
    expect(page.edges.map((edge: Json) => edge.node.index)).toEqual([0, 1]);
    const rest = await run(
      `query ($videoId: ID!, $after: String) { segments(videoId: $videoId, after: $after) { edges { node { index videoId } } } }`,
      { videoId: video.id, after: page.pageInfo.endCursor },
    );
    expect(rest.data.segments.edges).toEqual([{ node: { index: 2, videoId: video.id } }]);
    const one = await run(`query ($id: ID!) { segment(id: $id) { index video { title camera { name } } } }`, {
      id: segments[1]!.id,
    });
    expect(one.data.segment).toEqual({ index: 1, video: { title: 'clip 0', camera: { name: 'lobby' } } });
    expect((await run(`{ segments(videoId: "${randomUUID()}") { totalCount } }`)).codes).toEqual([
      'NOT_FOUND',
    ]);
    expect((await run(`{ segment(id: "${randomUUID()}") { id } }`)).codes).toEqual(['NOT_FOUND']);
  });

  it('pages cameras by name', async () => {
    const first = (
      await run(`{ cameras(first: 2) { totalCount pageInfo { endCursor } edges { node { name status } } } }`)
    ).data.cameras;
    expect(first.edges.map((edge: Json) => edge.node.name)).toEqual(['dock', 'gate']);
    const rest = await run(`query ($after: String) { cameras(after: $after) { edges { node { name } } } }`, {
      after: first.pageInfo.endCursor,
    });
    expect(rest.data.cameras.edges).toEqual([{ node: { name: 'lobby' } }]);
    expect((await run(`{ camera(id: "${CAMERA_ID}") { name } }`)).data.camera).toEqual({ name: 'lobby' });
    expect((await run(`{ camera(id: "${randomUUID()}") { name } }`)).codes).toEqual(['NOT_FOUND']);
  });

  it('pages jobs newest first by status, with progress and their video', async () => {
    const all = (await run(`{ jobs { totalCount edges { node { id status progress video { title } } } } }`))
      .data.jobs;
    expect(all.totalCount).toBe(3);
    expect(
      all.edges.map((edge: Json) => [edge.node.status, edge.node.progress, edge.node.video.title]),
    ).toEqual([
      ['SUCCEEDED', 1, 'clip 2'],
      ['RUNNING', 0.5, 'clip 1'],
      ['SUCCEEDED', 1, 'clip 0'],
    ]);
    const succeeded = (await run(`{ jobs(status: SUCCEEDED, first: 1) { pageInfo { hasNextPage } } }`)).data
      .jobs;
    expect(succeeded.pageInfo.hasNextPage).toBe(true);
    expect((await run(`{ job(id: "${jobs[1]!.id}") { kind doneSteps totalSteps model } }`)).data.job).toEqual(
      {
        kind: 'INGEST',
        doneSteps: 1,
        totalSteps: 2,
        model: 'hbi-fixture-tiny@0.0.1',
      },
    );
    expect((await run(`{ job(id: "nope") { id } }`)).codes).toEqual(['NOT_FOUND']);
  });

  it('hands mutations to the request side with their arguments and the origin the client used', async () => {
    calls.length = 0;
    const upload = await run(
      `mutation { createUpload(filename: "a.mp4", contentType: "video/mp4", sizeBytes: 3000000000, title: "A") {
        uploadUrl objectKey maxBytes expiresAt } }`,
    );
    expect(upload.data.createUpload).toEqual({
      uploadUrl: 'http://api.test:4000/uploads/token',
      objectKey: 'uploads/u-1.mp4',
      maxBytes: 3_000_000_000,
      expiresAt: at(999).toISOString(),
    });
    const ingest = await run(
      `mutation { ingestVideo(url: "https://example.com/a.mp4", title: "A") { id status } }`,
    );
    expect(ingest.data.ingestVideo).toEqual({ id: jobs[1]!.id, status: 'RUNNING' });
    const refused = await run(`mutation { ingestVideo(path: "/etc/passwd", title: "x") { id } }`);
    expect(refused).toEqual({ data: null, codes: ['BAD_USER_INPUT'] });
    const deleted = await run(`mutation ($id: ID!) { deleteVideo(id: $id) { videoId deleted } }`, {
      id: videos[3]!.id,
    });
    expect(deleted.data.deleteVideo).toEqual({ videoId: videos[3]!.id, deleted: true });
    expect(
      (await run(`mutation { reindexVideo(id: "${videos[0]!.id}") { kind status } }`)).data.reindexVideo,
    ).toEqual({ kind: 'REINDEX', status: 'QUEUED' });
    expect((await run(`mutation { reindexAll { kind videoId } }`)).data.reindexAll).toEqual({
      kind: 'REINDEX',
      videoId: null,
    });
    expect(calls.map((call) => call.method)).toEqual([
      'createUpload',
      'ingest',
      'ingest',
      'deleteVideo',
      'reindexVideo',
      'reindexAll',
    ]);
    expect(calls[0]!.args[0]).toMatchObject({
      filename: 'a.mp4',
      sizeBytes: 3_000_000_000,
      origin: 'http://api.test:4000',
    });
    expect(calls[1]!.args[0]).toMatchObject({ url: 'https://example.com/a.mp4', title: 'A' });
    expect(calls.at(-1)!.args[0]).toBe(false);
  });

  const subscription = async (source: string, variableValues: Json = {}) => {
    const result = await subscribe({
      schema,
      document: parse(source),
      variableValues,
      contextValue: context,
    });
    if (!(Symbol.asyncIterator in result)) return { error: result.errors, stream: undefined };
    return { error: undefined, stream: result as AsyncGenerator<ExecutionResult> };
  };

  it('streams jobProgress from the watcher until it ends', async () => {
    const queue = new AsyncQueue<JobRecord>();
    watch = async (_tenant, jobId) =>
      jobId === jobs[1]!.id ? queue : Promise.reject(new HbiError('NOT_FOUND', 'no'));
    const { stream } = await subscription(
      `subscription ($id: ID!) { jobProgress(jobId: $id) { status progress } }`,
      {
        id: jobs[1]!.id,
      },
    );
    queue.push(jobs[1]!);
    queue.push({ ...jobs[1]!, status: 'SUCCEEDED', doneSteps: 2 });
    queue.end();
    const seen: unknown[] = [];
    for await (const result of stream!) seen.push(result.data);
    expect(seen).toEqual([
      { jobProgress: { status: 'RUNNING', progress: 0.5 } },
      { jobProgress: { status: 'SUCCEEDED', progress: 1 } },
    ]);
    const missing = await subscription(`subscription { jobProgress(jobId: "${randomUUID()}") { status } }`);
    expect(missing.error?.map((error) => toGraphQLError(error, logger).extensions.code)).toEqual([
      'NOT_FOUND',
    ]);
  });

  it('streams segmentIndexed, only of the video or camera asked for', async () => {
    const { stream } = await subscription(
      `subscription ($videoId: ID) { segmentIndexed(videoId: $videoId) { id index video { title } } }`,
      { videoId: videos[0]!.id },
    );
    const byCamera = (
      await subscription(`subscription { segmentIndexed(cameraId: "${CAMERA_ID}") { index } }`)
    ).stream!;
    const event = (video: VideoRecord, index: number): SegmentIndexedEvent => ({
      segmentId: randomUUID(),
      videoId: video.id,
      // The subscriber's tenant: subscriptions deliver only their own tenant's events.
      tenantId: DEFAULT_TENANT_ID,
      cameraId: video.cameraId,
      index,
      startMs: 0,
      endMs: 1000,
      createdAt: at(50).toISOString(),
      model: 'm@1',
    });
    const next = stream!.next();
    const nextByCamera = byCamera.next();
    pubSub.publish(SEGMENT_INDEXED, event(videos[1]!, 7));
    const wanted = event(videos[0]!, 3);
    pubSub.publish(SEGMENT_INDEXED, wanted);
    expect((await next).value).toEqual({
      data: { segmentIndexed: { id: wanted.segmentId, index: 3, video: { title: 'clip 0' } } },
    });
    expect((await nextByCamera).value).toEqual({ data: { segmentIndexed: { index: 3 } } });
    await stream!.return(undefined);
    await byCamera.return(undefined);
  });
});
