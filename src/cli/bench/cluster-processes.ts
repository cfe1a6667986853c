/**
 * Starts cluster roles as child processes of the built `hbi` command (`dist/main.js`), the way an
 * operator would run them: `hbi serve --role gateway` and `hbi worker`, configured through their
 * environment. Used by `hbi bench cluster` and the cluster integration test. A role counts as up when
 * it logs its "is up" line (which carries its URL); exiting first is an error carrying its last logs.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import pg from 'pg';

import { SYSTEM_SETTING } from '../../core/db/scope.js';

/** The built entry point, from `src/cli/bench` and from `dist/cli/bench` alike. */
export const HBI_ENTRY = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));

/** `all` is the single-process server (`hbi serve`), the baseline cluster roles are compared with. */
export type ClusterRole = 'all' | 'gateway' | 'worker';

export interface RoleProcess {
  role: ClusterRole;
  pid: number;
  /** Gateway and all: the GraphQL URL; worker: the base URL of its health endpoints. */
  url: string;
  /** Everything it wrote to stderr so far (JSON log lines). */
  logs(): string;
  /** SIGTERM (graceful: finishes the work in hand, leaves its groups); resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL: a crash, nothing finished or handed over. */
  kill(): Promise<void>;
}

const UP_MESSAGE: Record<ClusterRole, { message: string; field: string }> = {
  all: { message: 'hbi is up', field: 'url' },
  gateway: { message: 'hbi gateway is up', field: 'url' },
  worker: { message: 'hbi worker is up', field: 'health' },
};

/**
 * An API key made the way an operator makes one for a cluster: `hbi keys create` against the cluster's
 * database (`env` holds DATABASE_URL), from the built command. Returns its token.
 */
export async function operatorKey(
  env: Readonly<Record<string, string>>,
  role: 'read' | 'write' | 'admin',
  options: { tenant?: string; entry?: string } = {},
): Promise<string> {
  const entry = options.entry ?? HBI_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
  const args = [entry, 'keys', 'create', '--name', `${role} key`, '--role', role, '--json'];
  if (options.tenant) args.push('--tenant', options.tenant);
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, HBI_LOG_LEVEL: 'error' },
  });
  return (JSON.parse(stdout) as { token: string }).token;
}

/** Spawns one role with `env` (merged over nothing: pass what it needs) and waits until it is up. */
export async function spawnRole(
  role: ClusterRole,
  env: Readonly<Record<string, string>>,
  options: { timeoutMs?: number; entry?: string } = {},
): Promise<RoleProcess> {
  const entry = options.entry ?? HBI_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
  const args = role === 'worker' ? [entry, 'worker'] : [entry, 'serve', '--role', role];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  let pending = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${role} not up within ${options.timeoutMs ?? 120_000} ms:\n${tail(logs)}`)),
      options.timeoutMs ?? 120_000,
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      logs += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const found = upUrl(role, line);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited with ${code} before it was up:\n${tail(logs)}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    role,
    pid: child.pid!,
    url,
    logs: () => logs,
    stop: (timeoutMs = 30_000) => stopChild(child, exited, timeoutMs),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function upUrl(role: ClusterRole, line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const want = UP_MESSAGE[role];
    const value = record[want.field] ?? (record.fields as Record<string, unknown> | undefined)?.[want.field];
    return record.message === want.message || record.msg === want.message ? String(value) : undefined;
  } catch {
    return undefined;
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  timeoutMs: number,
): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * A read of every tenant's rows: row-level security shows the platform's role nothing unless the
 * transaction opens the system scope (src/core/db/scope.ts).
 */
export async function systemSql<T = unknown>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config($1, 'on', true)`, [SYSTEM_SETTING]);
    const rows = (await client.query(text, params)).rows as T[];
    await client.query('COMMIT');
    return rows;
  } finally {
    await client.end();
  }
}
