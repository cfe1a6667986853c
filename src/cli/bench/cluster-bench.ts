/**
 * `hbi bench cluster`: cluster mode on the real services (PostgreSQL, Kafka, MinIO from infra/), every
 * role a child process of the built `hbi` command, all on this machine in one run:
 *   1. ingest: one gateway + 1 worker, then a fresh cluster with 2 workers; --videos demo clips are
 *      uploaded through the gateway and the clock stops when the last job has finished → segments/s;
 *   2. search: p50/p95 over HTTP through gateway → Kafka → worker → reply topic, then the same
 *      queries against one `hbi serve` process (in-process dispatch) on the same database.
 * Each ingest pass gets its own database, bucket and topic prefix (content dedupe would otherwise
 * skip the second pass); all of them are removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import kafkajs from 'kafkajs';
import { Client as S3Client } from 'minio';
import pg from 'pg';

import { loadConfig } from '../../core/config.js';
import { HbiError } from '../../core/errors.js';
import { readDemoLibrary } from '../../core/ingest/demo-library.js';
import type { Command } from '../args.js';
import { intOption, stringOption } from '../args.js';
import { writeJson } from '../io.js';
import type { CliIo } from '../io.js';
import { createProgress } from '../progress.js';
import type { RoleProcess } from './cluster-processes.js';
import { operatorKey, spawnRole, systemSql } from './cluster-processes.js';
import { renderMarkdown, startReport, writeReport } from './report.js';
import { quantile } from './stats.js';

interface ClusterBenchSettings {
  videos: number;
  queries: number;
  repeat: number;
}

interface Services {
  databaseUrl: string;
  env: Record<string, string>;
  s3: S3Client;
  brokers: string[];
}

interface Clip {
  id: string;
  caption: string;
  bytes: Buffer;
}

const size = (description: string) => ({ type: 'string' as const, value: '<n>', description });

export const clusterBenchCommand: Command = {
  name: 'bench cluster',
  summary: 'Benchmark cluster mode: ingest segments/s with 1 vs 2 workers, search via Kafka vs in-process',
  usage: 'hbi bench cluster [options]',
  details:
    'Needs the real services (bash infra/up.sh && source .cache/infra/env) and a build (npm run build):\n' +
    'spawns gateways and workers as child processes, uploads --videos demo clips through the gateway with\n' +
    '1 then 2 workers, then times `search` over HTTP through gateway → Kafka → worker and through one\n' +
    '`hbi serve` process on the same database. Everything it creates is removed afterwards.',
  options: {
    videos: size('Demo clips ingested per pass (default 24)'),
    queries: size('Query texts (demo captions) (default 10)'),
    repeat: size('Times each query is sent (default 5)'),
    out: {
      type: 'string',
      value: '<dir>',
      description: 'Folder for cluster.json and cluster.md (default bench-results)',
    },
    json: { type: 'boolean', description: 'Print the report as JSON instead of markdown' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const settings: ClusterBenchSettings = {
      videos: intOption(args, 'videos', 24, 1, 200),
      queries: intOption(args, 'queries', 10, 1, 200),
      repeat: intOption(args, 'repeat', 5, 1, 1000),
    };
    const command = ['hbi bench cluster', ...Object.entries(settings).map(([k, v]) => `--${k} ${v}`)].join(
      ' ',
    );
    const report = startReport('cluster', command, settings);
    await runClusterBench(io, settings, report);
    const done = report.finish();
    const files = await writeReport(done, stringOption(args, 'out') ?? 'bench-results');
    if (args.values.json) writeJson(io.stdout, done);
    else io.stdout.write(renderMarkdown(done));
    io.stderr.write(`written: ${files.join(', ')}\n`);
    return 0;
  },
};

async function runClusterBench(
  io: CliIo,
  settings: ClusterBenchSettings,
  report: ReturnType<typeof startReport>,
): Promise<void> {
  const services = clusterServices(io.env);
  const config = loadConfig(io.env);
  const library = path.resolve(
    config.demoLibrary === 'off' ? 'examples/demo-library/library.json' : config.demoLibrary,
  );
  const clips = await loadClips(library, settings.videos);
  const progress = createProgress(io.stderr, 'bench cluster');
  const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const passes: { workers: number; segmentsPerSecond: number; databaseUrl: string; bucket: string }[] = [];
    for (const workers of [1, 2]) {
      const pass = await isolatedCluster(services, `${run}-w${workers}`, cleanups);
      const processes = await startCluster(pass.env, workers);
      try {
        progress.update(0, settings.videos, `ingest with ${workers} worker(s)`);
        const result = await ingestThrough(processes.gateway.url, pass.databaseUrl, clips, (done) =>
          progress.update(done, settings.videos, `ingest with ${workers} worker(s)`),
        );
        const segmentsPerSecond = result.segments / result.seconds;
        report.measure(
          `ingest, ${workers} worker${workers > 1 ? 's' : ''}`,
          segmentsPerSecond,
          'segments/s',
          `${result.segments} segments of ${clips.length} uploads in ${result.seconds.toFixed(1)} s`,
        );
        passes.push({ workers, segmentsPerSecond, databaseUrl: pass.databaseUrl, bucket: pass.bucket });
        if (workers === 2) {
          progress.update(0, 1, 'search through gateway → Kafka → worker');
          const latencies = await searchLatencies(processes.gateway.url, clips, settings);
          report.measure('search p50, gateway → Kafka → worker', quantile(latencies, 0.5), 'ms');
          report.measure('search p95, gateway → Kafka → worker', quantile(latencies, 0.95), 'ms');
          await processes.stop();
          progress.update(0, 1, 'search through one process (in-process dispatch)');
          const single = await spawnRole('all', {
            ...pass.env,
            KAFKA_BROKERS: '',
            HBI_LOG_LEVEL: 'info',
          });
          try {
            const embedded = await searchLatencies(single.url, clips, settings);
            report.measure('search p50, one process (in-process dispatch)', quantile(embedded, 0.5), 'ms');
            report.measure('search p95, one process (in-process dispatch)', quantile(embedded, 0.95), 'ms');
            report.ratio(
              'search p50, cluster ÷ one process',
              quantile(latencies, 0.5) / quantile(embedded, 0.5),
              undefined,
              'the cost of the Kafka round trip; lower is better',
            );
            report.ratio(
              'search p95, cluster ÷ one process',
              quantile(latencies, 0.95) / quantile(embedded, 0.95),
            );
          } finally {
            await single.stop();
          }
        }
      } finally {
        await processes.stop();
      }
    }
    const [one, two] = passes;
    report.ratio(
      'ingest segments/s, 2 workers ÷ 1 worker',
      two!.segmentsPerSecond / one!.segmentsPerSecond,
      undefined,
      "bounded by the machine's cores: every worker, the gateway, ffmpeg and the services share them",
    );
    report.note(
      `Each role is a child process of dist/main.js; PostgreSQL, Kafka and MinIO from infra/ on the same machine. ` +
        `Ingest: ${clips.length} demo clips uploaded through the gateway's upload route, timed from the first ` +
        `createUpload to the last job SUCCEEDED, 4 Kafka partitions. Search: ${settings.queries} demo captions × ` +
        `${settings.repeat}, sequential, over HTTP, against the 2-worker cluster's database; the one-process ` +
        'baseline is `hbi serve` (in-process bus and dispatch) on that same PostgreSQL database and bucket.',
    );
    progress.finish('done');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

/** The infra settings from the environment; CONFIG_INVALID naming what is missing. */
function clusterServices(env: Readonly<Record<string, string | undefined>>): Services {
  const need = [
    'DATABASE_URL',
    'KAFKA_BROKERS',
    'HBI_OBJECT_STORE_URL',
    'HBI_OBJECT_STORE_ACCESS_KEY',
    'HBI_OBJECT_STORE_SECRET_KEY',
  ];
  const missing = need.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new HbiError(
      'CONFIG_INVALID',
      `bench cluster needs the real services: set ${missing.join(', ')} (bash infra/up.sh && source .cache/infra/env)`,
    );
  }
  const url = new URL(env.HBI_OBJECT_STORE_URL!);
  const s3 = new S3Client({
    endPoint: url.hostname,
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    useSSL: url.protocol === 'https:',
    accessKey: env.HBI_OBJECT_STORE_ACCESS_KEY!,
    secretKey: env.HBI_OBJECT_STORE_SECRET_KEY!,
    region: env.HBI_OBJECT_STORE_REGION ?? 'us-east-1',
    pathStyle: true,
  });
  const passThrough = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && /^(HBI_|KAFKA_|DATABASE_URL$)/.test(entry[0]),
    ),
  );
  return { databaseUrl: env.DATABASE_URL!, env: passThrough, s3, brokers: env.KAFKA_BROKERS!.split(',') };
}

