import 'reflect-metadata';

import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../src/cli/run.js';
import { loadConfig } from '../../src/core/config.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { Platform } from '../../src/core/platform.js';
import { startPlatform } from '../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtins.js';
import { ApiKeyStore } from '../../src/core/auth/api-keys.js';
import { DEFAULT_TENANT_ID } from '../../src/core/tenancy.js';
import { serveLoopSource } from '../helpers/camera.js';
import { captureIo } from '../helpers/cli-io.js';
import { eventually, tempDir } from '../helpers/fixtures.js';
import type { GatewayClient } from '../helpers/gateway-client.js';
import { gatewayClient } from '../helpers/gateway-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = path.join(ROOT, 'models/hbi-synth-tiny');
/** Segments the agent records: at least 10, with a source drop in the middle. */
const SEGMENTS = 12;

type Json = Record<string, any>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('hbi camera against the embedded platform: looping source, drop and reconnect, search, subscription', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let client: GatewayClient;
  let cameraId: string;
  const sources: ReturnType<typeof serveLoopSource>[] = [];
  const pushed: Json[] = [];
  let run: { code: number; status: Json; log: string };

  beforeAll(async () => {
    temp = await tempDir('hbi-e2e-camera-');
    const config = loadConfig({
      HBI_MODEL_DIR: MODEL,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    client = gatewayClient(platform.gateway.url, platform.adminKey);
    const registered = await client.graphql(
      'mutation { registerCamera(name: "loading-dock") { id status } }',
    );
    cameraId = registered.body.data.registerCamera.id as string;

    // Every segment of this camera, pushed as soon as it is searchable.
    const ws = client.webSocket();
    const connected = new Promise<void>((resolve) => ws.on('connected', () => resolve()));
    const collected = client.collect(
      ws,
      `subscription ($cameraId: ID!) {
        segmentIndexed(cameraId: $cameraId) { id videoId index startMs video { cameraId capturedAt } }
      }`,
      { cameraId },
      (value) => {
        pushed.push(value.data.segmentIndexed as Json);
        return pushed.length >= SEGMENTS;
      },
    );
    await connected;
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The stand-in camera: 12 demo clips over HTTP at 4x real time (a 3 s segment every 0.75 s).
    const port = await freePort();
    sources.push(serveLoopSource(port, { speed: 4 }));
    // A camera agent gets a write key of its tenant (not the admin key).
    const cameraKey = (
      await new ApiKeyStore(platform.kernel.db).create({
        tenantId: DEFAULT_TENANT_ID,
        name: 'loading-dock camera',
        role: 'write',
      })
    ).token;
    const captured = captureIo({ HBI_DATA_DIR: path.join(temp.dir, 'agent'), HBI_LOG_LEVEL: 'info' });
    const agent = runCli(
      [
        'camera', '--source', sources[0]!.url, '--camera', 'loading-dock', '--segment', '3s',
        '--url', platform.gateway.url, '--max-segments', String(SEGMENTS), '--json', '--key', cameraKey,
      ], // prettier-ignore
      captured.io,
    );
    // Failing waits say what the agent logged.
    const step = <T>(what: string, wait: Promise<T>): Promise<T> =>
      wait.catch((error: unknown) => {
        throw new Error(
          `${what}: ${(error as Error).message}\n--- agent log ---\n${captured.stderr().slice(-6000)}`,
        );
      });
    // Pull the plug once a few segments are in, and bring the camera back a little later.
    await step(
      '4 segments',
      eventually(async () => (await videoCount()) >= 4, 120_000),
    );
    sources[0]!.kill();
    await step(
      'reconnect',
      eventually(() => /source dropped; reconnecting/.test(captured.stderr()), 30_000),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    sources.push(serveLoopSource(port, { speed: 4 }));
    const code = await step(
      'agent finishing its segments',
      Promise.race([
        agent,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no exit within 240 s')), 240_000).unref(),
        ),
      ]),
    );
    run = { code, status: JSON.parse(captured.stdout()) as Json, log: captured.stderr() };
    await Promise.race([collected, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    void ws.dispose();
  }, 480_000);
  afterAll(async () => {
    for (const source of sources) source.kill();
    await platform?.stop();
    await temp?.cleanup();
  });

  async function videoCount(): Promise<number> {
    const answer = await client.graphql('query ($id: ID!) { videos(cameraId: $id) { totalCount } }', {
      id: cameraId,
    });
    return answer.body.data.videos.totalCount as number;
  }

  async function cameraVideos(): Promise<Json[]> {
    const answer = await client.graphql(
      `query ($id: ID!) { videos(cameraId: $id, first: 100) {
        totalCount edges { node { id status cameraId capturedAt durationMs segments { totalCount } } }
      } }`,
      { id: cameraId },
    );
    return (answer.body.data.videos.edges as Json[]).map((edge) => edge.node as Json);
  }

  it('records, uploads and indexes every segment, reconnecting after the source dropped', () => {
    expect(run.code, run.log).toBe(0);
    expect(run.status).toMatchObject({
      recorded: SEGMENTS,
      uploaded: SEGMENTS,
      indexed: SEGMENTS,
      failed: 0,
      queueDepth: 0,
    });
    expect(run.status.reconnects).toBeGreaterThanOrEqual(1);
    expect(run.log).toMatch(/segment indexed .*lagMs=/);
  });

  it('indexes each segment exactly once, with the camera and its capture time', async () => {
    const videos = await cameraVideos();
    expect(videos).toHaveLength(SEGMENTS);
    for (const video of videos) {
      expect(video).toMatchObject({ status: 'INDEXED', cameraId, segments: { totalCount: 1 } });
    }
    // Full 3 s segments, except the piece the source was cut off in (at least 0.5 s is kept).
    const durations = videos.map((video) => video.durationMs as number);
    expect(durations.filter((ms) => ms >= 2500).length).toBeGreaterThanOrEqual(SEGMENTS - 2);
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(450);
    // Capture times never overlap: each segment starts once the one before it ended.
    const byTime = [...videos].sort((a, b) => Date.parse(a.capturedAt) - Date.parse(b.capturedAt));
    for (let i = 1; i < byTime.length; i++) {
      const gap = Date.parse(byTime[i]!.capturedAt) - Date.parse(byTime[i - 1]!.capturedAt);
      expect(gap).toBeGreaterThanOrEqual((byTime[i - 1]!.durationMs as number) - 200);
    }
  });

  it('finds segments by camera and capture-time range, and nothing outside them', async () => {
    const videos = await cameraVideos();
    const byTime = [...videos].sort((a, b) => Date.parse(a.capturedAt) - Date.parse(b.capturedAt));
    const firstHalf = byTime.slice(0, SEGMENTS / 2);
    const search = async (filters: Json) => {
      const answer = await client.graphql(
        `query ($filters: SearchFilters) { search(text: "a circle moves", first: 50, filters: $filters) {
          edges { node { videoId } }
        } }`,
        { filters },
      );
      expect(answer.body.errors).toBeUndefined();
      return (answer.body.data.search.edges as Json[]).map((edge) => edge.node.videoId as string);
    };
    const all = await search({ cameraIds: [cameraId] });
    expect(new Set(all)).toEqual(new Set(videos.map((video) => video.id)));
    const early = await search({
      cameraIds: [cameraId],
      recordedAfter: firstHalf[0]!.capturedAt,
      recordedBefore: byTime[SEGMENTS / 2]!.capturedAt,
    });
    expect(new Set(early)).toEqual(new Set(firstHalf.map((video) => video.id)));
    const otherCamera = (await client.graphql('mutation { registerCamera(name: "empty-yard") { id } }')).body
      .data.registerCamera.id as string;
    expect(await search({ cameraIds: [otherCamera] })).toEqual([]);
  });

  it('pushed every new segment of the camera to its segmentIndexed subscriber', async () => {
    const videos = await cameraVideos();
    expect(pushed).toHaveLength(SEGMENTS);
    expect(new Set(pushed.map((segment) => segment.videoId))).toEqual(
      new Set(videos.map((video) => video.id)),
    );
    for (const segment of pushed)
      expect(segment.video).toMatchObject({ cameraId, capturedAt: expect.any(String) });
  });

  it('marks the camera OFFLINE with the time it was last seen once the agent stopped', async () => {
    await eventually(async () => {
      const answer = await client.graphql('query ($id: ID!) { camera(id: $id) { name status lastSeenAt } }', {
        id: cameraId,
      });
      expect(answer.body.data.camera).toMatchObject({
        name: 'loading-dock',
        status: 'OFFLINE',
        lastSeenAt: expect.any(String),
      });
    }, 5000);
  });
});
