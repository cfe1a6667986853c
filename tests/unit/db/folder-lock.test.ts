import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lockFileOf, lockFolder } from '../../../src/core/db/folder-lock.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { tempDir } from '../../helpers/fixtures.js';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('one process per embedded database folder', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    temp = await tempDir('hbi-folder-lock-');
  });
  afterAll(async () => {
    await temp?.cleanup();
  });

  it('refuses a second opener of a PGlite folder with CONFLICT naming the folder and pid, until closed', async () => {
    const folder = path.join(temp.dir, 'data', 'db');
    const db = await openPgliteDatabase(folder);
    const file = path.join(temp.dir, 'data', 'db.lock');
    expect(lockFileOf(folder)).toBe(file);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid });
    const second = openPgliteDatabase(folder);
    await expect(second).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { folder, pid: process.pid, lockFile: file },
    });
    await expect(second).rejects.toThrow(`${folder} is in use by process ${process.pid}`);
    await db.close();
    expect(await exists(file)).toBe(false);
    const again = await openPgliteDatabase(folder);
    await again.close();
  });

  it('refuses while another live process holds the lock, and takes it over once that process is gone', async () => {
    const folder = path.join(temp.dir, 'other');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const pid = child.pid!;
    await writeFile(
      lockFileOf(folder),
      JSON.stringify({ pid, hostname: 'elsewhere', startedAt: '2026-01-01T00:00:00.000Z', token: 'theirs' }),
    );
    await expect(lockFolder(folder)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(`in use by process ${pid} on elsewhere`),
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await lockFolder(folder);
    expect(JSON.parse(await readFile(lock.file, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    await lock.release();
    expect(await exists(lock.file)).toBe(false);
  });

  it('takes over a lock naming this pid that this process does not hold, or one that is unreadable', async () => {
    const folder = path.join(temp.dir, 'recycled');
    for (const stale of [JSON.stringify({ pid: process.pid, token: 'previous-life' }), 'garbage']) {
      await writeFile(lockFileOf(folder), stale);
      const lock = await lockFolder(folder);
      await expect(lockFolder(folder)).rejects.toMatchObject({ code: 'CONFLICT' });
      await lock.release();
    }
  });
});
