/**
 * `hbi bench load`: many concurrent clients against a running server, each looping over operations
 * picked by weight (search, answer, caption, upload, a subscription opened and closed), honouring
 * Retry-After on 429. Reports throughput, p50/p95/p99 latency per operation, errors by code and the
 * server's peak RSS. Only RATE_LIMITED is an accepted error: any other makes the run fail (exit 1).
 *
 * By default it starts the server itself (`hbi serve` from dist/, a child process on a temporary data
 * folder and a free port, the demo library off, --videos demo clips uploaded and indexed first) so its
 * memory is the server's alone; --url points it at a server already running instead (a cluster gateway),
 * loopback only unless --allow-remote.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { loadConfig } from '../../core/config.js';
import { HbiError } from '../../core/errors.js';
import { readDemoLibrary } from '../../core/ingest/demo-library.js';
import type { Command, ParsedArgs } from '../args.js';
import { UsageError, intOption, stringOption } from '../args.js';
import { EXIT_CODES } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { writeJson } from '../io.js';
import type { Progress } from '../progress.js';
import { createProgress } from '../progress.js';
import type { RoleProcess } from './cluster-processes.js';
import { spawnRole } from './cluster-processes.js';
import type { OperationKind, Outcome, Target } from './load-operations.js';
import { OPERATION_KINDS, graphql, subscribeOnce, timedOutcome, upload } from './load-operations.js';
import { renderMarkdown, startReport, writeReport } from './report.js';
import { quantile, seededRandom } from './stats.js';

export interface LoadBenchSettings {
  clients: number;
  durationSeconds: number;
  /** Share of each operation kind, in percent (they add up to 100). */
  mix: Record<OperationKind, number>;
  /** API keys the clients are spread over (round robin). */
  keys: number;
  /** Demo clips uploaded and indexed before the load (what search, answer and caption ask about). */
  videos: number;
  /** A server already running; absent: the bench starts one. */
  url?: string;
  /** The server's rate limits when the bench starts it: `off`, `default` (as configured), or units a minute. */
  rateLimit: 'off' | 'default' | number;
  /** The server process whose peak RSS is read with --url (from /proc, same machine). */
  serverPid?: number;
  /** Deadline of each operation. */
  timeoutSeconds: number;
}

/** Accepted: a rate-limited request, retried after the server's Retry-After. Anything else fails the run. */
const ACCEPTED_ERRORS = new Set(['RATE_LIMITED']);
/** Pause after an error that is not a 429, so a broken server is not hammered in a tight loop. */
const ERROR_PAUSE_MS = 250;
const DEFAULT_MIX: Record<OperationKind, number> = {
  search: 60,
  answer: 20,
  caption: 10,
  upload: 5,
  subscribe: 5,
};

const size = (description: string) => ({ type: 'string' as const, value: '<n>', description });

