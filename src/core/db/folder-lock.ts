/**
 * One process per embedded database folder. PGlite is PostgreSQL without its postmaster: two processes
 * opening one folder each believe they own it and corrupt it. The opener takes `<folder>.lock` (for the
 * default folder, `<HBI_DATA_DIR>/db.lock`), created atomically with the holder's pid, host and start
 * time; a second opener gets CONFLICT naming the folder and that pid. A lock whose process is gone (a
 * `kill -9`, a power cut) is taken over; so is one naming this very pid that this process does not hold
 * (a container restarted with the same pid). Released when the database closes.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { HbiError } from '../errors.js';

interface LockContent {
  pid: number;
  hostname: string;
  startedAt: string;
  token: string;
}

export interface FolderLock {
  /** The lock file. */
  readonly file: string;
  /** Removes the lock file if it is still this holder's; safe to call twice. */
  release(): Promise<void>;
}

/** Lock files this process holds (the same folder opened twice in one process is refused too). */
const held = new Set<string>();

/** The lock file of `folder`: beside it, `<folder>.lock`. */
export function lockFileOf(folder: string): string {
  const resolved = path.resolve(folder);
  return path.join(path.dirname(resolved), `${path.basename(resolved)}.lock`);
}

/** Takes the lock of `folder`; CONFLICT when a live process (this one included) holds it. */
export async function lockFolder(folder: string): Promise<FolderLock> {
  const file = lockFileOf(folder);
  const content: LockContent = {
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    token: randomUUID(),
  };
  // Written whole to a private file, then linked into place: link() fails when the lock exists, so
  // the lock never exists half-written.
  const draft = `${file}.${content.token}`;
  await writeFile(draft, `${JSON.stringify(content)}\n`, { mode: 0o600 });
  try {
    for (let tries = 0; ; tries++) {
      try {
        await link(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw error;
      }
      const holder = await readHolder(file);
      if (holder === 'gone') continue;
      if (holder !== 'unreadable' && isAlive(holder, file)) {
        throw new HbiError(
          'CONFLICT',
          `The embedded database ${path.resolve(folder)} is in use by process ${holder.pid}` +
            ` on ${holder.hostname} (since ${holder.startedAt}). Stop that process first, or give this one ` +
            `another HBI_DATA_DIR (or DATABASE_URL). If no such process runs, delete ${file}.`,
          { details: { folder: path.resolve(folder), pid: holder.pid, lockFile: file } },
        );
      }
      // Its holder is gone: take it over, unless another starter just did (then look again).
      const again = await readHolder(file);
      const unchanged =
        again === holder ||
        (typeof again === 'object' && typeof holder === 'object' && again.token === holder.token);
      if (unchanged) await unlink(file).catch(ignoreMissing);
    }
  } finally {
    await unlink(draft).catch(ignoreMissing);
  }
  held.add(file);
  let released = false;
  return {
    file,
    release: async () => {
      if (released) return;
      released = true;
      held.delete(file);
      const holder = await readHolder(file);
      if (holder !== 'gone' && holder !== 'unreadable' && holder.token === content.token) {
        await unlink(file).catch(ignoreMissing);
      }
    },
  };
}

async function readHolder(file: string): Promise<LockContent | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<LockContent>;
    if (typeof value.pid === 'number' && Number.isSafeInteger(value.pid) && typeof value.token === 'string') {
      return {
        pid: value.pid,
        token: value.token,
        hostname: String(value.hostname ?? 'an unknown host'),
        startedAt: String(value.startedAt ?? 'an unknown time'),
      };
    }
  } catch {
    // Not ours, or damaged: nobody can hold it.
  }
  return 'unreadable';
}

/** True while the lock's holder runs: a live pid, other than this process unless it holds the lock. */
function isAlive(holder: LockContent, file: string): boolean {
  if (holder.pid === process.pid) return held.has(file);
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
