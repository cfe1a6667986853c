/**
 * ffmpeg reads files, not streams: this hands `work` a local file holding an object, the adapter's own
 * when it has one (the folder store), else a temporary copy that is removed afterwards (S3/MinIO).
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { ObjectStore } from './port.js';

/** Runs `work` with a local path of the object at `key`; NOT_FOUND (from the store) when it is missing. */
export async function withLocalFile<T>(
  storage: ObjectStore,
  key: string,
  work: (file: string) => Promise<T>,
): Promise<T> {
  const local = await storage.localPath(key);
  if (local) return work(local);
  const dir = await mkdtemp(path.join(tmpdir(), 'hbi-object-'));
  try {
    const file = path.join(dir, `${randomUUID()}${path.extname(key)}`);
    await pipeline(await storage.get(key), createWriteStream(file));
    return await work(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
