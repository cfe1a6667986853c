/**
 * Embedded object store: a local folder. Writes go to a temporary file in the same folder tree and are
 * renamed into place, so a crash never leaves a half-written object under its real key. Metadata
 * (content type, hash) lives in a sidecar under `.meta/`, which no valid key can reach.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { HbiError } from '../errors.js';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './port.js';
import { validateKeyPrefix, validateObjectKey } from './port.js';
import { hashFile } from '../util/hash-file.js';

interface Sidecar {
  sha256: string;
  contentType?: string;
}

/** Opens (creating when missing) a folder-backed object store rooted at `root`. */
export async function createFsObjectStore(root: string): Promise<ObjectStore> {
  const base = path.resolve(root);
  await mkdir(path.join(base, '.tmp'), { recursive: true });
  await mkdir(path.join(base, '.meta'), { recursive: true });

  const filePath = (key: string) => path.join(base, ...validateObjectKey(key).split('/'));
  const metaPath = (key: string) => path.join(base, '.meta', ...`${key}.json`.split('/'));

  async function head(key: string): Promise<ObjectInfo | null> {
    const file = filePath(key);
    const stats = await stat(file).catch(() => null);
    if (!stats?.isFile()) return null;
    const sidecar = JSON.parse(await readFile(metaPath(key), 'utf8').catch(() => '{}')) as Partial<Sidecar>;
    return {
      key,
      size: stats.size,
      sha256: sidecar.sha256 ?? (await hashFile(file)),
      contentType: sidecar.contentType,
      lastModified: stats.mtime,
    };
  }

  return {
    kind: 'fs',
    async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<ObjectInfo> {
      const target = filePath(key);
      const temp = path.join(base, '.tmp', randomUUID());
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.length;
          if (options.maxBytes !== undefined && size > options.maxBytes) {
            done(
              new HbiError('LIMIT_EXCEEDED', `Object ${key} exceeds the limit of ${options.maxBytes} bytes`),
            );
            return;
          }
          hash.update(chunk);
          done(null, chunk);
        },
      });
      const source = body instanceof Uint8Array ? Readable.from([body]) : Readable.from(body);
      try {
        await pipeline(source, meter, createWriteStream(temp));
        const sidecar: Sidecar = { sha256: hash.digest('hex'), contentType: options.contentType };
        await mkdir(path.dirname(target), { recursive: true });
        await mkdir(path.dirname(metaPath(key)), { recursive: true });
        await writeFile(metaPath(key), JSON.stringify(sidecar));
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      const info = await head(key);
      if (!info) throw new HbiError('INTERNAL', `Object ${key} vanished right after it was written`);
      return info;
    },
    async get(key: string): Promise<Readable> {
      const file = filePath(key);
      if (!(await stat(file).catch(() => null))?.isFile()) {
        throw new HbiError('NOT_FOUND', `Object ${key} not found`, { details: { key } });
      }
      return createReadStream(file);
    },
    head,
    async delete(key: string): Promise<boolean> {
      const file = filePath(key);
      const existed = (await stat(file).catch(() => null))?.isFile() ?? false;
      await rm(file, { force: true });
      await rm(metaPath(key), { force: true });
      return existed;
    },
    async *list(prefix = ''): AsyncIterable<ObjectInfo> {
      validateKeyPrefix(prefix);
      const keys: string[] = [];
      // Only the folder the prefix names is walked (a video's media, a tenant's uploads), not the store.
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
      const start = path.join(base, ...folder.split('/').filter(Boolean));
      const entries = await readdir(start, { recursive: true, withFileTypes: true }).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
          throw error;
        },
      );
      for (const entry of entries) {
        if (!entry.isFile()) continue;
        const relative = path
          .relative(base, path.join(entry.parentPath, entry.name))
          .split(path.sep)
          .join('/');
        if (relative.startsWith('.')) continue;
        if (relative.startsWith(prefix)) keys.push(relative);
      }
      for (const key of keys.sort()) {
        const info = await head(key);
        if (info) yield info;
      }
    },
    async localPath(key: string): Promise<string | null> {
      const file = filePath(key);
      return (await stat(file).catch(() => null))?.isFile() ? file : null;
    },
    async close(): Promise<void> {},
  };
}
