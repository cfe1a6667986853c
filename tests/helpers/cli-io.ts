/** A CliIo whose output is captured, for running `hbi` commands in-process. */
import type { CliIo } from '../../src/cli/io.js';

export interface CapturedIo {
  io: CliIo;
  stdout(): string;
  stderr(): string;
}

export function captureIo(env: Record<string, string> = {}, fetchImpl?: typeof fetch): CapturedIo {
  const [out, err]: [string[], string[]] = [[], []];
  return {
    io: {
      env,
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