export const loadBenchCommand: Command = {
  name: 'bench load',
  summary: 'Load test: concurrent clients searching, answering, captioning, uploading and subscribing',
  usage: 'hbi bench load [options]',
  details:
    'Starts `hbi serve` from dist/ (npm run build) on a temporary data folder with --videos demo clips\n' +
    'indexed, or drives the server at --url (loopback only unless --allow-remote), with --clients clients\n' +
    'for --duration, each picking operations by --mix and waiting out Retry-After on 429. Reports\n' +
    'throughput, p50/p95/p99 per operation, errors by code and the server’s peak RSS; exits 1 when any\n' +
    'error other than RATE_LIMITED occurred. The full run: --clients 200 --duration 300s.',
  options: {
    clients: size('Concurrent clients (default 200, at most 2000)'),
    duration: {
      type: 'string',
      value: '<time>',
      description: 'How long the load runs: 300s, 5m or seconds (default 300s, at most 1h)',
    },
    mix: {
      type: 'string',
      value: '<k=n,…>',
      description: 'Percent of each operation (default search=60,answer=20,caption=10,upload=5,subscribe=5)',
    },
    keys: size('API keys the clients are spread over (default 1 per 10 clients; 1 = --key itself)'),
    videos: size('Demo clips uploaded and indexed before the load (default 4)'),
    'rate-limit': {
      type: 'string',
      value: '<off|default|n>',
      description:
        'Server the bench starts: rate limits per key and tenant off (default), as configured, or n units a minute',
    },
    url: {
      type: 'string',
      value: '<url>',
      description: 'GraphQL URL of a running server to load instead of starting one (needs --key)',
    },
    key: {
      type: 'string',
      value: '<token>',
      description: 'API key for --url (else $HBI_API_KEY); admin for --keys > 1',
    },
    'allow-remote': { type: 'boolean', description: 'Allow a --url that is not a loopback address' },
    'server-pid': size('With --url: the server process, for its peak RSS (/proc, this machine)'),
    timeout: size('Seconds each operation may take before it counts as TIMEOUT (default 60)'),
    out: {
      type: 'string',
      value: '<dir>',
      description: 'Folder for load.json and load.md (default bench-results)',
    },
    json: { type: 'boolean', description: 'Print the report as JSON instead of markdown' },
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const settings = loadSettings(args);
    const allowRemote = args.values['allow-remote'] === true;
    if (settings.url) assertLoopback(settings.url, allowRemote);
    const apiKey = settings.url ? (stringOption(args, 'key') ?? io.env.HBI_API_KEY) : undefined;
    if (settings.url && !apiKey) throw new UsageError('--url needs --key (or $HBI_API_KEY)');
    const command = ['hbi bench load', ...flagsOf(args)].join(' ');
    const report = startReport('load', command, settings);
    const result = await runLoadBench(io, settings, report, { apiKey, allowRemote });
    const done = report.finish();
    const files = await writeReport(done, stringOption(args, 'out') ?? 'bench-results');
    if (args.values.json) writeJson(io.stdout, done);
    else io.stdout.write(renderMarkdown(done));
    io.stderr.write(`written: ${files.join(', ')}\n`);
    const refused = Object.entries(result.errors).filter(([code]) => !ACCEPTED_ERRORS.has(code));
    if (refused.length > 0) {
      io.stderr.write(
        `hbi bench load: failed: errors other than RATE_LIMITED: ${refused.map(([code, n]) => `${code} × ${n}`).join(', ')}\n`,
      );
      return EXIT_CODES.FAILURE;
    }
    return EXIT_CODES.OK;
  },
};

function loadSettings(args: ParsedArgs): LoadBenchSettings {
  const clients = intOption(args, 'clients', 200, 1, 2000);
  const url = stringOption(args, 'url');
  if (url !== undefined && !URL.canParse(url))
    throw new UsageError(`--url is not a URL: ${JSON.stringify(url)}`);
  if (url !== undefined && !/^https?:$/.test(new URL(url).protocol))
    throw new UsageError('--url must be an http(s) URL');
  const rate = stringOption(args, 'rate-limit') ?? 'off';
  let rateLimit: LoadBenchSettings['rateLimit'];
  if (rate === 'off' || rate === 'default') rateLimit = rate;
  else if (/^\d+$/.test(rate) && Number(rate) > 0) rateLimit = Number(rate);
  else
    throw new UsageError(
      `--rate-limit must be off, default or a positive integer, got ${JSON.stringify(rate)}`,
    );
  if (url !== undefined && stringOption(args, 'rate-limit') !== undefined)
    throw new UsageError('--rate-limit applies to a server the bench starts, not to --url');
  const pid = stringOption(args, 'server-pid');
  return {
    clients,
    durationSeconds: durationOption(stringOption(args, 'duration') ?? '300s'),
    mix: mixOption(stringOption(args, 'mix')),
    keys: intOption(args, 'keys', url === undefined ? Math.ceil(clients / 10) : 1, 1, 1000),
    videos: intOption(args, 'videos', 4, 1, 200),
    ...(url === undefined ? {} : { url }),
    rateLimit,
    ...(pid === undefined ? {} : { serverPid: intOption(args, 'server-pid', 0, 1, 2 ** 31) }),
    timeoutSeconds: intOption(args, 'timeout', 60, 1, 600),
  };
}

