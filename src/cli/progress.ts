/**
 * A progress line for long commands. On a terminal it redraws one line in place (a bar, a count and
 * what is happening); elsewhere (CI logs, files) it writes a plain line at most every few seconds and
 * at the end, so logs show progress without thousands of lines.
 */
import type { CliOutput } from './io.js';

export interface Progress {
  /** `done` of `total` (total 0 = unknown; fractions fill the bar), with a short note on what is happening. */
  update(done: number, total: number, note?: string): void;
  /** Clears the live line (terminal) and writes `summary` when given. */
  finish(summary?: string): void;
}

const BAR_WIDTH = 24;
/** Plain mode writes at most one line per this many ms. */
const PLAIN_INTERVAL_MS = 3000;

/** A progress line labelled `label` on `output`; `enabled: false` makes every call a no-op. */
export function createProgress(output: CliOutput, label: string, enabled = true): Progress {
  let lastPlain = 0;
  let live = false;
  const render = (done: number, total: number, note: string) => {
    const share = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(share * BAR_WIDTH);
    const bar = total > 0 ? `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ` : '';
    const count = total > 0 ? `${Math.floor(done)}/${total}` : `${Math.floor(done)}`;
    return `${label} ${bar}${count}${note ? ` ${note}` : ''}`;
  };
  return {
    update(done, total, note = '') {
      if (!enabled) return;
      if (output.isTTY) {
        const line = render(done, total, note).slice(0, Math.max(20, (output.columns ?? 100) - 1));
        output.write(`\r\x1b[2K${line}`);
        live = true;
      } else if (Date.now() - lastPlain >= PLAIN_INTERVAL_MS || (total > 0 && done >= total)) {
        lastPlain = Date.now();
        output.write(`${render(done, total, note)}\n`);
      }
    },
    finish(summary) {
      if (!enabled) return;
      if (live) output.write('\r\x1b[2K');
      live = false;
      if (summary) output.write(`${summary}\n`);
    },
  };
}
