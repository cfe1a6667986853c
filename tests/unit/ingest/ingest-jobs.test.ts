import 'reflect-metadata';

import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import type { JobQueuedEvent, VideoDeletedEvent } from '../../../src/core/ingest/ingest-events.js';
import { JOB_QUEUED, VIDEO_DELETED } from '../../../src/core/ingest/ingest-events.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/ingest/video-ingestor.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { Platform } from '../../../src/core/platform.js';
import { startPlatform } from '../../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import { TINY_PACKAGE, eventually, tempDir } from '../../helpers/fixtures.js';
import type { GatewayClient } from '../../helpers/gateway-client.js';
import { JOB_FIELDS, gatewayClient } from '../../helpers/gateway-client.js';
import { makeColorMp4, makeMp4 } from '../../helpers/videos.js';
import { systemView } from '../../helpers/system-scope.js';

type Json = Record<string, any>;

const INGEST = `mutation ($path: String, $url: String, $title: String!, $cameraId: ID, $key: String) {
  ingestVideo(path: $path, url: $url, title: $title, cameraId: $cameraId, idempotencyKey: $key) { ${JOB_FIELDS} } }`;

describe('ingest jobs on the embedded platform (fixture model)', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let client: GatewayClient;
  let pattern: string;
  let red: string;
  let fileServer: ReturnType<typeof createServer>;
  let fileBase: string;
  let patternVideoId: string;
  const deleted: VideoDeletedEvent[] = [];

  beforeAll(async () => {
    temp = await tempDir('hbi-ingest-jobs-');
    const roots = path.join(temp.dir, 'ingest');
    await mkdir(roots);
    const config = loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_INGEST_ROOTS: roots,
      // The test's file server is on loopback.
      HBI_INGEST_URL_PRIVATE: 'true',
      // A 2 s clip becomes two segments, so progress has steps to show.
      HBI_SEGMENT_WINDOW_MS: '1000',
      HBI_SEGMENT_OVERLAP_MS: '0',
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    client = gatewayClient(platform.gateway.url, platform.adminKey);
    pattern = await makeMp4(platform.kernel.ffmpeg, roots);
    red = await makeColorMp4(platform.kernel.ffmpeg, roots, 'red');
    fileServer = createServer((request, response) => {
      if (request.url === '/pattern.mp4') void readFile(pattern).then((bytes) => response.end(bytes));
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => fileServer.listen(0, '127.0.0.1', resolve));
    fileBase = `http://127.0.0.1:${(fileServer.address() as AddressInfo).port}`;
    await platform.kernel.events.subscribe<VideoDeletedEvent>({
      topics: [VIDEO_DELETED],
      group: 'test',
      handler: async (message) => void deleted.push(message.value),
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => fileServer?.close(resolve));
    await platform?.stop();
    await temp?.cleanup();
  });

  const counts = async () =>
    (
      await systemView(platform.kernel.db).query<{
        videos: number;
        segments: number;
        embeddings: number;
        jobs: number;
      }>(
        `SELECT (SELECT count(*)::int FROM "videos") AS "videos", (SELECT count(*)::int FROM "segments") AS "segments",
                (SELECT count(*)::int FROM "segment_embeddings") AS "embeddings", (SELECT count(*)::int FROM "jobs") AS "jobs"`,
      )
    ).rows[0]!;

  it('ingests a file from an ingest folder as a job whose progress counts segments', async () => {
    const queued = await client.graphql(INGEST, { path: pattern, title: 'pattern' });
    const job = queued.body.data.ingestVideo as Json;
    expect(job).toMatchObject({ kind: 'INGEST', progress: 0, error: null });
    const ws = client.webSocket();
    try {
      const states = await client.collect(
        ws,
        `subscription ($id: ID!) { jobProgress(jobId: $id) { status progress doneSteps totalSteps videoId } }`,
        { id: job.id },
      );
      const last = states.at(-1)!.data.jobProgress as Json;
      expect(last).toMatchObject({ status: 'SUCCEEDED', progress: 1, doneSteps: 2, totalSteps: 2 });
      const progress = states.map((state) => state.data.jobProgress.progress as number);
      expect([...progress].sort((a, b) => a - b)).toEqual(progress);
      patternVideoId = last.videoId as string;
    } finally {
      await ws.dispose();
    }
    const { body } = await client.graphql(
      `query ($id: ID!) { video(id: $id) { title status durationMs width height sourceUri segments { totalCount edges { node { index startMs endMs } } } } }`,
      { id: patternVideoId },
    );
    expect(body.data.video).toMatchObject({ title: 'pattern', status: 'INDEXED', width: 64, height: 48 });
    expect(body.data.video.segments.edges.map((edge: Json) => edge.node.index)).toEqual([0, 1]);
  });

  it('maps the same bytes to the same video from any source, and ignores a redelivered request', async () => {
    const before = await counts();
    const fromUrl = await client.graphql(INGEST, { url: `${fileBase}/pattern.mp4`, title: 'again' });
    const job = await client.finishedJob(fromUrl.body.data.ingestVideo.id as string);
    expect(job).toMatchObject({ status: 'SUCCEEDED', videoId: patternVideoId, progress: 1 });
    expect(await counts()).toEqual({ ...before, jobs: before.jobs + 1 });
    // The same request delivered again (at-least-once) finds its job finished and does nothing.
    const request: JobQueuedEvent = {
      kind: 'ingest',
      jobId: job.id as string,
      tenantId: DEFAULT_TENANT_ID,
      source: { kind: 'url', url: `${fileBase}/pattern.mp4` },
      title: 'again',
      cameraId: null,
      sourceUri: 'x',
    };
    await platform.kernel.events.publish(JOB_QUEUED, [{ key: job.id as string, value: request }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await client.finishedJob(job.id as string)).toEqual(job);
    expect(await counts()).toEqual({ ...before, jobs: before.jobs + 1 });
    // A retried request with the same idempotency key gets the same job.
    const first = await client.graphql(INGEST, { path: pattern, title: 'p', key: 'client-retry-1' });
    const retried = await client.graphql(INGEST, { path: pattern, title: 'p', key: 'client-retry-1' });
    expect(retried.body.data.ingestVideo.id).toBe(first.body.data.ingestVideo.id);
    // The same key with another request (another title, another source) is a conflict, not the first job.
    for (const other of [
      { path: pattern, title: 'q' },
      { url: `${fileBase}/pattern.mp4`, title: 'p' },
    ]) {
      const reused = await client.graphql(INGEST, { ...other, key: 'client-retry-1' });
      expect(reused.body.data).toBeNull();
      expect(reused.body.errors[0]).toMatchObject({
        message: expect.stringMatching(/already used for a different request/),
        extensions: { code: 'CONFLICT', details: { jobId: first.body.data.ingestVideo.id } },
      });
    }
    await client.finishedJob(first.body.data.ingestVideo.id as string);
  });

  it('refuses sources it may not read before any job exists', async () => {
    const before = await counts();
    const cases: [Json, string][] = [
      [{ path: '/etc/passwd' }, 'BAD_USER_INPUT'],
      [{ path: path.join(temp.dir, 'data', 'db', 'PG_VERSION') }, 'BAD_USER_INPUT'],
      [{ path: path.join(path.dirname(pattern), 'missing.mp4') }, 'NOT_FOUND'],
      [{ url: 'file:///etc/passwd' }, 'BAD_USER_INPUT'],
      [{ path: pattern, url: `${fileBase}/pattern.mp4` }, 'BAD_USER_INPUT'],
      [{}, 'BAD_USER_INPUT'],
      [{ path: pattern, cameraId: randomUUID() }, 'NOT_FOUND'],
    ];
    for (const [variables, code] of cases) {
      const answer = await client.graphql(INGEST, { title: 't', ...variables });
      expect(client.codes(answer), JSON.stringify(variables)).toEqual([code]);
      expect(JSON.stringify(answer.body)).not.toContain(temp.dir);
    }
    expect(await counts()).toEqual(before);
  });

  it("records a camera's video and pushes its segments to segmentIndexed(cameraId)", async () => {
    const cameraId = randomUUID();
    await systemView(platform.kernel.db).query(
      `INSERT INTO "cameras" ("id", "tenant_id", "name", "status") VALUES ($1, $2, 'dock', 'ONLINE')`,
      [cameraId, DEFAULT_TENANT_ID],
    );
    const ws = client.webSocket();
    try {
      const segments = client.collect(
        ws,
        `subscription ($cameraId: ID) { segmentIndexed(cameraId: $cameraId) { index videoId video { title } } }`,
        { cameraId },
        () => true,
      );
      // The subscription is live only once the server handled it; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const queued = await client.graphql(INGEST, { path: red, title: 'red', cameraId });
      await client.finishedJob(queued.body.data.ingestVideo.id as string);
      const [first] = await segments;
      expect(first!.data.segmentIndexed).toMatchObject({ index: 0, video: { title: 'red' } });
      const listed = await client.graphql(
        `query ($cameraId: ID) { videos(cameraId: $cameraId) { totalCount edges { node { title camera { name } } } } }`,
        { cameraId },
      );
      expect(listed.body.data.videos).toEqual({
        totalCount: 1,
        edges: [{ node: { title: 'red', camera: { name: 'dock' } } }],
      });
    } finally {
      await ws.dispose();
    }
  });

  it('takes uploads through single-use URLs, refusing more bytes than declared, reuse and forgery', async () => {
    const bytes = await readFile(pattern);
    const upload = await client.upload(bytes, { filename: 'pattern copy.MP4' });
    expect(upload.status).toBe(202);
    expect(upload.body).toMatchObject({ objectKey: upload.ticket.objectKey, sizeBytes: bytes.length });
    // Stored under the tenant's prefix.
    expect(upload.ticket.objectKey).toMatch(/^tenants\/[0-9a-f-]{36}\/uploads\/[0-9a-f-]{36}\.mp4$/);
    const job = await client.finishedJob(upload.body.jobId as string);
    expect(job).toMatchObject({ status: 'SUCCEEDED', videoId: patternVideoId });
    // Identical bytes: the video keeps its first object and the upload's copy is dropped.
    expect(await platform.kernel.storage.head(upload.ticket.objectKey as string)).toBeNull();

    const reused = await fetch(upload.ticket.uploadUrl as string, { method: 'PUT', body: bytes });
    expect(reused.status).toBe(410);
    expect(((await reused.json()) as Json).errors[0].extensions.code).toBe('UPLOAD_EXPIRED');

    const oversize = await client.upload(Buffer.concat([bytes, Buffer.alloc(64)]), {
      declaredBytes: bytes.length,
    });
    expect(oversize.status).toBe(413);
    expect(oversize.body.errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
    expect(await client.finishedJob(oversize.body.jobId as string)).toMatchObject({
      status: 'FAILED',
      error: { code: 'LIMIT_EXCEEDED' },
    });
    expect(await platform.kernel.storage.head(oversize.ticket.objectKey as string)).toBeNull();

    const fresh = await client.graphql(
      `mutation { createUpload(filename: "b.mp4", contentType: "video/mp4", sizeBytes: 10) { uploadUrl } }`,
    );
    const uploadUrl = fresh.body.data.createUpload.uploadUrl as string;
    const forgedUrl = `${uploadUrl.slice(0, -3)}${uploadUrl.endsWith('abc') ? 'abd' : 'abc'}`;
    const forged = await fetch(forgedUrl, { method: 'PUT', body: 'x' });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as Json).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await fetch(uploadUrl)).status).toBe(405);
    const empty = await client.graphql(
      `mutation { createUpload(filename: "a.mp4", contentType: "video/mp4", sizeBytes: 0) { uploadUrl } }`,
    );
    expect(client.codes(empty)).toEqual(['BAD_USER_INPUT']);
    const huge = await client.graphql(
      `mutation { createUpload(filename: "a.mp4", contentType: "video/mp4", sizeBytes: 9000000000000) { uploadUrl } }`,
    );
    expect(client.codes(huge)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('re-encodes one video or every video with the loaded model, with progress', async () => {
    const one = await client.graphql(`mutation ($id: ID!) { reindexVideo(id: $id) { id kind } }`, {
      id: patternVideoId,
    });
    expect(await client.finishedJob(one.body.data.reindexVideo.id as string)).toMatchObject({
      kind: 'REINDEX',
      status: 'SUCCEEDED',
      videoId: patternVideoId,
      doneSteps: 2,
      totalSteps: 2,
    });
    const nothingToDo = await client.graphql(`mutation { reindexAll { id } }`);
    expect(await client.finishedJob(nothingToDo.body.data.reindexAll.id as string)).toMatchObject({
      status: 'SUCCEEDED',
      totalSteps: 0,
      progress: 1,
    });
    const { segments } = await counts();
    const all = await client.graphql(`mutation { reindexAll(force: true) { id } }`);
    expect(await client.finishedJob(all.body.data.reindexAll.id as string)).toMatchObject({
      status: 'SUCCEEDED',
      doneSteps: segments,
      totalSteps: segments,
    });
    expect(
      client.codes(await client.graphql(`mutation { reindexVideo(id: "${randomUUID()}") { id } }`)),
    ).toEqual(['NOT_FOUND']);
  });

  it('fails a corrupt file alone, with a typed error that names no server path', async () => {
    const corrupt = path.join(path.dirname(pattern), 'corrupt.mp4');
    const bytes = await readFile(pattern);
    bytes.fill(0xff, 0, 64);
    await writeFile(corrupt, bytes);
    const text = path.join(path.dirname(pattern), 'notes.mp4');
    await writeFile(text, 'this is text, not a video');
    await copyFile(text, path.join(path.dirname(pattern), 'notes-copy.mp4'));
    for (const file of [corrupt, text]) {
      const queued = await client.graphql(INGEST, { path: file, title: path.basename(file) });
      const job = await client.finishedJob(queued.body.data.ingestVideo.id as string);
      expect(job).toMatchObject({ status: 'FAILED', error: { code: 'VIDEO_UNREADABLE' } });
      expect(job.error.message).not.toMatch(/\/(tmp|work|srv|home)\//);
      expect(JSON.stringify(job)).not.toContain(temp.dir);
      const video = await client.graphql(
        `query ($id: ID!) { video(id: $id) { status error { code message } } }`,
        {
          id: job.videoId,
        },
      );
      expect(video.body.data.video).toMatchObject({ status: 'FAILED', error: { code: 'VIDEO_UNREADABLE' } });
      expect(JSON.stringify(video.body)).not.toContain(temp.dir);
    }
    const resumed = await client.graphql(`mutation { reindexAll { id } }`);
    expect(await client.finishedJob(resumed.body.data.reindexAll.id as string)).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect((await client.graphql('{ health { live ready } }')).body.data.health).toEqual({
      live: true,
      ready: true,
    });
  });

  it('deletes a video with its segments, vectors and object, idempotently', async () => {
    const before = await counts();
    const { rows } = await systemView(platform.kernel.db).query<{ key: string }>(
      `SELECT "object_key" AS "key" FROM "videos" WHERE "id" = $1`,
      [patternVideoId],
    );
    const DELETE = `mutation ($id: ID!) { deleteVideo(id: $id) { videoId deleted segments } }`;
    const first = await client.graphql(DELETE, { id: patternVideoId });
    expect(first.body.data.deleteVideo).toEqual({ videoId: patternVideoId, deleted: true, segments: 2 });
    expect(await counts()).toMatchObject({
      videos: before.videos - 1,
      segments: before.segments - 2,
      embeddings: before.embeddings - 2,
    });
    expect(await platform.kernel.storage.head(rows[0]!.key)).toBeNull();
    expect(client.codes(await client.graphql(`{ video(id: "${patternVideoId}") { id } }`))).toEqual([
      'NOT_FOUND',
    ]);
    await eventually(() =>
      expect(deleted).toEqual([{ videoId: patternVideoId, tenantId: DEFAULT_TENANT_ID, segments: 2 }]),
    );
    const again = await client.graphql(DELETE, { id: patternVideoId });
    expect(again.body.data.deleteVideo).toEqual({ videoId: patternVideoId, deleted: false, segments: 0 });
    expect((await client.graphql(DELETE, { id: 'nope' })).body.data.deleteVideo.deleted).toBe(false);
    // Its jobs stay, as history, no longer pointing at it.
    const { body } = await client.graphql(
      `{ jobs(status: SUCCEEDED, first: 100) { edges { node { videoId } } } }`,
    );
    expect(body.data.jobs.edges.some((edge: Json) => edge.node.videoId === patternVideoId)).toBe(false);
  });

  it('dead-letters a malformed job message at once and lists it through deadLetters, newest first', async () => {
    const DEAD = `query ($topic: String!, $first: Int) { deadLetters(topic: $topic, first: $first) {
      topic key value errorCode errorMessage attempts deadLetteredAt } }`;
    const deadCount = async () =>
      ((await client.graphql(DEAD, { topic: JOB_QUEUED })).body.data?.deadLetters ?? []).length as number;
    // One after the other, so "newest first" has an order to show.
    await platform.kernel.events.publish(JOB_QUEUED, [
      { key: 'foreign-1', value: { kind: 'ingest', jobId: 'not-a-uuid' } },
    ]);
    await eventually(async () => expect(await deadCount()).toBe(1), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await platform.kernel.events.publish(JOB_QUEUED, [
      { key: 'foreign-2', value: { kind: 'explode', jobId: randomUUID() } },
    ]);
    let listed: Json[] = [];
    await eventually(async () => {
      const answer = await client.graphql(DEAD, { topic: JOB_QUEUED });
      expect(answer.body.errors).toBeUndefined();
      listed = answer.body.data.deadLetters as Json[];
      expect(listed).toHaveLength(2);
    }, 10_000);
    expect(listed.map((letter) => letter.key)).toEqual(['foreign-2', 'foreign-1']);
    expect(listed[1]).toMatchObject({
      topic: JOB_QUEUED,
      value: { kind: 'ingest', jobId: 'not-a-uuid' },
      errorCode: 'BAD_USER_INPUT',
      attempts: 1,
    });
    expect(listed[1]!.errorMessage).toMatch(/jobId is not a UUID/);
    expect(listed[0]!.errorMessage).toMatch(/unknown kind "explode"/);
    expect(Number.isNaN(Date.parse(listed[0]!.deadLetteredAt as string))).toBe(false);
    // first limits; an unknown topic is refused with the list of known ones.
    const one = await client.graphql(DEAD, { topic: JOB_QUEUED, first: 1 });
    expect(one.body.data.deadLetters.map((letter: Json) => letter.key)).toEqual(['foreign-2']);
    const unknown = await client.graphql(DEAD, { topic: 'secrets' });
    expect(client.codes(unknown)).toEqual(['BAD_USER_INPUT']);
    expect(unknown.body.errors[0].message).toContain('job.queued');
    expect(client.codes(await client.graphql(DEAD, { topic: JOB_QUEUED, first: 0 }))).toEqual([
      'BAD_USER_INPUT',
    ]);
    // The worker carries on: a good job after them still runs.
    const job = await client.graphql(INGEST, { path: red, title: 'after the bad messages' });
    expect((await client.finishedJob(job.body.data.ingestVideo.id as string)).status).toBe('SUCCEEDED');
  });
});