/** `300s`, `5m`, `300` → seconds, from 1 s to 1 h. */
export function durationOption(given: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(given.trim());
  const seconds = match ? Number(match[1]) * (match[2] === 'm' ? 60 : 1) : Number.NaN;
  if (!(seconds >= 1 && seconds <= 3600))
    throw new UsageError(`--duration must be from 1s to 60m (e.g. 300s, 5m), got ${JSON.stringify(given)}`);
  return seconds;
}

/** `search=60,answer=20,…` → percent per kind (unnamed kinds 0; at least one above 0). */
export function mixOption(given: string | undefined): Record<OperationKind, number> {
  if (given === undefined) return { ...DEFAULT_MIX };
  const mix = Object.fromEntries(OPERATION_KINDS.map((kind) => [kind, 0])) as Record<OperationKind, number>;
  for (const part of given.split(',')) {
    const [name, value] = part.split('=').map((text) => text.trim());
    if (!OPERATION_KINDS.includes(name as OperationKind) || !/^\d+(\.\d+)?$/.test(value ?? ''))
      throw new UsageError(
        `--mix takes kind=percent pairs (kinds: ${OPERATION_KINDS.join(', ')}), got ${JSON.stringify(part)}`,
      );
    mix[name as OperationKind] = Number(value);
  }
  if (Object.values(mix).every((value) => value === 0))
    throw new UsageError('--mix gives every operation a weight of 0');
  return mix;
}

/** Refuses a URL whose host is not a loopback address, unless `allowRemote`. */
export function assertLoopback(url: string, allowRemote: boolean): void {
  if (allowRemote) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const loopback =
    host === 'localhost' ||
    (isIP(host) === 4 && host.startsWith('127.')) ||
    (isIP(host) === 6 && (host === '::1' || /^::ffff:127\./i.test(host)));
  if (!loopback)
    throw new UsageError(
      `${url} is not a loopback address: a load test only drives this machine's servers unless --allow-remote is given`,
    );
}

function flagsOf(args: ParsedArgs): string[] {
  return Object.entries(args.values)
    .filter(([flag, value]) => value !== undefined && flag !== 'help' && flag !== 'key')
    .map(([flag, value]) => (value === true ? `--${flag}` : `--${flag} ${String(value)}`));
}

interface Clip {
  id: string;
  bytes: Uint8Array;
  captions: readonly string[];
  questions: readonly string[];
}

interface Seeded {
  videoIds: string[];
  jobIds: string[];
}

/** What one kind of operation did over the run. */
interface KindStats {
  latencies: number[];
  errors: Map<string, number>;
  /** Completed operations answered from the server's cache (answer, caption). */
  cached: number;
  /** The first message seen of each error code. */
  samples: Map<string, string>;
}

export interface LoadResult {
  /** Errors by code over every operation kind. */
  errors: Record<string, number>;
}

