/**
 * What a command may touch of its process, passed in so commands run the same in tests: the
 * environment (read once by src/main.ts), the output streams, and `fetch` for API clients.
 */

/** A writable text stream; `isTTY` decides between a live progress line and plain log lines. */
export interface CliOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: CliOutput;
  stderr: CliOutput;
  /** Replaceable in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** Writes `value` as pretty JSON on one output (the `--json` format of every command). */
export function writeJson(output: CliOutput, value: unknown): void {
  output.write(`${JSON.stringify(value, null, 2)}\n`);
}
