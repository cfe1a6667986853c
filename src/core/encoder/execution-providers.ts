/**
 * Chooses execution providers. CPU needs no check. Any other provider (cuda, tensorrt, …) is first
 * tried in a child process that opens a small graph with it: a missing CUDA library can crash the
 * native addon outright, and that must cost a child process, not the server. Providers that fail are
 * dropped with a clear log line, and CPU is always last, so the server comes up either way.
 */
import { spawn } from 'node:child_process';

import type { Logger } from '../logger.js';

export interface ProbeResult {
  ok: boolean;
  /** Why it failed (the child's last stderr line, exit code or timeout). */
  reason?: string;
}

/** Opens `modelFile` with `provider` somewhere safe and reports whether that worked. */
export type ProviderProbe = (provider: string, modelFile: string, timeoutMs: number) => Promise<ProbeResult>;

export interface ResolveProvidersOptions {
  requested: readonly string[];
  /** A small graph of the package to open during the probe (the text graph). */
  modelFile: string;
  timeoutMs: number;
  logger: Logger;
  probe?: ProviderProbe;
}

/** The providers to open sessions with, in preference order, ending with `cpu`. */
export async function resolveExecutionProviders(options: ResolveProvidersOptions): Promise<string[]> {
  const probe = options.probe ?? probeInChildProcess;
  const chosen: string[] = [];
  for (const provider of new Set(options.requested.map((name) => name.toLowerCase()))) {
    if (provider === 'cpu') continue;
    const result = await probe(provider, options.modelFile, options.timeoutMs);
    if (result.ok) {
      chosen.push(provider);
      options.logger.info(`execution provider "${provider}" is available`, { provider });
    } else {
      options.logger.warn(
        `execution provider "${provider}" is unavailable (${result.reason ?? 'unknown reason'}); falling back to cpu`,
        {
          provider,
          reason: result.reason,
        },
      );
    }
  }
  chosen.push('cpu');
  return chosen;
}

// The child imports onnxruntime-node by absolute URL, so it does not depend on its working directory.
const PROBE_SCRIPT = `
const [ortUrl, provider, model] = process.argv.slice(1);
try {
  const { default: ort } = await import(ortUrl);
  const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
  await session.release();
  process.stdout.write('ok');
} catch (error) {
  process.stdout.write('error: ' + String(error?.message ?? error).split('\\n')[0]);
  process.exitCode = 1;
}
`;

/** Default probe: a fresh Node process opens the graph with only `provider` enabled. */
export const probeInChildProcess: ProviderProbe = (provider, modelFile, timeoutMs) =>
  new Promise<ProbeResult>((resolve) => {
    const ortUrl = import.meta.resolve('onnxruntime-node');
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', PROBE_SCRIPT, ortUrl, provider, modelFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('error', (error) => resolve({ ok: false, reason: error.message }));
    child.on('close', (code, signal) => {
      if (code === 0 && stdout === 'ok') return resolve({ ok: true });
      // A thrown error is reported on stdout; a native crash leaves only stderr and a signal.
      const lastLine = stdout.startsWith('error: ')
        ? stdout.slice(7)
        : stderr.trim().split('\n').filter(Boolean).at(-1);
      const how = signal
        ? `killed by ${signal}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs} ms?)` : ''}`
        : `exit code ${code}`;
      resolve({ ok: false, reason: lastLine ? `${how}: ${lastLine}` : how });
    });
  });
