/**
 * Cluster mode end to end on the real services: one gateway and two workers, each its own process of
 * the built `hbi` command (run `npm run build` first), sharing a fresh database, bucket and Kafka
 * topic prefix. Demo clips are uploaded through the gateway while one worker is killed with SIGKILL
 * in the middle: every clip is still indexed exactly once. An object written straight into the
 * bucket under `videos/` is indexed through MinIO's bucket notifications, once even when written
 * twice. Search over the gateway's HTTP API (gateway → Kafka → a worker) finds a clip by its caption.
 * A second tenant uploads the same bytes: each tenant's search, library and jobs hold its own rows only,
 * and deleting one tenant's copy leaves the other's video and stored object in place.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RoleProcess } from '../../src/cli/bench/cluster-processes.js';
import { HBI_ENTRY, spawnRole } from '../../src/cli/bench/cluster-processes.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import { enableBucketEvents } from '../../src/core/storage/s3-bucket-events.js';
import { createS3ObjectStore } from '../../src/core/storage/s3.js';
import { tempDir } from '../helpers/fixtures.js';
import { gatewayClient } from '../helpers/gateway-client.js';
import type { GatewayClient } from '../helpers/gateway-client.js';
import {
  operatorKey,
  createTestDatabase,
  deleteKafkaLeftovers,
  infraSettings,
  removeBucket,
  s3Client,
  uniqueName,
  systemQuery,
  until,
} from './infra.js';

const settings = infraSettings();
const LIBRARY = path.resolve('examples/demo-library');
const UPLOADS = 12;

interface Clip {
  id: string;
  caption: string;
  bytes: Buffer;
}

async function demoClips(count: number): Promise<Clip[]> {
  const library = JSON.parse(await readFile(path.join(LIBRARY, 'library.json'), 'utf8')) as {
    clips: { id: string; file: string; captions: string[] }[];
  };
  return Promise.all(
    library.clips.slice(0, count).map(async (clip) => ({
      id: clip.id,
      caption: clip.captions[0]!,
      bytes: await readFile(path.join(LIBRARY, clip.file)),
    })),
  );
}

describe('cluster mode: one gateway, two workers, real services', () => {
  const prefix = `${uniqueName('it-cluster-')}.`;
  const bucket = uniqueName('hbi-it-');
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let gateway: RoleProcess;
  const workers: RoleProcess[] = [];
  let client: GatewayClient;
  let clips: Clip[];
  let env: Record<string, string>;

  const query = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
    systemQuery<T>(database.url, sql, params);

  beforeAll(async () => {
    database = await createTestDatabase(settings.databaseUrl);
    temp = await tempDir('hbi-cluster-');
    clips = await demoClips(UPLOADS + 1);
    env = {
      HBI_DATA_DIR: temp.dir,
      HBI_DEMO_LIBRARY: 'off',
      HBI_LOG_LEVEL: 'info',
      HBI_PORT: '0',
      HBI_WORKER_HEALTH_PORT: '0',
      HBI_UPLOAD_SECRET: 'cluster-test-upload-secret-0123456789abcdef',
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
      HBI_KAFKA_OBJECT_EVENTS_TOPIC: settings.objectEventsTopic,
    };
    gateway = await spawnRole('gateway', env);
    workers.push(...(await Promise.all([spawnRole('worker', env), spawnRole('worker', env)])));
    client = gatewayClient(gateway.url, await operatorKey(env, 'admin'));
    const store = await createS3ObjectStore({
      url: settings.s3.url,
      bucket,
      accessKey: settings.s3.accessKey,
      secretKey: settings.s3.secretKey,
      region: settings.s3.region,
      logger: createMemoryLogger(),
    });
    await enableBucketEvents(store, settings.minioNotifyArn, { prefix: 'videos/' });
    await store.close();
  });

  afterAll(async () => {
    await Promise.allSettled([gateway?.stop(), ...workers.map((worker) => worker.stop())]);
    await deleteKafkaLeftovers(settings, prefix).catch(() => undefined);
    await removeBucket(settings, bucket).catch(() => undefined);
    await database?.drop();
    await temp?.cleanup();
  });

  it('serves health on the gateway and on each worker, without an encoder on the gateway', async () => {
    const ready = await fetch(new URL('/health/ready', gateway.url));
    expect(ready.status).toBe(200);
    for (const worker of workers) {
      expect((await fetch(`${worker.url}/health/live`)).status).toBe(200);
      expect(await (await fetch(`${worker.url}/health/ready`)).json()).toEqual({
        ready: true,
        phase: 'serving',
      });
    }
    const health = await client.graphql('{ health { ready encoder providers } }');
    expect(health.body.data.health).toMatchObject({ ready: true, providers: ['workers'] });
    expect(gateway.logs()).not.toContain('encoder ready');
  });

  it('indexes every uploaded clip exactly once although a worker is killed mid-ingest', async () => {
    const jobIds: string[] = [];
    for (const clip of clips.slice(0, UPLOADS)) {
      const upload = await client.upload(clip.bytes, { filename: `${clip.id}.mp4`, title: clip.id });
      expect(upload.status).toBe(202);
      jobIds.push(upload.body.jobId as string);
    }
    const finished = () =>
      query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "jobs" WHERE "id" = ANY($1::uuid[]) AND "status" IN ('SUCCEEDED', 'FAILED')`,
        [jobIds],
      ).then((rows) => rows[0]!.n);
    // Kill the second worker once some work is done and some is not.
    const doneAtKill = await until(
      'a few jobs to finish',
      async () => ((await finished()) >= 2 ? finished() : undefined),
      120_000,
    );
    await workers[1]!.kill();
    expect(doneAtKill).toBeLessThan(UPLOADS);

    await until(
      'every job to finish',
      async () => ((await finished()) === UPLOADS ? true : undefined),
      180_000,
    );
    const jobs = await query<{ status: string; video_id: string; total: number; done: number }>(
      `SELECT "status", "video_id", "total_steps" AS "total", "done_steps" AS "done" FROM "jobs" WHERE "id" = ANY($1::uuid[])`,
      [jobIds],
    );
    expect(jobs.map((job) => job.status)).toEqual(Array(UPLOADS).fill('SUCCEEDED'));
    expect(new Set(jobs.map((job) => job.video_id)).size).toBe(UPLOADS);

    const perVideo = await query<{
      title: string;
      segments: number;
      distinct_segments: number;
      embeddings: number;
    }>(
      `SELECT v."title", count(s."id")::int AS "segments", count(DISTINCT s."index")::int AS "distinct_segments",
              (SELECT count(*)::int FROM "segment_embeddings" e JOIN "segments" s2 ON s2."id" = e."segment_id"
                WHERE s2."video_id" = v."id") AS "embeddings"
       FROM "videos" v LEFT JOIN "segments" s ON s."video_id" = v."id" GROUP BY v."id", v."title"`,
    );
    expect(perVideo).toHaveLength(UPLOADS);
    for (const video of perVideo) {
      // The demo clips are 3 s long: one segment each, one embedding each.
      expect(video).toMatchObject({ segments: 1, distinct_segments: 1, embeddings: 1 });
    }
    expect(perVideo.map((video) => video.title).sort()).toEqual(
      clips.slice(0, UPLOADS).map((clip) => clip.id),
    );
  });

  it('finds a clip by its caption through the gateway (gateway → Kafka → worker → reply)', async () => {
    const target = clips[0]!;
    const answer = await client.graphql(
      'query ($text: String!) { search(text: $text, first: 5) { edges { node { videoTitle score } } } }',
      { text: target.caption },
    );
    expect(answer.body.errors).toBeUndefined();
    const titles = answer.body.data.search.edges.map(
      (edge: { node: { videoTitle: string } }) => edge.node.videoTitle,
    );
    expect(titles).toContain(target.id);
    // Media on MinIO: the hit's thumbnail and the video's poster are presigned GETs on the store itself,
    // and the H.264 demo clip plays as it was stored (its playback URL carries the hit's media fragment).
    const media = await client.graphql(
      'query ($text: String!) { search(text: $text, first: 1) { edges { node { thumbnailUrl playbackUrl startMs endMs } } } videos(first: 1) { edges { node { posterUrl } } } }',
      { text: target.caption },
    );
    expect(media.body.errors).toBeUndefined();
    const hit = media.body.data.search.edges[0].node as {
      thumbnailUrl: string;
      playbackUrl: string;
      startMs: number;
      endMs: number;
    };
    const store = new URL(settings.s3.url).origin;
    const poster = media.body.data.videos.edges[0].node.posterUrl as string;
    for (const url of [hit.thumbnailUrl, poster, hit.playbackUrl]) expect(new URL(url).origin).toBe(store);
    expect(hit.playbackUrl).toMatch(/#t=[\d.]+,[\d.]+$/);
    for (const url of [hit.thumbnailUrl, poster]) {
      const image = await fetch(url);
      expect(image.status).toBe(200);
      expect(Buffer.from(await image.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    }
    const range = await fetch(hit.playbackUrl.replace(/#.*$/, ''), { headers: { range: 'bytes=0-99' } });
    expect(range.status).toBe(206);
    expect((await range.arrayBuffer()).byteLength).toBe(100);
    const bad = await client.graphql('{ rankTexts(segmentId: "nope", texts: []) { text } }');
    expect(client.codes(bad)).toEqual(['BAD_USER_INPUT']);
    // Dead letters are read from Kafka's dead-letter topic through the gateway: none in this run.
    const dead = await client.graphql('{ deadLetters(topic: "job.queued") { key errorCode } }');
    expect(dead.body.errors).toBeUndefined();
    expect(dead.body.data.deadLetters).toEqual([]);
  });

  it('keeps two tenants apart through the gateway and the workers, sharing only stored bytes', async () => {
    // A second tenant and its write key, made by the operator's commands against the cluster's database.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [HBI_ENTRY, 'tenants', 'create', 'second', '--json'],
      { env: { PATH: process.env.PATH ?? '', ...env, HBI_LOG_LEVEL: 'error' } },
    );
    const second = (JSON.parse(stdout) as { id: string }).id;
    const other = gatewayClient(gateway.url, await operatorKey(env, 'write', { tenant: second }));
    const first = clips[0]!;
    const [mine] = await query<{ id: string }>(`SELECT "id" FROM "videos" WHERE "title" = $1`, [first.id]);

    // The same bytes uploaded by the second tenant: a video of its own, indexed by a worker.
    const upload = await other.upload(first.bytes, { filename: 'same.mp4', title: 'theirs' });
    expect(upload.status).toBe(202);
    const jobId = upload.body.jobId as string;
    const job = await until(
      "the second tenant's job to finish",
      async () => {
        const answer = await other.graphql('query ($id: ID!) { job(id: $id) { status video { id } } }', {
          id: jobId,
        });
        const found = answer.body.data?.job as { status: string; video: { id: string } | null } | null;
        return found && ['SUCCEEDED', 'FAILED'].includes(found.status) ? found : undefined;
      },
      120_000,
    );
    expect(job.status).toBe('SUCCEEDED');
    const theirs = job.video!.id;
    expect(theirs).not.toBe(mine!.id);

    // Each tenant's search, library and jobs hold its own rows only.
    const searchIds = async (who: GatewayClient) => {
      const answer = await who.graphql(
        'query ($text: String!) { search(text: $text, first: 20) { edges { node { videoId } } } }',
        { text: first.caption },
      );
      expect(answer.body.errors).toBeUndefined();
      return new Set(
        answer.body.data.search.edges.map((edge: { node: { videoId: string } }) => edge.node.videoId),
      );
    };
    expect([...(await searchIds(other))]).toEqual([theirs]);
    const ours = await searchIds(client);
    expect(ours.has(mine!.id)).toBe(true);
    expect(ours.has(theirs)).toBe(false);
    const library = await other.graphql(
      '{ videos(first: 50) { totalCount edges { node { id } } } jobs(first: 50) { totalCount } }',
    );
    expect(library.body.data.videos).toEqual({ totalCount: 1, edges: [{ node: { id: theirs } }] });
    expect(library.body.data.jobs.totalCount).toBe(1);
    // Another tenant's ids read as nothing, and deleting one deletes nothing.
    const look = await other.graphql('query ($id: ID!) { video(id: $id) { id } job(id: $id) { id } }', {
      id: mine!.id,
    });
    expect(look.body.data).toEqual({ video: null, job: null });
    const taken = await other.graphql('mutation ($id: ID!) { deleteVideo(id: $id) { deleted } }', {
      id: mine!.id,
    });
    expect(taken.body.data.deleteVideo.deleted).toBe(false);

    // Deleting its own copy leaves the first tenant's video, object and search hit in place.
    const removed = await other.graphql('mutation ($id: ID!) { deleteVideo(id: $id) { deleted } }', {
      id: theirs,
    });
    expect(removed.body.data.deleteVideo.deleted).toBe(true);
    const still = await client.graphql('query ($id: ID!) { video(id: $id) { status } }', { id: mine!.id });
    expect(still.body.data.video).toEqual({ status: 'INDEXED' });
    expect((await searchIds(client)).has(mine!.id)).toBe(true);
    const reindex = await client.graphql('mutation ($id: ID!) { reindexVideo(id: $id) { id } }', {
      id: mine!.id,
    });
    const reindexed = await until(
      "the first tenant's re-index (its object is still stored)",
      async () => {
        const answer = await client.graphql('query ($id: ID!) { job(id: $id) { status } }', {
          id: reindex.body.data.reindexVideo.id,
        });
        const status = (answer.body.data?.job as { status: string } | null)?.status;
        return status === 'SUCCEEDED' || status === 'FAILED' ? status : undefined;
      },
      120_000,
    );
    expect(reindexed).toBe('SUCCEEDED');
  });

  it('indexes an object written straight into the bucket under videos/, once although written twice', async () => {
    const clip = clips[UPLOADS]!;
    const key = 'videos/camera-7/clip-0001.mp4';
    const s3 = s3Client(settings);
    await s3.putObject(bucket, key, clip.bytes, clip.bytes.length, { 'Content-Type': 'video/mp4' });
    const video = await until(
      'the object to be indexed',
      async () =>
        (
          await query<{ id: string; status: string }>(
            `SELECT "id", "status" FROM "videos" WHERE "object_key" = $1 AND "status" = 'INDEXED'`,
            [key],
          )
        )[0],
      120_000,
    );
    await s3.putObject(bucket, key, clip.bytes, clip.bytes.length, { 'Content-Type': 'video/mp4' });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const jobs = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "jobs" WHERE "idempotency_key" LIKE $1`,
      [`object:%:${key}@%`],
    );
    expect(jobs[0]!.n).toBe(1);
    const segments = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "segments" WHERE "video_id" = $1`,
      [video.id],
    );
    expect(segments[0]!.n).toBe(1);
  });
});
