/** Helpers for camera tests: the looping test source, as a file or as an HTTP stream. */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const LOOP_SOURCE = fileURLToPath(new URL('../../examples/camera/loop-source.sh', import.meta.url));

/** `clips` demo clips (3 s each) in one file, made by the looping test source in one fast pass. */
export async function makeSourceFile(dir: string, clips = 4): Promise<string> {
  const file = path.join(dir, 'source.mp4');
  await promisify(execFile)('bash', [
    LOOP_SOURCE,
    '--out',
    file,
    '--loops',
    '0',
    '--speed',
    '0',
    '--clips',
    String(clips),
  ]);
  return file;
}

/** The looping source serving MPEG-TS over HTTP on `port`, in its own process group (so kill() ends ffmpeg too). */
export function serveLoopSource(
  port: number,
  options: { speed?: number; clips?: number } = {},
): {
  url: string;
  process: ChildProcess;
  kill(): void;
} {
  const child = spawn(
    'bash',
    [
      LOOP_SOURCE,
      '--port',
      String(port),
      '--speed',
      String(options.speed ?? 1),
      '--clips',
      String(options.clips ?? 12),
    ],
    { detached: true, stdio: 'ignore' },
  );
  return {
    url: `http://127.0.0.1:${port}/live.ts`,
    process: child,
    kill: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}
