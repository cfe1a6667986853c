import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import {
  checkIngestUrl,
  downloadToStore,
  ingestRoots,
  resolveIngestPath,
} from '../../../src/core/ingest/ingest-sources.js';
import { createFsObjectStore } from '../../../src/core/storage/fs.js';
import type { ObjectStore } from '../../../src/core/storage/port.js';
import { tempDir } from '../../helpers/fixtures.js';

describe('ingest sources', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let root: string;
  let outside: string;

  beforeAll(async () => {
    temp = await tempDir('hbi-sources-');
    root = path.join(temp.dir, 'ingest');
    outside = path.join(temp.dir, 'secret');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(path.join(root, 'sub', 'clip.mp4'), 'bytes');
    await writeFile(path.join(outside, 'passwd'), 'secret');
    await symlink(path.join(outside, 'passwd'), path.join(root, 'escape.mp4'));
  });
  afterAll(() => temp?.cleanup());

  it('defaults to <data dir>/ingest and the demo library folder; HBI_INGEST_ROOTS replaces both', () => {
    const defaults = ingestRoots(loadConfig({ HBI_DATA_DIR: '/srv/hbi' }));
    expect(defaults).toEqual(['/srv/hbi/ingest', path.resolve('examples/demo-library')]);
    expect(ingestRoots(loadConfig({ HBI_DEMO_LIBRARY: 'off', HBI_DATA_DIR: '/d' }))).toEqual(['/d/ingest']);
    expect(ingestRoots(loadConfig({ HBI_INGEST_ROOTS: '/a, /b' }))).toEqual(['/a', '/b']);
  });

  it('resolves a file inside a root, relative or absolute', async () => {
    const file = path.join(root, 'sub', 'clip.mp4');
    expect(await resolveIngestPath(file, [root])).toBe(file);
    expect(await resolveIngestPath(path.relative(process.cwd(), file), [root])).toBe(file);
  });

  it('refuses paths outside the roots (traversal, symlinks out) without naming any server path', async () => {
    for (const given of [
      path.join(outside, 'passwd'),
      path.join(root, '..', 'secret', 'passwd'),
      path.join(root, 'escape.mp4'),
      '/etc/passwd',
    ]) {
      const error = await resolveIngestPath(given, [root]).catch((failure: unknown) => failure);
      expect(error, given).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect((error as Error).message).not.toContain(temp.dir);
    }
    await expect(resolveIngestPath(path.join(root, 'missing.mp4'), [root])).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(resolveIngestPath(path.join(root, 'sub'), [root])).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(resolveIngestPath('', [root])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('accepts http(s) URLs only', () => {
    expect(checkIngestUrl('https://example.com/a.mp4').hostname).toBe('example.com');
    for (const bad of [
      'file:///etc/passwd',
      'ftp://example.com/a.mp4',
      'data:video/mp4;base64,AAAA',
      'not a url',
    ])
      expect(() => checkIngestUrl(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  describe('downloadToStore', () => {
    let store: ObjectStore;
    let base: string;
    const server = createServer((request, response) => {
      const route = request.url ?? '/';
      if (route === '/ok.mp4') return response.end(Buffer.alloc(100, 7));
      if (route === '/big-declared.mp4') {
        response.setHeader('content-length', '5000');
        return response.end(Buffer.alloc(5000));
      }
      if (route === '/big-chunked.mp4') {
        response.write(Buffer.alloc(600));
        return response.end(Buffer.alloc(600));
      }
      if (route === '/slow.mp4') {
        response.write(Buffer.alloc(10));
        return void setTimeout(() => response.end(), 2_000).unref();
      }
      if (route === '/broken') response.statusCode = 503;
      else response.statusCode = 404;
      response.end();
    });

    beforeAll(async () => {
      store = await createFsObjectStore(path.join(temp.dir, 'objects'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    const download = (route: string, key = `downloads${route}`) =>
      downloadToStore(store, key, new URL(`${base}${route}`), { maxBytes: 1000, timeoutMs: 500 });

    it('stores the body under the key', async () => {
      expect(await download('/ok.mp4')).toMatchObject({ key: 'downloads/ok.mp4', size: 100 });
    });

    it('gives typed errors and stores nothing past the size limit or the deadline', async () => {
      await expect(download('/big-declared.mp4')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      await expect(download('/big-chunked.mp4')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      await expect(download('/slow.mp4')).rejects.toMatchObject({ code: 'TIMEOUT' });
      await expect(download('/missing.mp4')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(download('/broken')).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
      for (const key of ['downloads/big-declared.mp4', 'downloads/big-chunked.mp4', 'downloads/slow.mp4'])
        expect(await store.head(key)).toBeNull();
    });
  });
});
