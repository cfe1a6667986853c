/**
 * Where the real services are, for the integration tier: the variables `infra/up.sh` writes to
 * `.cache/infra/env` (scripts/test.sh sources it before this tier). When they are not in the
 * environment, the file itself is read, so `npx vitest run --project integration` works after
 * `bash infra/up.sh` alone. Every name a test creates (database, bucket, topic, group) carries
 * `RUN_ID`, so runs never collide and leftovers are recognisable.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import kafkajs from 'kafkajs';
import { Client as S3Client } from 'minio';
import pg from 'pg';

export interface InfraSettings {
  databaseUrl: string;
  s3: { url: string; accessKey: string; secretKey: string; region: string };
  kafkaBrokers: string[];
  /** MinIO's Kafka notification target and its topic (infra/up.sh always configures them). */
  minioNotifyArn: string;
  objectEventsTopic: string;
}

const ENV_FILE = fileURLToPath(new URL('../../.cache/infra/env', import.meta.url));

/** Lowercase letters and digits, unique per test process: safe in bucket, topic and database names. */
export const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

let counter = 0;
/** `<prefix><RUN_ID>-<n>`, a fresh name per call. */
export function uniqueName(prefix: string): string {
  return `${prefix}${RUN_ID}-${++counter}`;
}

/** The services' settings; throws with the fix when the services were never brought up. */
export function infraSettings(): InfraSettings {
  const env = { ...readEnvFile(), ...definedOnly(process.env) };
  const need = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new Error(
        `${name} is not set: the integration tier needs the real services. Run \`bash infra/up.sh\` ` +
          `(then \`source .cache/infra/env\`), or run the whole suite with \`npm test\`.`,
      );
    }
    return value;
  };
  return {
    databaseUrl: need('DATABASE_URL'),
    s3: {
      url: need('HBI_OBJECT_STORE_URL'),
      accessKey: need('HBI_OBJECT_STORE_ACCESS_KEY'),
      secretKey: need('HBI_OBJECT_STORE_SECRET_KEY'),
      region: env.HBI_S3_REGION ?? 'us-east-1',
    },
    kafkaBrokers: need('KAFKA_BROKERS').split(','),
    minioNotifyArn: need('HBI_MINIO_NOTIFY_ARN'),
    objectEventsTopic: need('HBI_KAFKA_OBJECT_EVENTS_TOPIC'),
  };
}

/**
 * A new, empty database on the infra server, owned by the platform's role (which has CREATEDB;
 * pgvector comes from template1, see infra/up.sh). `drop` removes it, closing what still uses it.
 */
export async function createTestDatabase(
  databaseUrl: string,
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueName('hbi_it_').replaceAll('-', '_');
  await withClient(databaseUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => dropDatabase(databaseUrl, name),
  };
}

/**
 * DROP DATABASE … WITH (FORCE), retried: FORCE may terminate only the connections of roles the caller
 * is a member of; a backend of another role in the database — most likely an autovacuum worker after
 * a test's bulk writes, on a loaded machine — makes PostgreSQL refuse with 42501 ("must be a member of
 * the role whose process is being terminated"), seen once in a fresh-machine check. It is transient.
 */
async function dropDatabase(databaseUrl: string, name: string, attempts = 10): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withClient(databaseUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      );
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '42501' || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/** Runs `work` on one plain `pg` connection to `url`. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Every tenant's rows behind the platform's back, in the system data scope (see `systemSql`). */
export { systemSql as systemQuery } from '../../src/cli/bench/cluster-processes.js';

/**
 * Runs an infra script against a private state folder (services of a test's own, on free ports of their
 * own, so stopping them disturbs no other test), with none of the shared services' settings in its
 * environment but the same build cache.
 */
export function privateInfra(state: string) {
  const keep = ['PATH', 'HOME', 'USER', 'LANG', 'TMPDIR', 'XDG_CACHE_HOME', 'HBI_INFRA_CACHE', 'JAVA_HOME'];
  const env: NodeJS.ProcessEnv = { HBI_INFRA_STATE: state };
  for (const name of keep) if (process.env[name]) env[name] = process.env[name];
  return (script: 'up.sh' | 'down.sh', ...args: string[]) =>
    promisify(execFile)('bash', [path.resolve('infra', script), ...args], { env, timeout: 240_000 });
}

/** A plain S3 client for checks behind the adapter's back. */
export function s3Client(settings: InfraSettings): S3Client {
  const url = new URL(settings.s3.url);
  return new S3Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: settings.s3.accessKey,
    secretKey: settings.s3.secretKey,
    region: settings.s3.region,
    pathStyle: true,
  });
}

/** Removes every object and unfinished upload of a bucket, then the bucket; nothing when it is gone. */
export async function removeBucket(settings: InfraSettings, bucket: string): Promise<void> {
  const client = s3Client(settings);
  if (!(await client.bucketExists(bucket))) return;
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, '', true))
    names.push((item as { name: string }).name);
  if (names.length > 0) await client.removeObjects(bucket, names);
  for await (const upload of client.listIncompleteUploads(bucket, '', true)) {
    await client.removeIncompleteUpload(bucket, (upload as { key: string }).key);
  }
  await client.removeBucket(bucket);
}

/** Deletes the Kafka topics and consumer groups whose names start with `prefix`. */
export async function deleteKafkaLeftovers(settings: InfraSettings, prefix: string): Promise<void> {
  const admin = new kafkajs.Kafka({
    brokers: settings.kafkaBrokers,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
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

/** `export NAME='value'` lines of an infra env file (this checkout's by default); {} when it does not exist. */
export function readEnvFile(file: string = ENV_FILE): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match =
      /^export ([A-Z0-9_]+)='(.*)'$/.exec(line.trim()) ?? /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!.replaceAll(`'\\''`, `'`);
  }
  return values;
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => !!entry[1]));
}

/** Polls `probe` (every 250 ms) until it returns a value; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export { operatorKey } from '../../src/cli/bench/cluster-processes.js';
