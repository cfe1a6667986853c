/**
 * What every benchmark reports: the machine and the settings it ran with, its measurements, and its
 * ratios against a baseline measured in the same run (with the goal each ratio is held to). Written
 * as JSON (for tools) and as a markdown table (for docs/benchmarks.md).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Measurement {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export interface Ratio {
  name: string;
  value: number;
  /** The value the design asks for (higher is better); absent for informative ratios. */
  goal?: number;
  note?: string;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  platform: string;
  node: string;
  /** 1-minute load average when the benchmark started and ended: other work on a shared machine shows here. */
  loadAverage: { start: number; end: number };
}

export interface BenchReport {
  bench: string;
  /** ISO time the run started. */
  date: string;
  /** The command line as typed (`hbi bench …`). */
  command: string;
  machine: MachineInfo;
  settings: Readonly<Record<string, unknown>>;
  measurements: Measurement[];
  ratios: Ratio[];
  notes: string[];
  durationSeconds: number;
}

/** Starts a report; `finish` stamps the machine's end state and the duration. */
export function startReport(bench: string, command: string, settings: object) {
  const started = Date.now();
  const loadStart = os.loadavg()[0]!;
  const report: BenchReport = {
    bench,
    date: new Date(started).toISOString(),
    command,
    machine: {
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      loadAverage: { start: loadStart, end: loadStart },
    },
    settings: { ...settings },
    measurements: [],
    ratios: [],
    notes: [],
    durationSeconds: 0,
  };
  return {
    report,
    measure(name: string, value: number, unit: string, note?: string): void {
      report.measurements.push({ name, value, unit, ...(note ? { note } : {}) });
    },
    ratio(name: string, value: number, goal?: number, note?: string): void {
      report.ratios.push({ name, value, ...(goal === undefined ? {} : { goal }), ...(note ? { note } : {}) });
    },
    note(text: string): void {
      report.notes.push(text);
    },
    finish(): BenchReport {
      report.machine.loadAverage.end = os.loadavg()[0]!;
      report.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
      return report;
    },
  };
}

/** Three significant digits, without exponent notation for everyday sizes. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toString();
  return Number(value.toPrecision(3)).toString();
}

/** The report as markdown: settings line, measurements table, ratios table with goals, notes. */
export function renderMarkdown(report: BenchReport): string {
  const { machine } = report;
  const settings = Object.entries(report.settings)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  const lines = [
    `### hbi bench ${report.bench}`,
    '',
    `\`${report.command}\` — ${report.date}, ${report.durationSeconds} s; ${machine.cpus} × ${machine.cpuModel}, ` +
      `${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}, load average ` +
      `${formatNumber(machine.loadAverage.start)} → ${formatNumber(machine.loadAverage.end)}.`,
    '',
    `Settings: ${settings}.`,
    '',
    '| measurement | value | unit | note |',
    '| --- | ---: | --- | --- |',
    ...report.measurements.map(
      (m) => `| ${m.name} | ${formatNumber(m.value)} | ${m.unit} | ${m.note ?? ''} |`,
    ),
    '',
    '| ratio (same run) | value | goal | met |',
    '| --- | ---: | ---: | --- |',
    ...report.ratios.map(
      (r) =>
        `| ${r.name}${r.note ? ` (${r.note})` : ''} | ${formatNumber(r.value)} | ` +
        `${r.goal === undefined ? '' : `≥ ${r.goal}`} | ${r.goal === undefined ? '' : r.value >= r.goal ? 'yes' : 'no'} |`,
    ),
  ];
  if (report.notes.length > 0) lines.push('', ...report.notes.map((note) => `- ${note}`));
  return `${lines.join('\n')}\n`;
}

/** Writes `<dir>/<bench>.json` and `<dir>/<bench>.md`; returns their paths. */
export async function writeReport(report: BenchReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, `${report.bench}.json`);
  const markdown = path.join(dir, `${report.bench}.md`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(markdown, renderMarkdown(report));
  return [json, markdown];
}