/** A database, bucket and topic prefix of its own, with their removal queued in `cleanups`. */
async function isolatedCluster(services: Services, name: string, cleanups: (() => Promise<void>)[]) {
  const database = `hbi_bench_${name.replaceAll('-', '_')}`;
  await sql(services.databaseUrl, `CREATE DATABASE "${database}"`);
  cleanups.push(async () => {
    await sql(services.databaseUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  });
  const databaseUrl = new URL(services.databaseUrl);
  databaseUrl.pathname = `/${database}`;
  const bucket = `hbi-bench-${name}`;
  cleanups.push(() => removeBucket(services.s3, bucket));
  const prefix = `bench-${name}.`;
  cleanups.push(() => deleteTopics(services.brokers, prefix));
  return {
    databaseUrl: databaseUrl.toString(),
    bucket,
    env: {
      ...services.env,
      DATABASE_URL: databaseUrl.toString(),
      HBI_OBJECT_STORE_BUCKET: bucket,
      HBI_KAFKA_TOPIC_PREFIX: prefix,
      HBI_KAFKA_PARTITIONS: '4',
      HBI_DEMO_LIBRARY: 'off',
      HBI_LOG_LEVEL: 'warn',
      HBI_PORT: '0',
      HBI_WORKER_HEALTH_PORT: '0',
      HBI_UPLOAD_SECRET: randomBytes(24).toString('hex'),
    },
  };
}

async function startCluster(env: Record<string, string>, workers: number) {
  // info level for the "is up" lines the spawner waits for.
  const roleEnv = { ...env, HBI_LOG_LEVEL: 'info' };
  const gateway = await spawnRole('gateway', roleEnv);
  apiKey = await operatorKey(env, 'admin');
  const started: RoleProcess[] = [gateway];
  const stop = () => Promise.allSettled(started.map((role) => role.stop())).then(() => undefined);
  try {
    started.push(...(await Promise.all(Array.from({ length: workers }, () => spawnRole('worker', roleEnv)))));
  } catch (error) {
    await stop();
    throw error;
  }
  return { gateway, stop };
}

/** Uploads every clip through the gateway and waits for every job; seconds from first upload to last job done. */
async function ingestThrough(
  graphqlUrl: string,
  databaseUrl: string,
  clips: readonly Clip[],
  onDone: (done: number) => void,
): Promise<{ seconds: number; segments: number }> {
  const started = performance.now();
  const jobIds: string[] = [];
  for (const clip of clips) jobIds.push(await upload(graphqlUrl, clip));
  for (;;) {
    const rows = await systemSql<{ status: string; n: number }>(
      databaseUrl,
      `SELECT "status", count(*)::int AS n FROM "jobs" WHERE "id" = ANY($1::uuid[]) GROUP BY "status"`,
      [jobIds],
    );
    const count = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
    if (count('FAILED') > 0)
      throw new HbiError('INTERNAL', `${count('FAILED')} ingest jobs failed during the benchmark`);
    onDone(count('SUCCEEDED'));
    if (count('SUCCEEDED') === jobIds.length) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  const [row] = await systemSql<{ n: number }>(databaseUrl, 'SELECT count(*)::int AS n FROM "segments"');
  return { seconds, segments: row?.n ?? 0 };
}

async function upload(graphqlUrl: string, clip: Clip): Promise<string> {
  const created = await postGraphql(
    graphqlUrl,
    'mutation ($f: String!, $s: SafeInt!, $t: String) { createUpload(filename: $f, contentType: "video/mp4", sizeBytes: $s, title: $t) { uploadUrl } }',
    { f: `${clip.id}.mp4`, s: clip.bytes.length, t: clip.id },
  );
  const uploadUrl = (created as { createUpload: { uploadUrl: string } }).createUpload.uploadUrl;
  const response = await fetch(uploadUrl, {
    method: 'PUT',
    body: clip.bytes,
    headers: { 'content-type': 'video/mp4' },
  });
  const body = (await response.json()) as { jobId?: string };
  if (response.status !== 202 || !body.jobId)
    throw new HbiError('INTERNAL', `Upload of ${clip.id} answered ${response.status}`);
  return body.jobId;
}

/** Sequential `search` requests over HTTP; one warm-up per query first. Milliseconds each. */
async function searchLatencies(
  graphqlUrl: string,
  clips: readonly Clip[],
  settings: ClusterBenchSettings,
): Promise<number[]> {
  const texts = clips.slice(0, settings.queries).map((clip) => clip.caption);
  const query =
    'query ($text: String!) { search(text: $text, first: 10) { edges { node { videoId score } } } }';
  for (const text of texts) await postGraphql(graphqlUrl, query, { text });
  const latencies: number[] = [];
  for (let round = 0; round < settings.repeat; round++) {
    for (const text of texts) {
      const start = performance.now();
      await postGraphql(graphqlUrl, query, { text });
      latencies.push(performance.now() - start);
    }
  }
  return latencies;
}

/** The admin key of the cluster under test (made by `hbi keys create` once its database exists). */
let apiKey = '';

async function postGraphql(url: string, query: string, variables: Record<string, unknown>): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: unknown; errors?: { message: string }[] };
  if (body.errors?.length) throw new HbiError('INTERNAL', `GraphQL error: ${body.errors[0]!.message}`);
  return body.data;
}

async function loadClips(libraryFile: string, count: number): Promise<Clip[]> {
  const library = await readDemoLibrary(libraryFile);
  if (library.clips.length < count) {
    throw new HbiError(
      'BAD_USER_INPUT',
      `The demo library has ${library.clips.length} clips; ${count} were asked for`,
    );
  }
  return Promise.all(
    library.clips.slice(0, count).map(async (clip) => ({
      id: clip.id,
      caption: clip.captions[0] ?? clip.id,
      bytes: await readFile(path.resolve(path.dirname(libraryFile), clip.file)),
    })),
  );
}

async function sql<T = unknown>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function removeBucket(s3: S3Client, bucket: string): Promise<void> {
  if (!(await s3.bucketExists(bucket))) return;
  const names: string[] = [];
  for await (const item of s3.listObjectsV2(bucket, '', true)) names.push((item as { name: string }).name);
  if (names.length > 0) await s3.removeObjects(bucket, names);
  await s3.removeBucket(bucket);
}

async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const { groups } = await admin.listGroups();
    const ours = groups.map((group) => group.groupId).filter((id) => id.startsWith(prefix));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
