/** Shared test helpers: the tiny model package fixture, temporary folders, polling. */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createHash } from 'node:crypto';

/** The committed few-KB package made by tests/fixtures/onnx/make-fixtures.py (D=4, T=2, H=W=4, L=6). */
export const TINY_PACKAGE = fileURLToPath(new URL('../fixtures/onnx/tiny-package/', import.meta.url));

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'hbi-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Copies the tiny package to a temporary folder so a test can break it. */
export async function copyTinyPackage(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const temp = await tempDir('hbi-package-');
  await cp(TINY_PACKAGE, temp.dir, { recursive: true });
  return temp;
}

/** Reads, edits and rewrites a package's manifest. */
export async function editManifest(
  dir: string,
  edit: (manifest: Record<string, any>) => void,
): Promise<void> {
  const file = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
  edit(manifest);
  await writeFile(file, JSON.stringify(manifest, null, 2));
}

/** Rewrites the manifest's size and hash entry of `name` to match the file now on disk. */
export async function rehash(dir: string, name: string): Promise<void> {
  const data = await readFile(path.join(dir, name));
  await editManifest(dir, (manifest) => {
    manifest.files[name] = { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
  });
}

/** Polls `check` until it stops throwing (or returns true), or fails after `timeoutMs`. */
export async function eventually(check: () => unknown, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const result = await check();
      if (result !== false) return;
      if (Date.now() > deadline) throw new Error('condition stayed false');
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
