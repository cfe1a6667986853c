/**
 * Cluster mode through a database restart: a gateway and two workers on their own PostgreSQL (started by
 * `infra/up.sh postgres` in a private state folder, so stopping it disturbs no other test) and the shared
 * Kafka and MinIO. Demo clips are uploaded; once some are indexed the server is stopped mid-ingest and
 * started again on the same port. Every clip still ends indexed exactly once and no job is left queued or
 * running, with nothing restarted by hand: the jobs in flight wait for the database and run again
 * (`db/outage.ts`), well before the stale-job sweep would find them.
 */
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RoleProcess } from '../../src/cli/bench/cluster-processes.js';
import { spawnRole } from '../../src/cli/bench/cluster-processes.js';
import { tempDir } from '../helpers/fixtures.js';
import { gatewayClient } from '../helpers/gateway-client.js';
import type { GatewayClient } from '../helpers/gateway-client.js';
import {
  deleteKafkaLeftovers,
  infraSettings,
  operatorKey,
  privateInfra,
  readEnvFile,
  removeBucket,
  systemQuery,
  uniqueName,
  until,
} from './infra.js';

const settings = infraSettings();
const LIBRARY = path.resolve('examples/demo-library');
const UPLOADS = 8;

describe('cluster mode through a PostgreSQL restart mid-ingest', () => {
  const prefix = `${uniqueName('it-pg-restart-')}.`;
  const bucket = uniqueName('hbi-it-');
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let state: string;
  let databaseUrl: string;
  let gateway: RoleProcess;
  const workers: RoleProcess[] = [];
  let client: GatewayClient;

  const infra = (script: 'up.sh' | 'down.sh', ...args: string[]) => privateInfra(state)(script, ...args);
  const query = <T>(sql: string, params: unknown[] = []) => systemQuery<T>(databaseUrl, sql, params);

  beforeAll(async () => {
    temp = await tempDir('hbi-pg-restart-');
    // The server runs as the postgres user, which must reach its data folder under this one.
    await chmod(temp.dir, 0o711);
    state = path.join(temp.dir, 'infra');
    await infra('up.sh', 'postgres');
    const url = readEnvFile(path.join(state, 'env')).DATABASE_URL;
    if (!url) throw new Error(`infra/up.sh postgres wrote no DATABASE_URL into ${state}/env`);
    databaseUrl = url;
    const env: Record<string, string> = {
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_DEMO_LIBRARY: 'off',
      HBI_LOG_LEVEL: 'info',
      HBI_PORT: '0',
      HBI_WORKER_HEALTH_PORT: '0',
      HBI_UPLOAD_SECRET: 'pg-restart-test-upload-secret-0123456789abcdef',
      DATABASE_URL: databaseUrl,
      HBI_OBJECT_STORE_URL: settings.s3.url,
      HBI_OBJECT_STORE_ACCESS_KEY: settings.s3.accessKey,
      HBI_OBJECT_STORE_SECRET_KEY: settings.s3.secretKey,
      HBI_OBJECT_STORE_BUCKET: bucket,
      KAFKA_BROKERS: settings.kafkaBrokers.join(','),
      HBI_KAFKA_TOPIC_PREFIX: prefix,
      HBI_KAFKA_PARTITIONS: '4',
      HBI_KAFKA_SESSION_TIMEOUT_MS: '8000',
      // The stale-job sweep stays at its default (15 min, longer than this test): a job that lost the
      // database must recover by waiting for it (HBI_DB_OUTAGE_WAIT_MS), not by being found stale.
    };
    gateway = await spawnRole('gateway', env);
    workers.push(...(await Promise.all([spawnRole('worker', env), spawnRole('worker', env)])));
    client = gatewayClient(gateway.url, await operatorKey(env, 'write'));
  }, 420_000);

  afterAll(async () => {
    await Promise.allSettled([gateway?.stop(), ...workers.map((worker) => worker.stop())]);
    if (state) await infra('down.sh', '--purge').catch(() => undefined);
    await deleteKafkaLeftovers(settings, prefix).catch(() => undefined);
    await removeBucket(settings, bucket).catch(() => undefined);
    await temp?.cleanup();
  }, 180_000);

  it('indexes every uploaded clip exactly once although PostgreSQL restarts mid-ingest', async () => {
    const manifest = JSON.parse(await readFile(path.join(LIBRARY, 'library.json'), 'utf8')) as {
      clips: { id: string; file: string }[];
    };
    const clips = manifest.clips.slice(0, UPLOADS);
    const jobIds: string[] = [];
    for (const clip of clips) {
      const upload = await client.upload(await readFile(path.join(LIBRARY, clip.file)), {
        filename: `${clip.id}.mp4`,
        title: clip.id,
      });
      expect(upload.status).toBe(202);
      jobIds.push(upload.body.jobId as string);
    }
    const finished = () =>
      query<{ n: number }>(
        `SELECT count(*)::int AS "n" FROM "jobs" WHERE "id" = ANY($1::uuid[]) AND "status" IN ('SUCCEEDED', 'FAILED')`,
        [jobIds],
      ).then((rows) => rows[0]!.n);
    const doneAtStop = await until(
      'a first job to finish',
      async () => ((await finished()) >= 1 ? finished() : undefined),
      180_000,
    );
    await infra('down.sh', 'postgres');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await infra('up.sh', 'postgres');
    expect(doneAtStop).toBeLessThan(UPLOADS);

    await until(
      'every job to finish after the restart',
      async () => ((await finished().catch(() => 0)) === UPLOADS ? true : undefined),
      300_000,
    ).catch(async (error: Error) => {
      const states = await query<{ status: string; attempts: number; error: unknown }>(
        `SELECT "status", "attempts", "error" FROM "jobs" WHERE "id" = ANY($1::uuid[])`,
        [jobIds],
      ).catch(() => []);
      // Every worker's last lines and every line about a dead letter or a failed handler, wherever it is:
      // a job left QUEUED with no attempt is a message that never reached a handler that could run it.
      const logs = workers
        .map((worker, i) => {
          const lines = worker.logs().split('\n');
          const notable = lines.filter((line) => /dead-letter|handler failed|lost the database/.test(line));
          return `--- worker ${i}: notable\n${notable.slice(-20).join('\n')}\n--- worker ${i}: last lines\n${lines.slice(-30).join('\n')}`;
        })
        .join('\n');
      throw new Error(
        `${error.message}: ${JSON.stringify(states)}\n${logs}\n--- gateway\n${gateway.logs().split('\n').slice(-20).join('\n')}`,
      );
    });
    const jobs = await query<{ status: string; video_id: string }>(
      `SELECT "status", "video_id" FROM "jobs" WHERE "id" = ANY($1::uuid[])`,
      [jobIds],
    );
    expect(jobs.map((job) => job.status)).toEqual(Array(UPLOADS).fill('SUCCEEDED'));
    const videos = await query<{ title: string; status: string; segments: number; embeddings: number }>(
      `SELECT v."title", v."status"::text AS "status", count(s."id")::int AS "segments",
              (SELECT count(*)::int FROM "segment_embeddings" e JOIN "segments" s2 ON s2."id" = e."segment_id"
                WHERE s2."video_id" = v."id") AS "embeddings"
       FROM "videos" v LEFT JOIN "segments" s ON s."video_id" = v."id" GROUP BY v."id", v."title", v."status"`,
    );
    expect(videos.map((video) => video.title).sort()).toEqual(clips.map((clip) => clip.id).sort());
    for (const video of videos)
      expect(video).toMatchObject({ status: 'INDEXED', segments: 1, embeddings: 1 });
    const stuck = await query<{ n: number }>(
      `SELECT count(*)::int AS "n" FROM "jobs" WHERE "status" IN ('QUEUED', 'RUNNING')`,
    );
    expect(stuck[0]!.n).toBe(0);
    // The jobs in hand when the server went away waited for it and ran again.
    expect(workers.map((worker) => worker.logs()).join('\n')).toContain('waiting for it to answer again');
    // The same processes served it all.
    expect(gateway.logs()).toContain('hbi gateway is up');
  }, 600_000);
});
