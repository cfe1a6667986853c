/**
 * A gateway that loses Kafka: on its own broker (started by `infra/up.sh kafka` in a private state
 * folder, so stopping it disturbs no other test), a gateway and a worker serve search; the broker is
 * stopped mid-run and the gateway answers with a clear, retriable UNAVAILABLE error while it stays up
 * and says it is not ready; the broker comes back on the same port and the same processes serve
 * search again, with nothing restarted by hand.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RoleProcess } from '../../src/cli/bench/cluster-processes.js';
import { spawnRole } from '../../src/cli/bench/cluster-processes.js';
import { tempDir } from '../helpers/fixtures.js';
import { gatewayClient } from '../helpers/gateway-client.js';
import type { GatewayClient, GraphQLAnswer } from '../helpers/gateway-client.js';
import {
  createTestDatabase,
  infraSettings,
  operatorKey,
  privateInfra,
  readEnvFile,
  removeBucket,
  uniqueName,
  until,
} from './infra.js';

const settings = infraSettings();
const LIBRARY = path.resolve('examples/demo-library');
const SEARCH = 'query ($text: String!) { search(text: $text, first: 3) { edges { node { videoTitle } } } }';

function tailOf(text: string, lines = 25): string {
  return text.split('\n').slice(-lines).join('\n');
}

describe('a gateway that loses Kafka mid-run', () => {
  const bucket = uniqueName('hbi-it-');
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let state: string;
  let gateway: RoleProcess;
  let worker: RoleProcess;
  let client: GatewayClient;
  let clip: { id: string; caption: string; file: string };
  let library: { id: string; caption: string; file: string }[];

  const infra = (script: 'up.sh' | 'down.sh', ...args: string[]) => privateInfra(state)(script, ...args);

  const search = (): Promise<GraphQLAnswer> => client.graphql(SEARCH, { text: clip.caption });
  const titles = (answer: GraphQLAnswer): string[] =>
    (answer.body.data?.search?.edges ?? []).map(
      (edge: { node: { videoTitle: string } }) => edge.node.videoTitle,
    );

  beforeAll(async () => {
    temp = await tempDir('hbi-kafka-outage-');
    state = path.join(temp.dir, 'infra');
    await infra('up.sh', 'kafka');
    const brokers = readEnvFile(path.join(state, 'env')).KAFKA_BROKERS;
    if (!brokers) throw new Error(`infra/up.sh kafka wrote no KAFKA_BROKERS into ${state}/env`);
    database = await createTestDatabase(settings.databaseUrl);
    const manifest = JSON.parse(await readFile(path.join(LIBRARY, 'library.json'), 'utf8')) as {
      clips: { id: string; file: string; captions: string[] }[];
    };
    library = manifest.clips
      .slice(0, 2)
      .map((entry) => ({ id: entry.id, caption: entry.captions[0]!, file: path.join(LIBRARY, entry.file) }));
    clip = library[0]!;
    const env: Record<string, string> = {
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_DEMO_LIBRARY: 'off',
      HBI_LOG_LEVEL: 'info',
      HBI_PORT: '0',
      HBI_WORKER_HEALTH_PORT: '0',
      HBI_UPLOAD_SECRET: 'outage-test-upload-secret-0123456789abcdef',
      DATABASE_URL: database.url,
      HBI_OBJECT_STORE_URL: settings.s3.url,
      HBI_OBJECT_STORE_ACCESS_KEY: settings.s3.accessKey,
      HBI_OBJECT_STORE_SECRET_KEY: settings.s3.secretKey,
      HBI_OBJECT_STORE_BUCKET: bucket,
      KAFKA_BROKERS: brokers,
      HBI_KAFKA_PARTITIONS: '2',
      HBI_KAFKA_SESSION_TIMEOUT_MS: '8000',
    };
    gateway = await spawnRole('gateway', env);
    worker = await spawnRole('worker', env);
    client = gatewayClient(gateway.url, await operatorKey(env, 'admin'));
    const upload = await client.upload(await readFile(clip.file), {
      filename: `${clip.id}.mp4`,
      title: clip.id,
    });
    expect(upload.status).toBe(202);
    const job = await client.finishedJob(upload.body.jobId as string, 120_000);
    expect(job.status).toBe('SUCCEEDED');
  }, 420_000);

  afterAll(async () => {
    await Promise.allSettled([gateway?.stop(), worker?.stop()]);
    if (state) await infra('down.sh', '--purge').catch(() => undefined);
    await removeBucket(settings, bucket).catch(() => undefined);
    await database?.drop();
    await temp?.cleanup();
  }, 120_000);

  it('searches through the broker while it is up', async () => {
    const answer = await search();
    expect(answer.body.errors).toBeUndefined();
    expect(titles(answer)).toContain(clip.id);
  });

  it('answers UNAVAILABLE (retriable) while the broker is down, stays up, reports not ready, then recovers by itself', async () => {
    await infra('down.sh', 'kafka');
    const downAt = Date.now();

    const failed = await until(
      'search to fail with UNAVAILABLE',
      async () => {
        const answer = await search();
        return answer.body.errors ? answer : undefined;
      },
      90_000,
    );
    const failedAfterMs = Date.now() - downAt;
    expect(client.codes(failed)).toEqual(['UNAVAILABLE']);
    expect(failed.body.errors[0].extensions.retriable).toBe(true);
    expect(failed.body.errors[0].message).toMatch(/Kafka/);
    // The gateway did not crash and tells load balancers to send traffic elsewhere.
    expect((await fetch(new URL('/health/live', gateway.url))).status).toBe(200);
    await until(
      'readiness to drop',
      async () => ((await fetch(new URL('/health/ready', gateway.url))).status === 503 ? true : undefined),
      60_000,
    );
    // The worker too: its request consumer lost the broker.
    const workerReady = await until(
      "the worker's readiness to drop",
      async () => {
        const response = await fetch(`${worker.url}/health/ready`);
        return response.status === 503 ? ((await response.json()) as Record<string, unknown>) : undefined;
      },
      90_000,
    );
    expect(workerReady).toMatchObject({ ready: false, phase: 'serving', taskBus: 'unreachable' });
    expect((await fetch(`${worker.url}/health/live`)).status).toBe(200);

    // An upload while the bus is down is accepted: its job is recorded and handed over later.
    const second = library[1]!;
    const upload = await client.upload(await readFile(second.file), {
      filename: `${second.id}.mp4`,
      title: second.id,
    });
    expect(upload.status).toBe(202);
    const queued = await client.graphql(`query ($id: ID!) { job(id: $id) { status } }`, {
      id: upload.body.jobId as string,
    });
    expect(queued.body.data.job.status).toBe('QUEUED');

    await infra('up.sh', 'kafka');
    const upAt = Date.now();

    let last: unknown;
    const recovered = await until(
      'search to work again',
      async () => {
        const answer: GraphQLAnswer = await search().catch((error: unknown) => ({
          status: 0,
          body: { error: String(error) },
        }));
        last = answer.body;
        return !answer.body.errors && titles(answer).includes(clip.id) ? answer : undefined;
      },
      180_000,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}; last answer ${JSON.stringify(last)}\n--- gateway\n${tailOf(gateway.logs())}\n--- worker\n${tailOf(worker.logs())}`,
      );
    });
    expect(titles(recovered)).toContain(clip.id);
    console.log(
      `kafka-outage: UNAVAILABLE ${failedAfterMs} ms after the broker stopped; search answered again ${Date.now() - upAt} ms after it was back`,
    );
    expect((await fetch(new URL('/health/ready', gateway.url))).status).toBe(200);
    await until(
      "the worker's readiness to return",
      async () => ((await fetch(`${worker.url}/health/ready`)).status === 200 ? true : undefined),
      90_000,
    );
    // The job recorded during the outage ran once the bus was back, exactly once.
    const job = await client.finishedJob(upload.body.jobId as string, 180_000);
    expect(job.status).toBe('SUCCEEDED');
    // (The job sat in the outbox: every gateway and worker relays it once the bus takes it again.)
    // Still the same processes: nothing was restarted by hand.
    expect(gateway.logs()).toContain('hbi gateway is up');
    expect(worker.logs()).toContain('hbi worker is up');
  }, 420_000);
});
