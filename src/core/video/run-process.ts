/**
 * Runs a child process with a deadline and bounded output capture; stdout can be streamed to a callback
 * instead of buffered (raw frames). Used for every ffmpeg/ffprobe call.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** The last `maxStderr` characters; ffmpeg writes its diagnostics there. */
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  timeoutMs: number;
  /** Receives stdout chunks; when given, `stdout` in the result stays empty. Return false to stop the process. */
  onStdout?: (chunk: Buffer) => boolean;
  maxStdout?: number;
  maxStderr?: number;
}

export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let timedOut = false;
    const maxStderr = options.maxStderr ?? 8_000;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (options.onStdout) {
        if (!options.onStdout(chunk)) child.kill('SIGKILL');
        return;
      }
      stdoutBytes += chunk.length;
      if (stdoutBytes > (options.maxStdout ?? 16 * 1024 ** 2)) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-maxStderr)));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(chunks), stderr, timedOut });
    });
  });
}

/** The most telling line of ffmpeg's stderr (the last non-empty one). */
export function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1)?.trim() ?? '';
}

/**
 * ffmpeg's most telling line about `file`, with the file's path replaced by its base name: the reason
 * reaches clients, and the server's folder layout must not.
 */
export function failureReason(stderr: string, file: string): string {
  return lastLine(file.length > 0 ? stderr.replaceAll(file, path.basename(file)) : stderr);
}
