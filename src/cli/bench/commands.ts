/**
 * `hbi bench encoder|interaction|search|ingest` (and `cluster`, `load`: own command shapes, cluster-bench.ts and load-bench.ts): each measures the platform against a baseline in the same run,
 * shows a progress line on stderr, prints a markdown table (or JSON with --json) and writes both to
 * `--out`. Sizes are flags, so a run fits a few minutes on a laptop; docs/benchmarks.md records runs.
 * They run on the embedded adapters in temporary folders whatever the cluster settings say.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { Config } from '../../core/config.js';
import { loadConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import { createLogger } from '../../core/logger.js';
import type { Command, OptionSpec, ParsedArgs } from '../args.js';
import { UsageError, intOption, stringOption } from '../args.js';
import { writeJson } from '../io.js';
import type { Progress } from '../progress.js';
import { createProgress } from '../progress.js';
import { clusterBenchCommand } from './cluster-bench.js';
import { runEncoderBench } from './encoder-bench.js';
import { runIngestBench } from './ingest-bench.js';
import { runInteractionBench } from './interaction-bench.js';
import { loadBenchCommand } from './load-bench.js';
import { renderMarkdown, startReport, writeReport } from './report.js';
import type { SearchBudget } from './search-bench.js';
import { runSearchBench } from './search-bench.js';
import { VARIANTS } from './synthetic-segments.js';

const COMMON: Readonly<Record<string, OptionSpec>> = {
  out: {
    type: 'string',
    value: '<dir>',
    description: 'Folder for <bench>.json and <bench>.md (default bench-results)',
  },
  json: { type: 'boolean', description: 'Print the report as JSON instead of markdown' },
};

/** A bench command: parses its sizes into settings, runs on the configured services, reports. */
function benchCommand<S extends object>(spec: {
  name: string;
  summary: string;
  details: string;
  options: Record<string, OptionSpec>;
  settings: (args: ParsedArgs) => S;
  run: (
    config: Config,
    settings: S,
    report: ReturnType<typeof startReport>,
    progress: Progress,
    logger: Logger,
  ) => Promise<void>;
  /** Runs on a temporary data folder and a free port, leaving the configured ones alone (search). */
  isolated?: boolean;
  /** A PostgreSQL URL the options chose for the database (search --database postgres), else embedded. */
  databaseUrl?: (args: ParsedArgs, env: NodeJS.ProcessEnv) => string | undefined;
}): Command {
  const { name } = spec;
  return {
    name: `bench ${name}`,
    summary: spec.summary,
    usage: `hbi bench ${name} [options]`,
    details: spec.details,
    options: { ...spec.options, ...COMMON },
    positionals: { min: 0, max: 0 },
    async run(args, io) {
      const settings = spec.settings(args);
      const dataDir = spec.isolated ? await mkdtemp(path.join(os.tmpdir(), `hbi-bench-${name}-`)) : undefined;
      try {
        // Always the embedded adapters: a benchmark must never write its synthetic rows into a real cluster.
        const { DATABASE_URL: _db, HBI_OBJECT_STORE_URL: _store, KAFKA_BROKERS: _bus, ...env } = io.env;
        // …unless the command names a database of its own for them (search --database postgres).
        const databaseUrl = spec.databaseUrl?.(args, io.env);
        const config = loadConfig({
          HBI_LOG_LEVEL: 'warn',
          ...env,
          ...(dataDir ? { HBI_DATA_DIR: dataDir, HBI_PORT: '0' } : {}),
          ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        });
        const logger = createLogger(config.logLevel);
        const report = startReport(name, commandLine(name, args), settings);
        await spec.run(config, settings, report, createProgress(io.stderr, `bench ${name}`), logger);
        const done = report.finish();
        const files = await writeReport(done, stringOption(args, 'out') ?? 'bench-results');
        if (args.values.json) writeJson(io.stdout, done);
        else io.stdout.write(renderMarkdown(done));
        io.stderr.write(`written: ${files.join(', ')}\n`);
        return 0;
      } finally {
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** The command as it would be typed again, from the options given. */
function commandLine(name: string, args: ParsedArgs): string {
  const flags = Object.entries(args.values)
    .filter(([flag, value]) => value !== undefined && flag !== 'help')
    .map(([flag, value]) => (value === true ? `--${flag}` : `--${flag} ${redacted(String(value))}`));
  return ['hbi bench', name, ...flags].join(' ');
}

/** A URL's password as `***`, so reports never carry credentials. */
export function redacted(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

const size = (description: string): OptionSpec => ({ type: 'string', value: '<n>', description });

export const BENCH_COMMANDS: readonly Command[] = [
  benchCommand({
    name: 'encoder',
    summary: 'Benchmark the shared encoder against a bare ONNX Runtime session, and batching on against off',
    details:
      'Reports clips/s of the shared encoder ÷ a bare onnxruntime-node session at the same batch size\n' +
      '(goal ≥ 0.9), and the throughput of concurrent single-clip requests with dynamic batching ÷ without\n' +
      '(goal ≥ 3). Uses HBI_MODEL_DIR, HBI_EXECUTION_PROVIDERS and HBI_INTRA_OP_THREADS as the server would.',
    options: {
      clips: size('Clips per throughput run (default 256)'),
      batch: size('Batch size of both contenders (default HBI_BATCH_MAX_SIZE, 16)'),
      concurrent: size('Concurrent single-clip requests (default 64)'),
      rounds: size('Alternating rounds; medians are reported (default 5)'),
    },
    settings: (args) => ({
      clips: intOption(args, 'clips', 256, 1, 100_000),
      batch: intOption(args, 'batch', 16, 1, 1024),
      concurrent: intOption(args, 'concurrent', 64, 1, 10_000),
      rounds: intOption(args, 'rounds', 5, 1, 100),
    }),
    run: runEncoderBench,
  }),
  benchCommand({
    name: 'interaction',
    summary: "Benchmark the model package's interaction graph (the search re-rank) against another package's",
    details:
      "Runs HBI_MODEL_DIR's interaction graph and --baseline-model's, one query against --candidates segments,\n" +
      'opened and fed as the server opens and feeds it, in alternating rounds; reports the\n' +
      'median ms per call of each and configured ÷ baseline in calls per second (> 1: the configured one is cheaper).',
    options: {
      'baseline-model': {
        type: 'string',
        value: '<dir>',
        description: 'The package to compare against (required), e.g. an earlier version from a git worktree',
      },
      candidates: size('Segments scored per call (default 100, the re-rank budget)'),
      words: size('Valid words in the query (default 10)'),
      calls: size('Calls per contender per round (default 20)'),
      rounds: size('Alternating rounds; medians are reported (default 7)'),
    },
    settings: (args) => {
      const baselineModel = stringOption(args, 'baseline-model');
      if (!baselineModel)
        throw new UsageError(
          '--baseline-model <dir> is required: the package to compare against, e.g. ' +
            'git worktree add /tmp/old <rev> && hbi bench interaction --baseline-model /tmp/old/models/hbi-synth-tiny',
        );
      return {
        baselineModel,
        candidates: intOption(args, 'candidates', 100, 1, 20_000),
        words: intOption(args, 'words', 10, 1, 1024),
        calls: intOption(args, 'calls', 20, 1, 10_000),
        rounds: intOption(args, 'rounds', 7, 1, 100),
      };
    },
    run: runInteractionBench,
  }),
  benchCommand({
    name: 'search',
    summary: 'Benchmark search latency over HTTP, ANN + re-rank against an exact scan, and its recall@10',
    details:
      'Builds a temporary index of --segments synthetic segments from real encodings of demo clips\n' +
      '(see docs/benchmarks.md), then measures p50/p95 latency of `search` over HTTP and in-process, before\n' +
      'and after ANALYZE (the embedded database only uses the HNSW index once it has statistics), an exact\n' +
      'HBI scan over every segment, and recall@10 of the two-stage search against that exact ranking\n' +
      '(and of the plain top-K by cosine, the baseline), HNSW build time, memory (RSS) and disk per segment.\n' +
      'With --database postgres the rows go into the PostgreSQL database at --database-url (or\n' +
      'HBI_DATABASE_URL): give it a database of its own, the benchmark leaves its rows there.',
    options: {
      segments: size('Segments in the index (default 20000; --copies sets it instead)'),
      copies: size('Noisy copies of each real encoding: segments = copies × bases × 16'),
      database: {
        type: 'string',
        value: 'embedded|postgres',
        description: 'Where the index lives (default embedded: PGlite in a temporary folder)',
      },
      'database-url': {
        type: 'string',
        value: '<url>',
        description: 'PostgreSQL URL for --database postgres (default HBI_DATABASE_URL)',
      },
      bases: size('Demo clips encoded as the corpus, 16 variants each (default 200)'),
      queries: size('Query texts (demo captions) (default 6)'),
      repeat: size('Times each query is sent over HTTP and in-process (default 5)'),
      noise: {
        type: 'string',
        value: '<x>',
        description: 'Noise on synthetic segments, × RMS (default 0.05)',
      },
      reuse: {
        type: 'boolean',
        description:
          'With --database postgres: search the corpus an earlier run left there (same size) instead of loading one',
      },
      budgets: {
        type: 'string',
        value: '<[c:]n,…>',
        description:
          "Also measure recall and latency in-process at these budgets: maxRerank, or candidates:maxRerank[:expandGroups] (default: the plugin's only)",
      },
    },
    settings: (args) => {
      const bases = intOption(args, 'bases', 200, 1, 200);
      const copies = args.values.copies === undefined ? undefined : intOption(args, 'copies', 1, 1, 10_000);
      if (copies !== undefined && args.values.segments !== undefined)
        throw new UsageError('Give --segments or --copies, not both');
      if (args.values.reuse === true && databaseOption(args) !== 'postgres')
        throw new UsageError(
          '--reuse needs --database postgres (the embedded database lives in a temporary folder)',
        );
      return {
        segments:
          copies === undefined
            ? intOption(args, 'segments', 20_000, 10, 2_000_000)
            : Math.min(copies * bases * VARIANTS.length, 2_000_000),
        bases,
        queries: intOption(args, 'queries', 6, 1, 200),
        repeat: intOption(args, 'repeat', 5, 1, 1000),
        noise: noiseOption(args),
        database: databaseOption(args),
        reuse: args.values.reuse === true,
        budgets: budgetsOption(args),
      };
    },
    run: runSearchBench,
    isolated: true,
    databaseUrl: (args, env) => {
      if (databaseOption(args) === 'embedded') return undefined;
      const url = stringOption(args, 'database-url') ?? env.HBI_DATABASE_URL;
      if (!url) throw new UsageError('--database postgres needs --database-url <url> or HBI_DATABASE_URL');
      return url;
    },
  }),
  benchCommand({
    name: 'ingest',
    summary: 'Benchmark end-to-end ingest against the encoder alone, with a breakdown of where the time goes',
    details:
      'Ingests --videos demo clips into fresh temporary databases: end to end one at a time (stages timed),\n' +
      'probe and decode alone, the encoder alone, and end to end --concurrency videos at a time. Then a\n' +
      'generated --long-minutes 720p 30 fps recording end to end against ffmpeg decoding the same frames alone.\n' +
      'The concurrent pass and the recording also run with media (thumbnails, poster) for its cost.',
    options: {
      videos: size('Demo clips to ingest (default 48)'),
      concurrency: size('Videos at a time in the concurrent pass (default 4)'),
      'long-minutes': size('Minutes of the generated 720p 30 fps recording (default 10; 0 skips it)'),
      'long-rounds': size(
        "Rounds of the recording's decode-alone and end-to-end runs, interleaved A B C D / D C B A (default 2)",
      ),
    },
    settings: (args) => ({
      videos: intOption(args, 'videos', 48, 1, 200),
      concurrency: intOption(args, 'concurrency', 4, 1, 64),
      longMinutes: intOption(args, 'long-minutes', 10, 0, 240),
      longRounds: intOption(args, 'long-rounds', 2, 1, 20),
    }),
    run: runIngestBench,
  }),
  // On the real services rather than the embedded adapters, so it brings its own command shape.
  clusterBenchCommand,
  loadBenchCommand,
];

function databaseOption(args: ParsedArgs): 'embedded' | 'postgres' {
  const database = stringOption(args, 'database') ?? 'embedded';
  if (database !== 'embedded' && database !== 'postgres')
    throw new UsageError(`--database must be embedded or postgres, got ${JSON.stringify(database)}`);
  return database;
}

function noiseOption(args: ParsedArgs): number {
  const given = stringOption(args, 'noise');
  const value = given === undefined ? 0.05 : Number(given);
  if (!(value >= 0 && value <= 10))
    throw new UsageError(`--noise must be a number from 0 to 10, got ${JSON.stringify(given)}`);
  return value;
}

function budgetsOption(args: ParsedArgs): SearchBudget[] {
  const given = stringOption(args, 'budgets');
  if (given === undefined) return [];
  const budgets = given.split(',').map((part): SearchBudget => {
    const [first, second, third] = part.trim().split(':').map(Number);
    if (second === undefined) return { maxRerank: first! };
    return { candidates: first!, maxRerank: second, ...(third === undefined ? {} : { expandGroups: third }) };
  });
  const whole = (value: number | undefined, max: number) =>
    value === undefined || (Number.isInteger(value) && value >= 1 && value <= max);
  if (
    budgets.some(
      (b) => !whole(b.maxRerank, 20_000) || !whole(b.candidates, 1000) || !whole(b.expandGroups, 1000),
    )
  )
    throw new UsageError(
      `--budgets must be comma-separated maxRerank values (1–20000), or candidates:maxRerank[:expandGroups], got ${JSON.stringify(given)}`,
    );
  return budgets;
}
