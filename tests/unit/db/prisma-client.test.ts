/**
 * The committed Prisma Client (src/generated/prisma) is exactly what `npm run db:generate` writes from
 * prisma/schema.prisma today: regenerated into a temporary folder (offline, see
 * scripts/db/generate-client.mjs) and compared file by file.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { CLIENT_DIR, generateClient, temporaryFolder } from '../../../scripts/db/generate-client.mjs';

/** Every file under `dir` (relative paths, sorted) with its text. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
  return new Map(
    await Promise.all(
      files.map(async (file) => [file, await readFile(path.join(dir, file), 'utf8')] as const),
    ),
  );
}

describe('src/generated/prisma', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it('matches what the schema generates (run `npm run db:generate` and commit when it does not)', async () => {
    const into = await temporaryFolder();
    folders.push(into);
    const fresh = await snapshot(await generateClient({ into }));
    const committed = await snapshot(CLIENT_DIR);
    expect(fresh.size).toBeGreaterThan(0);
    expect([...committed.keys()]).toEqual([...fresh.keys()]);
    for (const [file, text] of fresh) expect(committed.get(file), file).toBe(text);
  });

  it('drift is detected: a schema that differs generates a different client', async () => {
    const into = await temporaryFolder();
    folders.push(into);
    const fresh = await snapshot(await generateClient({ into, edit: (schema) => `${schema}\n// drift\n` }));
    const committed = await snapshot(CLIENT_DIR);
    expect([...fresh].some(([file, text]) => committed.get(file) !== text)).toBe(true);
  });
});
