/**
 * Cluster mode with a camera, end to end on the real services: one gateway and two workers (each its
 * own process of the built `hbi` command; run `npm run build` first) sharing a fresh database, bucket
 * and Kafka topic prefix, and the camera agent (`hbi camera`, also its own process) streaming 50 short
 * segments of the looping test source, accelerated, to the gateway. One worker is killed with SIGKILL
 * once at least 10 segments are indexed: every segment is still indexed exactly once (one video, one
 * segment, one embedding each, capture times increasing and never overlapping) and is found through
 * the gateway by camera and capture-time range.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RoleProcess } from '../../src/cli/bench/cluster-processes.js';
import { HBI_ENTRY, spawnRole } from '../../src/cli/bench/cluster-processes.js';
import { serveLoopSource } from '../helpers/camera.js';
import { tempDir } from '../helpers/fixtures.js';
import { gatewayClient } from '../helpers/gateway-client.js';
import type { GatewayClient } from '../helpers/gateway-client.js';
import {
  operatorKey,
  createTestDatabase,
  deleteKafkaLeftovers,
  infraSettings,
  removeBucket,
  uniqueName,
  systemQuery,
  until,
} from './infra.js';

type Json = Record<string, any>;

const settings = infraSettings();
/** Segments the agent records; the source's 3 s demo clips at 4x real time (one segment every 0.75 s). */
const SEGMENTS = 50;
const SEGMENT_MS = 3_000;
const SPEED = 4;
/** Indexed segments before a worker is killed. */
const KILL_AFTER = 10;

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

/** `hbi camera` as its own process; resolves with its exit code, stdout (the --json counters) and stderr. */
function runAgent(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; stderr: () => string; done: Promise<{ code: number | null; stdout: string }> } {
  const child = spawn(process.execPath, [HBI_ENTRY, 'camera', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout })),
  );
  return { child, stderr: () => stderr, done };
}