async function runLoadBench(
  io: CliIo,
  settings: LoadBenchSettings,
  report: ReturnType<typeof startReport>,
  access: { apiKey: string | undefined; allowRemote: boolean },
): Promise<LoadResult> {
  const config = loadConfig({ ...io.env, HBI_LOG_LEVEL: 'warn' });
  const library = path.resolve(
    config.demoLibrary === 'off' ? 'examples/demo-library/library.json' : config.demoLibrary,
  );
  const clips = await loadClips(library);
  const progress = createProgress(io.stderr, 'bench load');
  const dataDir = settings.url ? undefined : await mkdtemp(path.join(os.tmpdir(), 'hbi-bench-load-'));
  let server: RoleProcess | undefined;
  try {
    let url = settings.url;
    let adminKey = access.apiKey;
    if (!url) {
      progress.update(0, 0, 'starting hbi serve');
      server = await startServer(io.env, dataDir!, settings);
      url = server.url;
      adminKey = (await readFile(path.join(dataDir!, 'admin-key'), 'utf8')).trim();
    }
    const checkUrl = (candidate: string) => assertLoopback(candidate, access.allowRemote);
    const timeoutMs = settings.timeoutSeconds * 1000;
    const admin: Target = { url, apiKey: adminKey!, timeoutMs, checkUrl };
    const keys =
      settings.keys === 1 ? [{ id: undefined, token: adminKey! }] : await createKeys(admin, settings.keys);
    try {
      const seeded = await seedVideos(admin, clips, settings.videos, progress);
      const pid = server?.pid ?? settings.serverPid;
      const stats = await driveLoad(url, keys, clips, seeded, settings, progress, pid, checkUrl);
      const memory = pid === undefined ? undefined : await processMemory(pid);
      reportResults(report, settings, stats, memory, Boolean(server));
      const errors: Record<string, number> = {};
      for (const kind of OPERATION_KINDS)
        for (const [code, n] of stats.kinds[kind].errors) errors[code] = (errors[code] ?? 0) + n;
      return { errors };
    } finally {
      // Keys made on a server the bench did not start are revoked; a started one goes with its folder.
      if (!server) for (const key of keys) if (key.id) await revokeKey(admin, key.id);
    }
  } finally {
    progress.finish();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

/** `hbi serve` on `dataDir` and a free port: embedded adapters, no demo library, the chosen rate limits. */
async function startServer(
  env: CliIo['env'],
  dataDir: string,
  settings: LoadBenchSettings,
): Promise<RoleProcess> {
  const passThrough = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && entry[0].startsWith('HBI_') && !/^HBI_OBJECT_STORE_/.test(entry[0]),
    ),
  );
  const rate: Record<string, string> = {};
  if (settings.rateLimit !== 'default') {
    const perMinute = String(settings.rateLimit === 'off' ? 0 : settings.rateLimit);
    rate.HBI_RATE_KEY_COST_PER_MINUTE = perMinute;
    rate.HBI_RATE_TENANT_COST_PER_MINUTE = perMinute;
  }
  // Never the cluster services (DATABASE_URL, KAFKA_BROKERS are not passed): synthetic load stays local.
  return spawnRole('all', {
    ...passThrough,
    ...rate,
    HBI_DATA_DIR: dataDir,
    HBI_PORT: '0',
    HBI_HOST: '127.0.0.1',
    HBI_DEMO_LIBRARY: 'off',
    // info: the "is up" line the spawner waits for.
    HBI_LOG_LEVEL: 'info',
  });
}

async function createKeys(admin: Target, count: number): Promise<{ id: string; token: string }[]> {
  const keys: { id: string; token: string }[] = [];
  for (let i = 0; i < count; i++) {
    const created = await graphql(
      admin,
      'mutation ($name: String!) { createApiKey(name: $name, role: WRITE) { key { id } token } }',
      { name: `bench load ${i + 1}` },
    );
    if (!created.ok)
      throw new HbiError(
        'INTERNAL',
        `createApiKey failed (${created.code}): ${created.message} — --keys > 1 needs an admin key`,
      );
    const made = created.data.createApiKey as { key: { id: string }; token: string };
    keys.push({ id: made.key.id, token: made.token });
  }
  return keys;
}

async function revokeKey(admin: Target, id: string): Promise<void> {
  await graphql(admin, 'mutation ($id: ID!) { revokeApiKey(id: $id) { id } }', { id });
}

