/**
 * Every `hbi bench` command runs to the end and writes its report, at toy sizes on the fixture model
 * (the numbers mean nothing here; docs/benchmarks.md records real runs). Keeps the benchmarks from rotting.
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
    const captured = captureIo({ HBI_MODEL_DIR: TINY_PACKAGE, HBI_DATA_DIR: path.join(temp.dir, 'data') });
    const code = await runCli(['bench', name, ...flags, '--out', temp.dir], captured.io);
    expect(captured.stderr()).toContain(`written: ${path.join(temp.dir, `${name}.json`)}`);
    expect(code).toBe(0);
    expect(captured.stdout()).toContain(`### hbi bench ${name}`);
    return JSON.parse(await readFile(path.join(temp.dir, `${name}.json`), 'utf8')) as BenchReport;
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

  it('ingest: end to end vs encoder alone, with the breakdown', async () => {
    const report = await bench('ingest', '--videos', '2', '--concurrency', '2');
    expect(report.measurements.find((m) => m.name === 'segments')?.value).toBe(2);
    expect(report.measurements.filter((m) => m.name.startsWith('time per segment:'))).toHaveLength(7);
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
});
