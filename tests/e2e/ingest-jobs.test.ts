import 'reflect-metadata';

import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/core/config.js';
import { readDemoLibrary } from '../../src/core/ingest/demo-library.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { Platform } from '../../src/core/platform.js';
import { startPlatform } from '../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtins.js';
import { tempDir } from '../helpers/fixtures.js';
import type { GatewayClient } from '../helpers/gateway-client.js';
import { gatewayClient } from '../helpers/gateway-client.js';
import { makeSizedMp4 } from '../helpers/videos.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = path.join(ROOT, 'models/hbi-synth-tiny');
const LIBRARY = path.join(ROOT, 'examples/demo-library/library.json');
/** Small limits, so the oversize cases stay small. */
const MAX_UPLOAD_BYTES = 256 * 1024;
const MAX_REQUEST_BYTES = 64 * 1024;

type Json = Record<string, any>;

describe('ingest over HTTP and WebSocket: uploads, jobs, subscriptions, deletion, bad input', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let client: GatewayClient;
  let ingestRoot: string;
  const clips: { id: string; bytes: Buffer; caption: string }[] = [];
  const indexed: { videoId: string; title: string }[] = [];

  beforeAll(async () => {
    temp = await tempDir('hbi-e2e-ingest-');
    ingestRoot = path.join(temp.dir, 'ingest');
    await mkdir(ingestRoot);
    const config = loadConfig({
      HBI_MODEL_DIR: MODEL,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_INGEST_ROOTS: ingestRoot,
      HBI_MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      HBI_MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    client = gatewayClient(platform.gateway.url, platform.adminKey);
    const library = await readDemoLibrary(LIBRARY);
    for (const clip of library.clips.slice(0, 2)) {
      const bytes = await readFile(path.resolve(path.dirname(LIBRARY), clip.file));
      clips.push({ id: clip.id, bytes, caption: clip.captions[0]! });
    }
  });
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  const health = async () => (await client.graphql('{ health { live ready } }')).body.data?.health as Json;
  const indexedCount = async () =>
    (await client.graphql('{ videos(status: INDEXED) { totalCount } }')).body.data.videos
      .totalCount as number;

  it('serves with the encoder warm', async () => {
    expect(await health()).toEqual({ live: true, ready: true });
  });

  it('uploads a demo clip with createUpload + PUT and follows its job over graphql-ws to the end', async () => {
    const [clip] = clips;
    const upload = await client.upload(clip!.bytes, { filename: `${clip!.id}.mp4`, title: clip!.id });
    expect(upload.status).toBe(202);
    expect(upload.body).toMatchObject({ jobId: expect.any(String), sizeBytes: clip!.bytes.length });
    const ws = client.webSocket();
    try {
      const states = await client.collect(
        ws,
        `subscription ($id: ID!) { jobProgress(jobId: $id) { id status progress doneSteps totalSteps videoId error { code } } }`,
        { id: upload.body.jobId },
      );
      const final = states.at(-1)!.data.jobProgress as Json;
      expect(final).toMatchObject({ id: upload.body.jobId, status: 'SUCCEEDED', progress: 1, error: null });
      expect(final.doneSteps).toBe(final.totalSteps);
      indexed.push({ videoId: final.videoId as string, title: clip!.id });
    } finally {
      await ws.dispose();
    }
    const job = await client.graphql(`query ($id: ID!) { job(id: $id) { status video { title status } } }`, {
      id: upload.body.jobId,
    });
    expect(job.body.data.job).toEqual({ status: 'SUCCEEDED', video: { title: clip!.id, status: 'INDEXED' } });
  });

  it('announces the segments of the next upload on segmentIndexed, and search finds them', async () => {
    const clip = clips[1]!;
    const ws = client.webSocket();
    try {
      const announced = client.collect(
        ws,
        'subscription { segmentIndexed { id videoId index startMs endMs video { title status } } }',
        {},
        () => true,
      );
      // The subscription is live once the server handled it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const upload = await client.upload(clip.bytes, { filename: `${clip.id}.mp4`, title: clip.id });
      const [segment] = await announced;
      expect(segment!.data.segmentIndexed).toMatchObject({
        index: 0,
        startMs: 0,
        video: { title: clip.id, status: 'INDEXED' },
      });
      const job = await client.finishedJob(upload.body.jobId as string);
      expect(job.videoId).toBe(segment!.data.segmentIndexed.videoId);
      indexed.push({ videoId: job.videoId as string, title: clip.id });
    } finally {
      await ws.dispose();
    }
    const search = await client.graphql(
      'query ($text: String!) { search(text: $text, first: 5) { edges { node { videoId } } } }',
      { text: clip.caption },
    );
    expect(search.body.data.search.edges.map((edge: Json) => edge.node.videoId)).toContain(
      indexed[1]!.videoId,
    );
    const videos = await client.graphql(
      '{ videos(first: 1) { totalCount pageInfo { hasNextPage } edges { node { title } } } }',
    );
    expect(videos.body.data.videos).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true } });
  });

  it('maps the same bytes uploaded again to the same video', async () => {
    const upload = await client.upload(clips[0]!.bytes, { filename: 'again.mp4' });
    expect(await client.finishedJob(upload.body.jobId as string)).toMatchObject({
      status: 'SUCCEEDED',
      videoId: indexed[0]!.videoId,
    });
    expect(await indexedCount()).toBe(2);
  });

  it('deletes a video: gone from lookups and search, and deleting again is a no-op', async () => {
    const { videoId } = indexed[1]!;
    const DELETE = 'mutation ($id: ID!) { deleteVideo(id: $id) { videoId deleted segments } }';
    const first = await client.graphql(DELETE, { id: videoId });
    expect(first.body.data.deleteVideo).toMatchObject({ videoId, deleted: true, segments: 1 });
    expect(client.codes(await client.graphql(`{ video(id: "${videoId}") { id } }`))).toEqual(['NOT_FOUND']);
    const search = await client.graphql(
      'query ($text: String!) { search(text: $text, first: 5) { edges { node { videoId } } } }',
      {
        text: clips[1]!.caption,
      },
    );
    expect(search.body.data.search.edges.map((edge: Json) => edge.node.videoId)).not.toContain(videoId);
    expect((await client.graphql(DELETE, { id: videoId })).body.data.deleteVideo.deleted).toBe(false);
    expect(await indexedCount()).toBe(1);
  });

  describe('bad input: a typed error, a FAILED job, nothing else touched, the server still answering', () => {
    let before: number;
    beforeAll(async () => {
      before = await indexedCount();
    });
    afterAll(async () => {
      expect(await indexedCount()).toBe(before);
      expect(await health()).toEqual({ live: true, ready: true });
    });

    /** Uploads `bytes` and expects the job to fail with `code`, in words that name no server path. */
    const uploadFails = async (bytes: Uint8Array, code: string) => {
      const upload = await client.upload(bytes);
      expect(upload.status).toBe(202);
      const job = await client.finishedJob(upload.body.jobId as string);
      expect(job).toMatchObject({ status: 'FAILED', error: { code } });
      expect(JSON.stringify(job)).not.toContain(temp.dir);
      expect(job.error.message).not.toMatch(/(^|[\s'"])\/[\w.-]+\//);
      expect(await health()).toEqual({ live: true, ready: true });
      return job;
    };

    it('a corrupt MP4 fails VIDEO_UNREADABLE without leaking the stored file path', async () => {
      const corrupt = Buffer.from(clips[0]!.bytes);
      corrupt.fill(0xff, 0, 64);
      const job = await uploadFails(corrupt, 'VIDEO_UNREADABLE');
      const video = await client.graphql(`{ video(id: "${job.videoId}") { status error { code message } } }`);
      expect(video.body.data.video).toMatchObject({ status: 'FAILED', error: { code: 'VIDEO_UNREADABLE' } });
      expect(JSON.stringify(video.body)).not.toContain(temp.dir);
    });

    it('a text file named .mp4 fails VIDEO_UNREADABLE', async () => {
      await uploadFails(Buffer.from('this is a text file, not a video\n'), 'VIDEO_UNREADABLE');
    });

    it('a zero-byte file fails VIDEO_UNREADABLE, and createUpload refuses a declared size of 0', async () => {
      await writeFile(path.join(ingestRoot, 'empty.mp4'), '');
      const queued = await client.graphql(
        'mutation ($path: String) { ingestVideo(path: $path, title: "empty") { id } }',
        {
          path: path.join(ingestRoot, 'empty.mp4'),
        },
      );
      const job = await client.finishedJob(queued.body.data.ingestVideo.id as string);
      expect(job).toMatchObject({ status: 'FAILED', error: { code: 'VIDEO_UNREADABLE' } });
      const declared = await client.graphql(
        'mutation { createUpload(filename: "empty.mp4", contentType: "video/mp4", sizeBytes: 0) { uploadUrl } }',
      );
      expect(client.codes(declared)).toEqual(['BAD_USER_INPUT']);
    });

    it('a tiny video with enormous frames fails VIDEO_TOO_LARGE', async () => {
      const wide = await makeSizedMp4(platform.kernel.ffmpeg, temp.dir, 8192, 16);
      const job = await uploadFails(await readFile(wide), 'VIDEO_TOO_LARGE');
      expect(job.error.message).toContain('8192x16');
    });

    it('an upload over its declared size or the upload limit is refused with 413 LIMIT_EXCEEDED', async () => {
      const bytes = clips[0]!.bytes;
      const longer = await client.upload(Buffer.concat([bytes, Buffer.alloc(1000)]), {
        declaredBytes: bytes.length,
      });
      expect(longer.status).toBe(413);
      expect(longer.body.errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
      expect(await client.finishedJob(longer.body.jobId as string)).toMatchObject({
        status: 'FAILED',
        error: { code: 'LIMIT_EXCEEDED' },
      });
      const tooBig = await client.graphql(
        `mutation { createUpload(filename: "big.mp4", contentType: "video/mp4", sizeBytes: ${MAX_UPLOAD_BYTES + 1}) { uploadUrl } }`,
      );
      expect(client.codes(tooBig)).toEqual(['LIMIT_EXCEEDED']);
    });

    it('sources outside the ingest folders and file:// URLs are refused before any job', async () => {
      const INGEST =
        'mutation ($path: String, $url: String) { ingestVideo(path: $path, url: $url, title: "x") { id } }';
      const outside = await client.graphql(INGEST, { path: LIBRARY });
      expect(client.codes(outside)).toEqual(['BAD_USER_INPUT']);
      expect(JSON.stringify(outside.body)).not.toContain(ROOT);
      expect(client.codes(await client.graphql(INGEST, { url: `file://${LIBRARY}` }))).toEqual([
        'BAD_USER_INPUT',
      ]);
      // By default the server is no proxy into its own network (cloud metadata, loopback services).
      for (const url of ['http://169.254.169.254/latest/meta-data', platform.gateway.url]) {
        const refused = await client.graphql(INGEST, { url });
        expect(client.codes(refused), url).toEqual(['BAD_USER_INPUT']);
        expect(refused.body.errors[0].message).toContain('HBI_INGEST_URL_PRIVATE');
      }
    });

    it('unknown ids answer NOT_FOUND, over HTTP and over graphql-ws', async () => {
      const id = randomUUID();
      for (const query of [
        `{ video(id: "${id}") { id } }`,
        `{ segment(id: "${id}") { id } }`,
        `{ job(id: "${id}") { id } }`,
        `{ camera(id: "${id}") { id } }`,
        `{ segments(videoId: "${id}") { totalCount } }`,
        `{ video(id: "not-an-id") { id } }`,
        `mutation { reindexVideo(id: "${id}") { id } }`,
      ])
        expect(client.codes(await client.graphql(query)), query).toEqual(['NOT_FOUND']);
      const ws = client.webSocket();
      try {
        // graphql-ws sends a failed subscribe as one result carrying the errors, then completes.
        const [result] = await client.collect(ws, `subscription { jobProgress(jobId: "${id}") { status } }`);
        expect(result).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
      } finally {
        await ws.dispose();
      }
    });

    it('an oversized body or query is refused with LIMIT_EXCEEDED', async () => {
      const body = await fetch(platform.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.adminKey}` },
        body: JSON.stringify({ query: `{ health { live } } # ${'x'.repeat(MAX_REQUEST_BYTES)}` }),
      });
      expect(body.status).toBe(413);
      expect(((await body.json()) as Json).errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
      const costly = await client.graphql(
        '{ videos(first: 100) { edges { node { segments(first: 100) { edges { node { video { title } } } } } } } }',
      );
      expect(costly.status).toBe(400);
      expect(client.codes(costly)).toEqual(['LIMIT_EXCEEDED']);
    });
  });
});