/** Uploads the first `count` clips and waits until their jobs succeed; their video and job ids. */
async function seedVideos(
  admin: Target,
  clips: readonly Clip[],
  count: number,
  progress: Progress,
): Promise<Seeded> {
  const jobIds: string[] = [];
  for (const clip of clips.slice(0, count)) {
    progress.update(jobIds.length, count, 'uploading the videos the load asks about');
    const sent = await upload(admin, { filename: `${clip.id}.mp4`, title: clip.id, bytes: clip.bytes });
    if (!sent.ok)
      throw new HbiError('INTERNAL', `seed upload of ${clip.id} failed (${sent.code}): ${sent.message}`);
    jobIds.push(sent.jobId);
  }
  const videoIds: string[] = [];
  const deadline = Date.now() + 10 * 60_000;
  for (const jobId of jobIds) {
    for (;;) {
      progress.update(videoIds.length, count, 'indexing the videos the load asks about');
      const answer = await graphql(
        admin,
        'query ($id: ID!) { job(id: $id) { status videoId error { code message } } }',
        {
          id: jobId,
        },
      );
      if (!answer.ok) throw new HbiError('INTERNAL', `job ${jobId}: ${answer.code}: ${answer.message}`);
      const job = answer.data.job as {
        status: string;
        videoId: string | null;
        error: { message: string } | null;
      };
      if (job.status === 'SUCCEEDED' && job.videoId) {
        videoIds.push(job.videoId);
        break;
      }
      if (job.status === 'FAILED' || job.status === 'CANCELLED')
        throw new HbiError('INTERNAL', `seed video job ${jobId} ${job.status}: ${job.error?.message ?? ''}`);
      if (Date.now() > deadline)
        throw new HbiError('TIMEOUT', `seed video job ${jobId} did not finish in 10 min`);
      await sleep(100);
    }
  }
  return { videoIds, jobIds };
}

interface LoadStats {
  kinds: Record<OperationKind, KindStats>;
  /** Seconds from the first operation to the last one finished (in-flight ones are awaited). */
  seconds: number;
  /** Server RSS sampled each second, MiB. */
  rssSamples: number[];
}

/** The clients' loops until the deadline, then the in-flight operations; what each kind did. */
async function driveLoad(
  url: string,
  keys: readonly { token: string }[],
  clips: readonly Clip[],
  seeded: Seeded,
  settings: LoadBenchSettings,
  progress: Progress,
  pid: number | undefined,
  checkUrl: (url: string) => void,
): Promise<LoadStats> {
  const kinds = Object.fromEntries(
    OPERATION_KINDS.map((kind) => [
      kind,
      { latencies: [], errors: new Map(), cached: 0, samples: new Map() },
    ]),
  ) as unknown as Record<OperationKind, KindStats>;
  const weighted = OPERATION_KINDS.filter((kind) => settings.mix[kind] > 0);
  const total = weighted.reduce((sum, kind) => sum + settings.mix[kind], 0);
  const recentJobs = [...seeded.jobIds];
  let uploads = 0;
  const timeoutMs = settings.timeoutSeconds * 1000;
  const start = performance.now();
  const deadline = start + settings.durationSeconds * 1000;
  const rssSamples: number[] = [];
  let completed = 0;
  let rateLimited = 0;
  let failed = 0;
  const otherCodes = () =>
    [...new Set(OPERATION_KINDS.flatMap((kind) => [...kinds[kind].errors.keys()]))]
      .filter((code) => !ACCEPTED_ERRORS.has(code))
      .join(', ');
  const ticker = setInterval(() => {
    void (async () => {
      const memory = pid === undefined ? undefined : await processMemory(pid).catch(() => undefined);
      if (memory) rssSamples.push(memory.rssMiB);
      const elapsed = (performance.now() - start) / 1000;
      progress.update(
        Math.min(elapsed, settings.durationSeconds),
        settings.durationSeconds,
        `s: ${completed} ops (${Math.round(completed / Math.max(elapsed, 0.001))}/s), 429: ${rateLimited}, ` +
          `other errors: ${failed}${failed > 0 ? ` (${otherCodes()})` : ''}${memory ? `, server RSS ${Math.round(memory.rssMiB)} MiB` : ''}`,
      );
    })();
  }, 1000);

  const runOne = (kind: OperationKind, target: Target, random: () => number): Promise<Outcome> => {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const clip = pick(clips);
    switch (kind) {
      case 'search':
        return timedOutcome(() =>
          graphql(
            target,
            'query ($text: String!) { search(text: $text, first: 10) { edges { node { segmentId score } } } }',
            { text: pick(clip.captions) },
          ),
        );
      case 'answer':
        return timedOutcome(() =>
          graphql(
            target,
            'query ($q: String!, $v: ID!) { answer(question: $q, videoId: $v, alternatives: 2) { answer confidence cached } }',
            { q: pick(clip.questions), v: pick(seeded.videoIds) },
          ),
        );
      case 'caption':
        return timedOutcome(() =>
          graphql(target, 'query ($v: ID!) { caption(videoId: $v) { text cached } }', {
            v: pick(seeded.videoIds),
          }),
        );
      case 'upload': {
        // Cycles through the library after the seeds: new content until it runs out, then re-uploads.
        const next = clips[(settings.videos + uploads++) % clips.length]!;
        return timedOutcome(() =>
          upload(target, { filename: `${next.id}.mp4`, title: `load ${next.id}`, bytes: next.bytes }),
        );
      }
      case 'subscribe':
        return timedOutcome(() => subscribeOnce(target, pick(recentJobs.slice(-50))));
    }
  };

  const client = async (index: number) => {
    const random = seededRandom(1000 + index);
    const target: Target = { url, apiKey: keys[index % keys.length]!.token, timeoutMs, checkUrl };
    // Each client starts with a different kind, so every kind runs even in a short run.
    let kind: OperationKind = weighted[index % weighted.length]!;
    while (performance.now() < deadline) {
      const outcome = await runOne(kind, target, random);
      const stats = kinds[kind];
      if (outcome.ok) {
        completed++;
        stats.latencies.push(outcome.ms);
        if (outcome.cached) stats.cached++;
        if (outcome.jobId) recentJobs.push(outcome.jobId);
        if (recentJobs.length > 1000) recentJobs.splice(0, recentJobs.length - 100);
      } else {
        stats.errors.set(outcome.code, (stats.errors.get(outcome.code) ?? 0) + 1);
        if (!stats.samples.has(outcome.code)) stats.samples.set(outcome.code, outcome.message.slice(0, 300));
        if (outcome.code === 'RATE_LIMITED') rateLimited++;
        else failed++;
        const pause = outcome.retryAfterMs ?? ERROR_PAUSE_MS;
        await sleep(Math.max(0, Math.min(pause, deadline - performance.now())));
      }
      let roll = random() * total;
      kind = weighted.find((candidate) => (roll -= settings.mix[candidate]) < 0) ?? weighted[0]!;
    }
  };
  try {
    await Promise.all(Array.from({ length: settings.clients }, (_, index) => client(index)));
  } finally {
    clearInterval(ticker);
  }
  return { kinds, seconds: (performance.now() - start) / 1000, rssSamples };
}

