/**
 * The fault test of crash-safe jobs: the built `hbi serve` (embedded: PGlite, in-process bus) is
 * killed with SIGKILL while 20 uploaded videos ingest, then started again on the same data folder. The
 * restart takes over the dead process's database lock, re-queues the jobs it left QUEUED or RUNNING
 * (their messages died with its in-memory bus) and every video ends INDEXED exactly once: one video row
 * per upload, one set of segments each, no job left unfinished. Needs `npm run build` (scripts/test.sh
 * builds before the unit tier).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RoleProcess } from '../../../src/cli/bench/cluster-processes.js';
import { spawnRole } from '../../../src/cli/bench/cluster-processes.js';
import { locateFfmpeg } from '../../../src/core/video/ffmpeg-tools.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import { gatewayClient } from '../../helpers/gateway-client.js';
import { makeColorMp4 } from '../../helpers/videos.js';

type Json = Record<string, any>;

const VIDEOS = 20;
/** 3 s clips in 500 ms segments: six segments each. */
const CLIP_SECONDS = 3;
const SEGMENTS = 6;

const JOBS = `{ jobs(first: 25) { edges { node { id kind status attempts videoId error { code message } } } } }`;
const VIDEOS_STATE = `{ videos(first: 25) {
  totalCount edges { node { id title status segments(first: 8) { totalCount edges { node { index } } } } } } }`;

describe('kill -9 of the embedded server mid-ingest (fault test)', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let server: RoleProcess | undefined;
  let env: Record<string, string>;
  const clips: string[] = [];

  beforeAll(async () => {
    temp = await tempDir('hbi-crash-');
    env = {
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DEMO_LIBRARY: 'off',
      HBI_LOG_LEVEL: 'info',
      HBI_SEGMENT_WINDOW_MS: '500',
      HBI_SEGMENT_OVERLAP_MS: '0',
    };
    const tools = await locateFfmpeg({});
    for (let i = 0; i < VIDEOS; i++) {
      const color = `0x${(0x102030 + i * 0x0a0b0c).toString(16).padStart(6, '0')}`;
      clips.push(await makeColorMp4(tools, temp.dir, color, CLIP_SECONDS));
    }
  });
  afterAll(async () => {
    await server?.kill();
    await temp?.cleanup();
  });

  it('re-queues the interrupted jobs on restart and indexes every video exactly once', async () => {
    server = await spawnRole('all', env);
    // The first start writes the default tenant's admin key there (platform.ts adminKeyFile).
    const key = (await readFile(path.join(env.HBI_DATA_DIR!, 'admin-key'), 'utf8')).trim();
    let client = gatewayClient(server.url, key);
    const uploads = await Promise.all(
      clips.map((clip, i) => readFile(clip).then((bytes) => client.upload(bytes, { title: `clip ${i}` }))),
    );
    expect(uploads.map((upload) => upload.status)).toEqual(clips.map(() => 202));
    const jobIds = uploads.map((upload) => upload.body.jobId as string);

    // Killed once some videos are indexed and others are not.
    let before: Json[] = [];
    for (;;) {
      const { body } = await client.graphql(JOBS);
      if (!body.data) throw new Error(JSON.stringify(body));
      before = body.data.jobs.edges.map((edge: Json) => edge.node);
      const done = before.filter((job) => job.status === 'SUCCEEDED').length;
      if (done >= 2 || done === VIDEOS) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.kill();
    const unfinished = before.filter((job) => ['QUEUED', 'RUNNING'].includes(job.status as string));
    console.info(
      `killed with ${VIDEOS - unfinished.length} of ${VIDEOS} jobs finished ` +
        `(${before.filter((job) => job.status === 'RUNNING').length} running, ` +
        `${before.filter((job) => job.status === 'QUEUED').length} queued)`,
    );
    expect(unfinished.length).toBeGreaterThan(0);

    // The same folder: the dead process's lock is taken over, its unfinished jobs run again.
    server = await spawnRole('all', env);
    expect(server.logs()).toContain('jobs interrupted by a stopped process');
    client = gatewayClient(server.url, key);
    let jobs: Json[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { body } = await client.graphql(JOBS);
      if (!body.data) throw new Error(JSON.stringify(body));
      jobs = body.data.jobs.edges.map((edge: Json) => edge.node as Json);
      if (jobs.every((job: Json) => !['QUEUED', 'RUNNING'].includes(job.status as string))) break;
      if (Date.now() > deadline) throw new Error(`jobs still unfinished: ${JSON.stringify(jobs)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const after = (await client.graphql(VIDEOS_STATE)).body.data as Json;
    expect(jobs.map((job: Json) => job.id).sort()).toEqual([...jobIds].sort());
    expect(jobs.filter((job: Json) => job.status !== 'SUCCEEDED')).toEqual([]);
    const requeued = jobs.filter((job: Json) => unfinished.some((old) => old.id === job.id));
    expect(requeued.length).toBe(unfinished.length);
    // One video per upload, each indexed with one set of segments.
    const videos = after.videos.edges.map((edge: Json) => edge.node as Json);
    expect(after.videos.totalCount).toBe(VIDEOS);
    expect(new Set(jobs.map((job: Json) => job.videoId)).size).toBe(VIDEOS);
    expect(videos.map((video: Json) => video.title).sort()).toEqual(clips.map((_, i) => `clip ${i}`).sort());
    for (const video of videos) {
      expect(video.status).toBe('INDEXED');
      expect(video.segments.totalCount).toBe(SEGMENTS);
      expect(video.segments.edges.map((edge: Json) => edge.node.index)).toEqual([...Array(SEGMENTS).keys()]);
    }
    console.info(
      `after restart: ${requeued.length} jobs re-queued and finished (attempts ${requeued
        .map((job: Json) => job.attempts)
        .join(', ')}); ${videos.length} videos INDEXED with ${SEGMENTS} segments each`,
    );
    await server.stop();
    server = undefined;
  });
});
