/**
 * Every `hbi bench` command runs to the end and writes its report, at toy sizes on the fixture model
 * (the numbers mean nothing here; docs/benchmarks.md records real runs). Keeps the benchmarks from rotting.
 * `bench load` spawns `hbi serve` from dist/: build first (npx tsc -p tsconfig.build.json; npm test does).
 */
import 'reflect-metadata';

import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BenchReport } from '../../src/cli/bench/report.js';
import { runCli } from '../../src/cli/run.js';
import { captureIo } from '../helpers/cli-io.js';
import { TINY_PACKAGE, tempDir } from '../helpers/fixtures.js';

describe('hbi bench at toy sizes', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    temp = await tempDir('hbi-bench-');
  });
  afterAll(async () => temp?.cleanup());

  const bench = async (name: string, ...flags: string[]): Promise<BenchReport> => {
    const { code, report } = await benchRun(name, ...flags);
    expect(code).toBe(0);
    return report;
  };
  const benchRun = async (
    name: string,
    ...flags: string[]
  ): Promise<{ code: number; report: BenchReport }> => {
    const captured = captureIo({ HBI_MODEL_DIR: TINY_PACKAGE, HBI_DATA_DIR: path.join(temp.dir, 'data') });
    const code = await runCli(['bench', name, ...flags, '--out', temp.dir], captured.io);
    expect(captured.stderr()).toContain(`written: ${path.join(temp.dir, `${name}.json`)}`);
    expect(captured.stdout()).toContain(`### hbi bench ${name}`);
    const report = JSON.parse(await readFile(path.join(temp.dir, `${name}.json`), 'utf8')) as BenchReport;
    return { code, report };
  };

  it('encoder: shared encoder vs bare session, batching on vs off', async () => {
    const report = await bench(
      'encoder',
      '--clips',
      '8',
      '--batch',
      '4',
      '--concurrent',
      '8',
      '--rounds',
      '1',
    );
    expect(report.ratios.map((ratio) => [ratio.name, ratio.goal])).toEqual([
      ['shared encoder ÷ bare session, clips/s at batch 4', 0.9],
      ['8 concurrent requests: batching on ÷ off, throughput', 3],
      ['bare session: batch 4 ÷ batch 1, clips/s', undefined],
    ]);
    expect(report.ratios.every((ratio) => ratio.value > 0)).toBe(true);
  });

  it('interaction: the configured package’s interaction graph against a baseline package’s', async () => {
    const report = await bench(
      'interaction',
      '--baseline-model',
      TINY_PACKAGE,
      '--candidates',
      '4',
      '--calls',
      '2',
      '--rounds',
      '2',
    );
    const [configured, baseline] = report.measurements;
    expect(report.measurements).toHaveLength(2);
    expect(configured!.name).toMatch(/\(configured\): interaction graph, 1 query × 4 candidates$/);
    expect(baseline!.name).toMatch(/\(baseline\): interaction graph, 1 query × 4 candidates$/);
    expect(configured!.value).toBeGreaterThan(0);
    expect(baseline!.value).toBeGreaterThan(0);
    // the ratio is the two medians' quotient, in calls per second
    expect(report.ratios).toHaveLength(1);
    expect(report.ratios[0]!.value).toBeCloseTo(baseline!.value / configured!.value, 9);
  });

  it('interaction: without --baseline-model, or with a folder that is no package, a usage error naming the fix', async () => {
    for (const flags of [[], ['--baseline-model', path.join(temp.dir, 'no-such-package')]]) {
      const captured = captureIo({ HBI_MODEL_DIR: TINY_PACKAGE, HBI_DATA_DIR: path.join(temp.dir, 'data') });
      const code = await runCli(['bench', 'interaction', ...flags, '--out', temp.dir], captured.io);
      expect(code).toBe(2);
      expect(captured.stderr()).toMatch(/--baseline-model .*(is required|is not a model package)/);
      expect(captured.stderr()).toContain('git worktree add');
    }
  });

  it('ingest: end to end vs encoder alone, with the breakdown', async () => {
    const report = await bench(
      'ingest',
      '--videos',
      '2',
      '--concurrency',
      '2',
      '--long-minutes',
      '1',
      '--long-rounds',
      '2',
    );
    expect(report.measurements.find((m) => m.name === 'segments')?.value).toBe(2);
    expect(report.measurements.filter((m) => m.name.startsWith('time per segment:'))).toHaveLength(7);
    // One minute of 720p in 10 s windows with 2 s overlap: 8 segments, 1800 frames, two interleaved rounds.
    const long = (what: string) =>
      report.measurements.find((m) => m.name === `1 min 720p 30 fps recording: ${what}`);
    expect(long('segments')?.value).toBe(8);
    expect(long('rounds')?.value).toBe(2);
    expect(long('rounds')?.note).toMatch(
      /^end to end ÷ decode alone per round: \d\.\d{3}, \d\.\d{3}; with media: \d\.\d{3}, \d\.\d{3} /,
    );
    // The thumbnail outputs' cost, in ffmpeg's own CPU time (Linux) over the same rounds.
    const cpu = report.ratios.find((r) => r.name.endsWith('with thumbnail outputs ÷ without, CPU time'));
    expect(cpu?.value).toBeGreaterThan(0.5);
    expect(long('before the decode pass (hash, object store, probe)')?.value).toBeGreaterThan(0);
    const ratio = report.ratios.find((r) => r.name.startsWith('1 min 720p 30 fps recording: end to end ÷'));
    expect(ratio?.value).toBeGreaterThan(0);
  });

  it('search: latency over HTTP, exact scan, recall', async () => {
    const report = await bench(
      'search',
      '--segments',
      '40',
      '--bases',
      '2',
      '--queries',
      '2',
      '--repeat',
      '1',
    );
    const recalls = report.measurements.filter((m) =>
      m.name.startsWith('recall@10 against the exact HBI ranking'),
    );
    // 40 segments, 100 candidates: the two-stage search re-ranks everything, so it agrees with the exact scan
    // (up to near-ties at rank 10), with or without the index.
    expect(recalls).toHaveLength(2);
    for (const recall of recalls) expect(recall.value).toBeGreaterThanOrEqual(0.9);
  });

  it('load: every operation runs against a spawned hbi serve, only RATE_LIMITED errors, Retry-After honoured', async () => {
    // A low rate limit (6000 cost units a minute per key and tenant) so the 429 path is exercised too:
    // the first round of 8 clients (each starting with a different kind) fits the full buckets, then
    // the clients outrun the refill.
    const { code, report } = await benchRun(
      'load',
      '--clients',
      '8',
      '--duration',
      '5s',
      '--videos',
      '2',
      '--rate-limit',
      '6000',
    );
    const value = (name: string) => report.measurements.find((m) => m.name === name)?.value;
    for (const kind of ['search', 'answer', 'caption', 'upload', 'subscribe']) {
      expect(value(`${kind}: operations completed`), kind).toBeGreaterThan(0);
      for (const q of ['p50', 'p95', 'p99'])
        expect(value(`${kind}: ${q}`), `${kind} ${q}`).toBeGreaterThan(0);
    }
    expect(value('throughput')).toBeGreaterThan(0);
    expect(value('server peak RSS')).toBeGreaterThan(50);
    const errors = report.measurements.filter((m) => m.name.startsWith('errors: ')).map((m) => m.name);
    expect(errors).toEqual(['errors: RATE_LIMITED']);
    expect(value('errors: RATE_LIMITED')).toBeGreaterThan(0);
    expect(value('rate-limited share of requests')).toBeGreaterThan(0);
    expect(code).toBe(0);
  });

  it('load: refuses a server that is not on loopback unless --allow-remote', async () => {
    const captured = captureIo({ HBI_MODEL_DIR: TINY_PACKAGE });
    const code = await runCli(
      ['bench', 'load', '--url', 'http://192.0.2.10:4000/graphql', '--key', 'k', '--duration', '5s'],
      captured.io,
    );
    expect(code).toBe(2);
    expect(captured.stderr()).toContain('is not a loopback address');
  });
});