function reportResults(
  report: ReturnType<typeof startReport>,
  settings: LoadBenchSettings,
  stats: LoadStats,
  memory: { rssMiB: number; peakMiB: number } | undefined,
  started: boolean,
): void {
  const all = OPERATION_KINDS.flatMap((kind) => stats.kinds[kind].latencies);
  const errorsByCode = new Map<string, Map<OperationKind, number>>();
  for (const kind of OPERATION_KINDS) {
    for (const [code, n] of stats.kinds[kind].errors) {
      const byKind = errorsByCode.get(code) ?? new Map<OperationKind, number>();
      byKind.set(kind, n);
      errorsByCode.set(code, byKind);
    }
  }
  const errorCount = [...errorsByCode.values()].reduce(
    (sum, byKind) => sum + [...byKind.values()].reduce((a, b) => a + b, 0),
    0,
  );
  report.measure(
    'operations completed',
    all.length,
    'ops',
    `${settings.clients} clients, ${stats.seconds.toFixed(1)} s`,
  );
  report.measure('throughput', all.length / stats.seconds, 'ops/s', 'completed operations, all kinds');
  for (const kind of OPERATION_KINDS) {
    const { latencies } = stats.kinds[kind];
    const { cached } = stats.kinds[kind];
    report.measure(
      `${kind}: operations completed`,
      latencies.length,
      'ops',
      kind === 'answer' || kind === 'caption' ? `${cached} answered from the cache` : undefined,
    );
    report.measure(`${kind}: throughput`, latencies.length / stats.seconds, 'ops/s');
    for (const q of [50, 95, 99] as const)
      report.measure(
        `${kind}: p${q}`,
        quantile(latencies, q / 100),
        'ms',
        q === 50 ? 'completed operations' : undefined,
      );
  }
  report.measure('errors', errorCount, 'responses', 'every error of every kind; by code below');
  for (const [code, byKind] of [...errorsByCode].sort(([a], [b]) => a.localeCompare(b))) {
    const n = [...byKind.values()].reduce((a, b) => a + b, 0);
    report.measure(
      `errors: ${code}`,
      n,
      'responses',
      `${[...byKind].map(([kind, k]) => `${kind} ${k}`).join(', ')}${ACCEPTED_ERRORS.has(code) ? '' : ' — fails the run'}`,
    );
    if (!ACCEPTED_ERRORS.has(code)) {
      const [kind] = [...byKind.keys()];
      report.note(`First ${code} (${kind}): ${stats.kinds[kind!].samples.get(code) ?? ''}`);
    }
  }
  const rateLimited = [...(errorsByCode.get('RATE_LIMITED')?.values() ?? [])].reduce((a, b) => a + b, 0);
  report.measure(
    'rate-limited share of requests',
    (100 * rateLimited) / Math.max(1, all.length + errorCount),
    '%',
    '429 answers ÷ every operation attempted; each was retried after its Retry-After',
  );
  if (memory) {
    report.measure(
      'server peak RSS',
      memory.peakMiB,
      'MiB',
      'VmHWM of the server process at the end of the load',
    );
    if (stats.rssSamples.length > 0)
      report.measure(
        'server RSS at the end',
        memory.rssMiB,
        'MiB',
        `sampled every second; max sample ${Math.round(Math.max(...stats.rssSamples))} MiB`,
      );
  }
  report.note(
    `${settings.clients} clients for ${settings.durationSeconds} s over ${settings.keys} API key(s); each loops picking ` +
      `${OPERATION_KINDS.map((kind) => `${kind} ${settings.mix[kind]} %`).join(', ')}, and waits out Retry-After on a 429. ` +
      'search: first 10 of a demo caption; answer: a demo question over a whole seeded video; caption: a whole seeded ' +
      'video, greedy; upload: createUpload and the PUT of a demo clip (until the job is started, not indexed); ' +
      'subscribe: a graphql-ws connection opened, jobProgress of a recent job until its first event, closed. ' +
      'Latencies are of completed operations; throughput counts them over the whole run.',
  );
  report.note(
    started
      ? `Server: \`hbi serve\` from dist/ started by the bench (embedded PGlite and object folder in a temporary data folder, ` +
          `demo library off, ${settings.videos} demo clips uploaded and indexed first), rate limits per key and tenant ` +
          `${settings.rateLimit === 'off' ? 'off (HBI_RATE_*_COST_PER_MINUTE=0)' : settings.rateLimit === 'default' ? 'as configured' : `${settings.rateLimit} units a minute`}; ` +
          'client and server on the same machine.'
      : `Server: ${settings.url ?? ''}, already running${memory ? '' : ' (peak RSS not measured: give --server-pid)'}.`,
  );
}

/** VmRSS and VmHWM (peak) of a process on this machine, MiB; undefined where /proc has no such entry. */
export async function processMemory(pid: number): Promise<{ rssMiB: number; peakMiB: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    const rss = kib('VmRSS');
    const peak = kib('VmHWM');
    if (!Number.isFinite(rss) || !Number.isFinite(peak)) return undefined;
    return { rssMiB: rss / 1024, peakMiB: peak / 1024 };
  } catch {
    return undefined;
  }
}

async function loadClips(libraryFile: string): Promise<Clip[]> {
  const library = await readDemoLibrary(libraryFile);
  return Promise.all(
    library.clips.map(async (clip) => {
      // The library's question-answer pairs are optional (a loose field of the schema).
      const qa = Array.isArray(clip.qa) ? (clip.qa as { question?: unknown }[]) : [];
      const questions = qa.map((item) => item.question).filter((q): q is string => typeof q === 'string');
      return {
        id: clip.id,
        bytes: new Uint8Array(await readFile(path.resolve(path.dirname(libraryFile), clip.file))),
        captions: clip.captions.length > 0 ? clip.captions : [clip.id],
        questions: questions.length > 0 ? questions : ['what does the object do?'],
      };
    }),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