describe('cluster mode with a camera: gateway, two workers, hbi camera, a worker killed mid-stream', () => {
  const prefix = `${uniqueName('it-cluster-cam-')}.`;
  const bucket = uniqueName('hbi-it-cam-');
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let gateway: RoleProcess | undefined;
  const workers: RoleProcess[] = [];
  let client: GatewayClient;
  let source: ReturnType<typeof serveLoopSource> | undefined;
  let agent: ReturnType<typeof runAgent> | undefined;
  let cameraId: string;
  let cameraKey: string;
  let indexedAtKill = 0;
  let stopping = false;
  let victim: RoleProcess | undefined;
  let indexedByVictim = 0;
  let run: { code: number | null; status: Json; log: string };

  const query = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
    systemQuery<T>(database.url, sql, params);
  const indexedCount = async (): Promise<number> =>
    (
      await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "videos" WHERE "camera_id" = $1 AND "status" = 'INDEXED'`,
        [cameraId],
      )
    )[0]!.n;

  const indexedBy = (worker: RoleProcess): number => worker.logs().split('"video indexed"').length - 1;

  beforeAll(async () => {
    database = await createTestDatabase(settings.databaseUrl);
    temp = await tempDir('hbi-cluster-camera-');
    const env: Record<string, string> = {
      HBI_DATA_DIR: temp.dir,
      HBI_DEMO_LIBRARY: 'off',
      HBI_LOG_LEVEL: 'info',
      HBI_PORT: '0',
      HBI_WORKER_HEALTH_PORT: '0',
      HBI_UPLOAD_SECRET: 'cluster-camera-test-upload-secret-0123456789',
      DATABASE_URL: database.url,
      HBI_OBJECT_STORE_URL: settings.s3.url,
      HBI_OBJECT_STORE_ACCESS_KEY: settings.s3.accessKey,
      HBI_OBJECT_STORE_SECRET_KEY: settings.s3.secretKey,
      HBI_OBJECT_STORE_BUCKET: bucket,
      KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      HBI_KAFKA_TOPIC_PREFIX: prefix,
      HBI_KAFKA_PARTITIONS: '4',
      // A killed worker's partitions move after this long (the broker's minimum is 6 s).
      HBI_KAFKA_SESSION_TIMEOUT_MS: '8000',
    };
    gateway = await spawnRole('gateway', env);
    workers.push(...(await Promise.all([spawnRole('worker', env), spawnRole('worker', env)])));
    client = gatewayClient(gateway.url, await operatorKey(env, 'admin'));
    // The camera agent gets a write key, as an operator would give it.
    cameraKey = await operatorKey(env, 'write');
    const registered = await client.graphql('mutation { registerCamera(name: "cluster-dock") { id } }');
    expect(registered.body.errors).toBeUndefined();
    cameraId = registered.body.data.registerCamera.id as string;

    const port = await freePort();
    // The stand-in camera; brought back if its ffmpeg ever exits (it serves one connection), as a
    // camera would come back: the agent reconnects.
    const startSource = (): void => {
      source = serveLoopSource(port, { speed: SPEED });
      source.process.once('exit', () => {
        if (!stopping) setTimeout(() => !stopping && startSource(), 500);
      });
    };
    startSource();
    agent = runAgent(
      [
        '--source', `http://127.0.0.1:${port}/live.ts`, '--camera', cameraId, '--name', 'cluster-dock', '--segment', `${SEGMENT_MS / 1000}s`,
        '--url', gateway.url, '--max-segments', String(SEGMENTS), '--json', '--key', cameraKey,
      ], // prettier-ignore
      { HBI_DATA_DIR: path.join(temp.dir, 'agent'), HBI_LOG_LEVEL: 'info' },
    );
    const step = <T>(what: string, wait: Promise<T>): Promise<T> =>
      wait.catch((error: unknown) => {
        throw new Error(
          `${what}: ${(error as Error).message}\n--- agent log ---\n${agent!.stderr().slice(-6000)}`,
        );
      });

    // Crash one worker once some segments are indexed and most are still to come.
    indexedAtKill = await step(
      `${KILL_AFTER} segments indexed`,
      until(
        `${KILL_AFTER} segments indexed`,
        async () => {
          const n = await indexedCount();
          return n >= KILL_AFTER ? n : undefined;
        },
        120_000,
      ),
    );
    // The worker that indexed most so far (segments of one camera may all land on one partition).
    victim = workers.reduce((best, worker) => (indexedBy(worker) > indexedBy(best) ? worker : best));
    indexedByVictim = indexedBy(victim);
    await victim.kill();

    const finished = await step(
      'the agent finishing its segments',
      Promise.race([
        agent.done,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no exit within 180 s')), 180_000).unref(),
        ),
      ]),
    );
    run = { code: finished.code, status: JSON.parse(finished.stdout) as Json, log: agent.stderr() };
  }, 300_000);

  afterAll(async () => {
    stopping = true;
    source?.kill();
    if (agent && agent.child.exitCode === null && agent.child.signalCode === null)
      agent.child.kill('SIGKILL');
    await Promise.allSettled([gateway?.stop(), ...workers.map((worker) => worker.stop())]);
    await deleteKafkaLeftovers(settings, prefix).catch(() => undefined);
    await removeBucket(settings, bucket).catch(() => undefined);
    await database?.drop();
    await temp?.cleanup();
  });

  async function cameraVideos(): Promise<Json[]> {
    const answer = await client.graphql(
      `query ($id: ID!) { videos(cameraId: $id, first: 100) {
        totalCount edges { node { id status cameraId capturedAt durationMs segments { totalCount } } }
      } }`,
      { id: cameraId },
    );
    expect(answer.body.errors).toBeUndefined();
    return (answer.body.data.videos.edges as Json[]).map((edge) => edge.node as Json);
  }

  async function search(filters: Json): Promise<string[]> {
    const answer = await client.graphql(
      `query ($filters: SearchFilters) { search(text: "a circle moves", first: 100, filters: $filters) {
        edges { node { videoId } }
      } }`,
      { filters },
    );
    expect(answer.body.errors).toBeUndefined();
    return (answer.body.data.search.edges as Json[]).map((edge) => edge.node.videoId as string);
  }

  it('the agent records, uploads and indexes all 50 segments although a worker was killed mid-stream', () => {
    expect(indexedAtKill).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(indexedAtKill).toBeLessThan(SEGMENTS);
    expect(indexedByVictim).toBeGreaterThan(0);
    // The survivor finished the stream.
    const survivor = workers.find((worker) => worker !== victim)!;
    expect(indexedBy(survivor)).toBeGreaterThan(0);
    console.info(
      `cluster-camera: ${indexedAtKill} indexed at the kill, ${indexedByVictim} by the killed worker, ` +
        `${indexedBy(survivor)} by the survivor`,
    );
    expect(run.code, run.log.slice(-6000)).toBe(0);
    expect(run.status).toMatchObject({
      recorded: SEGMENTS,
      uploaded: SEGMENTS,
      indexed: SEGMENTS,
      failed: 0,
      queueDepth: 0,
    });
  });

  it('indexes every segment exactly once: one video, one segment and one embedding each', async () => {
    const videos = await cameraVideos();
    expect(videos).toHaveLength(SEGMENTS);
    for (const video of videos) {
      expect(video).toMatchObject({ status: 'INDEXED', cameraId, segments: { totalCount: 1 } });
    }
    const perVideo = await query<{ id: string; segments: number; embeddings: number }>(
      `SELECT v."id", count(DISTINCT s."id")::int AS "segments", count(e.*)::int AS "embeddings"
       FROM "videos" v LEFT JOIN "segments" s ON s."video_id" = v."id"
       LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id"
       WHERE v."camera_id" = $1 GROUP BY v."id"`,
      [cameraId],
    );
    expect(perVideo).toHaveLength(SEGMENTS);
    for (const video of perVideo) expect(video).toMatchObject({ segments: 1, embeddings: 1 });
    // Nothing else in the database: no stray or duplicate video, segment or ingest job.
    const totals = await query<{ videos: number; segments: number; embeddings: number; jobs: number }>(
      `SELECT (SELECT count(*)::int FROM "videos") AS "videos", (SELECT count(*)::int FROM "segments") AS "segments",
              (SELECT count(*)::int FROM "segment_embeddings") AS "embeddings",
              (SELECT count(*)::int FROM "jobs" WHERE "status" = 'SUCCEEDED') AS "jobs"`,
    );
    expect(totals[0]).toEqual({ videos: SEGMENTS, segments: SEGMENTS, embeddings: SEGMENTS, jobs: SEGMENTS });

    // Capture times are distinct, increasing, and never overlap: each starts once the one before ended.
    const byTime = [...videos].sort((a, b) => Date.parse(a.capturedAt) - Date.parse(b.capturedAt));
    expect(new Set(byTime.map((video) => video.capturedAt)).size).toBe(SEGMENTS);
    for (let i = 1; i < byTime.length; i++) {
      const gap = Date.parse(byTime[i]!.capturedAt) - Date.parse(byTime[i - 1]!.capturedAt);
      expect(gap).toBeGreaterThan(0);
      expect(gap).toBeGreaterThanOrEqual((byTime[i - 1]!.durationMs as number) - 200);
    }
    const durations = byTime.map((video) => video.durationMs as number);
    expect(durations.filter((ms) => ms >= SEGMENT_MS - 500).length).toBeGreaterThanOrEqual(SEGMENTS - 2);
  });

  it('finds the segments through the gateway by camera and capture-time range, and nothing outside them', async () => {
    const videos = await cameraVideos();
    const byTime = [...videos].sort((a, b) => Date.parse(a.capturedAt) - Date.parse(b.capturedAt));
    const all = await search({ cameraIds: [cameraId] });
    expect(all).toHaveLength(SEGMENTS);
    expect(new Set(all)).toEqual(new Set(videos.map((video) => video.id)));

    // A window in the middle: segments 20..29 by capture time, exactly.
    const window = byTime.slice(20, 30);
    const middle = await search({
      cameraIds: [cameraId],
      recordedAfter: window[0]!.capturedAt,
      recordedBefore: byTime[30]!.capturedAt,
    });
    expect(middle).toHaveLength(window.length);
    expect(new Set(middle)).toEqual(new Set(window.map((video) => video.id)));

    const last = byTime[SEGMENTS - 1]!;
    const after = new Date(Date.parse(last.capturedAt) + 1).toISOString();
    expect(await search({ cameraIds: [cameraId], recordedAfter: after })).toEqual([]);
    const other = (await client.graphql('mutation { registerCamera(name: "cluster-yard") { id } }')).body.data
      .registerCamera.id as string;
    expect(await search({ cameraIds: [other] })).toEqual([]);
  });
});
