/** The progress line and the benchmark report: what users and docs/benchmarks.md see. */
import { describe, expect, it } from 'vitest';

import { formatNumber, renderMarkdown, startReport } from '../../../src/cli/bench/report.js';
import { quantile, seededRandom } from '../../../src/cli/bench/stats.js';
import { createProgress } from '../../../src/cli/progress.js';

describe('progress line', () => {
  it('redraws one line in place on a terminal and clears it when done', () => {
    const written: string[] = [];
    const progress = createProgress(
      { write: (text) => written.push(text), isTTY: true, columns: 80 },
      'ingest',
    );
    progress.update(1.5, 4, 'clip.mp4 3/6 segments');
    progress.finish('done');
    expect(written).toEqual([
      '\r\x1b[2Kingest [#########---------------] 1/4 clip.mp4 3/6 segments',
      '\r\x1b[2K',
      'done\n',
    ]);
  });

  it('writes plain lines elsewhere, at most every few seconds plus the last one', () => {
    const written: string[] = [];
    const progress = createProgress({ write: (text) => written.push(text) }, 'bench');
    for (let done = 1; done <= 100; done++) progress.update(done, 100);
    expect(written).toEqual([
      'bench [------------------------] 1/100\n',
      'bench [########################] 100/100\n',
    ]);
  });

  it('does nothing when disabled', () => {
    const written: string[] = [];
    const progress = createProgress({ write: (text) => written.push(text), isTTY: true }, 'ingest', false);
    progress.update(1, 2);
    progress.finish('done');
    expect(written).toEqual([]);
  });
});

describe('benchmark report', () => {
  it('renders measurements, ratios with their goals, and notes as markdown', () => {
    const report = startReport('encoder', 'hbi bench encoder --clips 8', { clips: 8 });
    report.measure('shared encoder', 123.456, 'clips/s', 'median of 3');
    report.ratio('shared ÷ bare', 0.95, 0.9);
    report.ratio('batching on ÷ off', 1.8, 3);
    report.ratio('informative', 2.5);
    report.note('Providers: cpu.');
    const markdown = renderMarkdown(report.finish());
    expect(markdown).toContain('### hbi bench encoder\n');
    expect(markdown).toContain('`hbi bench encoder --clips 8`');
    expect(markdown).toContain('Settings: clips=8.');
    expect(markdown).toContain('| shared encoder | 123 | clips/s | median of 3 |');
    expect(markdown).toContain('| shared ÷ bare | 0.95 | ≥ 0.9 | yes |');
    expect(markdown).toContain('| batching on ÷ off | 1.8 | ≥ 3 | no |');
    expect(markdown).toContain('| informative | 2.5 |  |  |');
    expect(markdown).toContain('- Providers: cpu.');
  });

  it('formats numbers to three significant digits', () => {
    expect([formatNumber(0.012345), formatNumber(12.345), formatNumber(20000.4)]).toEqual([
      '0.0123',
      '12.3',
      '20000',
    ]);
  });

  it('takes nearest-rank quantiles and repeatable random numbers', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect([quantile(values, 0.5), quantile(values, 0.95), quantile([7], 0.95)]).toEqual([50, 95, 7]);
    const [a, b] = [seededRandom(1), seededRandom(1)];
    expect([a(), a()]).toEqual([b(), b()]);
  });
});
