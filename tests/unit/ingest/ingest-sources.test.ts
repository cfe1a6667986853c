import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import type { HbiError } from '../../../src/core/errors.js';
import {
  DOWNLOAD_FAILED_MESSAGE,
  checkIngestUrl,
  downloadToStore,
  ingestRoots,
  isNonPublicAddress,
  resolveIngestPath,
  urlPolicy,
} from '../../../src/core/ingest/ingest-sources.js';
import type { UrlPolicy } from '../../../src/core/ingest/ingest-sources.js';
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

  it('refuses literal non-public addresses unless allowed, and hosts outside HBI_INGEST_URL_HOSTS', () => {
    for (const url of [
      'http://127.0.0.1/a.mp4',
      'http://10.1.2.3/a.mp4',
      'http://192.168.0.10/a.mp4',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/a.mp4',
      'http://[fd00::5]/a.mp4',
      'http://[::ffff:127.0.0.1]/a.mp4',
      'http://0.0.0.0/a.mp4',
    ]) {
      expect(() => checkIngestUrl(url), url).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
      expect(checkIngestUrl(url, { hosts: [], allowPrivate: true }).href, url).toBe(new URL(url).href);
    }
    expect(checkIngestUrl('https://93.184.216.34/a.mp4').hostname).toBe('93.184.216.34');
    const hosts: UrlPolicy = { hosts: ['videos.example.com', '*.cdn.example.net'], allowPrivate: false };
    expect(checkIngestUrl('https://videos.example.com/a.mp4', hosts).hostname).toBe('videos.example.com');
    expect(checkIngestUrl('https://eu.cdn.example.net/a.mp4', hosts).hostname).toBe('eu.cdn.example.net');
    expect(checkIngestUrl('https://cdn.example.net/a.mp4', hosts).hostname).toBe('cdn.example.net');
    for (const url of [
      'https://example.com/a.mp4',
      'https://evilcdn.example.net/a.mp4',
      'https://videos.example.com.evil.io/',
    ]) {
      expect(() => checkIngestUrl(url, hosts), url).toThrow(
        expect.objectContaining({
          code: 'BAD_USER_INPUT',
          message: expect.stringContaining('HBI_INGEST_URL_HOSTS'),
        }),
      );
    }
  });

  it('classifies addresses as public or not', () => {
    const nonPublic = [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      '::ffff:10.0.0.1',
      'not an ip',
    ];
    const isPublic = ['8.8.8.8', '172.32.0.1', '93.184.216.34', '2001:4860:4860::8888', '::ffff:8.8.8.8'];
    for (const address of nonPublic) expect(isNonPublicAddress(address), address).toBe(true);
    for (const address of isPublic) expect(isNonPublicAddress(address), address).toBe(false);
  });

  it('reads the policy from the config', () => {
    const config = loadConfig({
      HBI_INGEST_URL_HOSTS: 'A.example.com, *.b.example.com',
      HBI_INGEST_URL_PRIVATE: 'true',
    });
    expect(urlPolicy(config)).toEqual({ hosts: ['a.example.com', '*.b.example.com'], allowPrivate: true });
    expect(urlPolicy(loadConfig({}))).toEqual({ hosts: [], allowPrivate: false });
  });

  describe('downloadToStore', () => {
    let store: ObjectStore;
    let base: string;
    const server = createServer((request, response) => {
      const route = request.url ?? '/';
      if (route === '/ok.mp4') return response.end(Buffer.alloc(100, 7));
      if (route === '/redirect-ok') return response.writeHead(302, { location: '/ok.mp4' }).end();
      if (route === '/redirect-elsewhere') {
        const port = (server.address() as AddressInfo).port;
        return response.writeHead(302, { location: `http://localhost:${port}/ok.mp4` }).end();
      }
      if (route === '/loop') return response.writeHead(302, { location: '/loop' }).end();
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
      else if (route === '/forbidden') response.statusCode = 403;
      else response.statusCode = 404;
      response.end();
    });

    beforeAll(async () => {
      store = await createFsObjectStore(path.join(temp.dir, 'objects'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    // The test server is on loopback: these downloads allow the local network.
    const LOCAL: UrlPolicy = { hosts: [], allowPrivate: true };
    const download = (route: string, key = `downloads${route}`, policy: UrlPolicy = LOCAL) =>
      downloadToStore(store, key, new URL(`${base}${route}`), { maxBytes: 1000, timeoutMs: 500, policy });

    it('stores the body under the key', async () => {
      expect(await download('/ok.mp4')).toMatchObject({ key: 'downloads/ok.mp4', size: 100 });
    });

    /** The one error a client sees for a failed download; returns the real reason (its cause, for logs). */
    const genericFailure = async (promise: Promise<unknown>): Promise<HbiError> => {
      const error = (await promise.catch((failure: unknown) => failure)) as HbiError;
      expect(error).toMatchObject({ code: 'UNAVAILABLE', message: DOWNLOAD_FAILED_MESSAGE, retriable: true });
      expect(error.details).toEqual({});
      return error.cause as HbiError;
    };

    it('refuses loopback by default, also behind a host name, with the generic error, and stores nothing', async () => {
      const port = (server.address() as AddressInfo).port;
      for (const url of [`${base}/ok.mp4`, `http://localhost:${port}/ok.mp4`]) {
        const reason = await genericFailure(
          downloadToStore(store, 'downloads/private.mp4', new URL(url), { maxBytes: 1000, timeoutMs: 500 }),
        );
        // The log (the cause) says why; the client does not learn it.
        expect(reason, url).toMatchObject({ message: expect.stringContaining('HBI_INGEST_URL_PRIVATE') });
      }
      expect(await store.head('downloads/private.mp4')).toBeNull();
    });

    it('follows redirects, checking every hop against the policy', async () => {
      expect(await download('/redirect-ok', 'downloads/redirected.mp4')).toMatchObject({ size: 100 });
      // 127.0.0.1 is allowed, the redirect's "localhost" is not: refused although it is the same server.
      const onlyThisHost: UrlPolicy = { hosts: ['127.0.0.1'], allowPrivate: true };
      expect(
        await genericFailure(download('/redirect-elsewhere', 'downloads/elsewhere.mp4', onlyThisHost)),
      ).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('HBI_INGEST_URL_HOSTS') });
      expect(await store.head('downloads/elsewhere.mp4')).toBeNull();
      expect(await genericFailure(download('/loop'))).toMatchObject({
        message: expect.stringContaining('redirected more than'),
      });
    });

    it('stores nothing past the size limit (LIMIT_EXCEEDED) or the deadline', async () => {
      await expect(download('/big-declared.mp4')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      await expect(download('/big-chunked.mp4')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
      expect(await genericFailure(download('/slow.mp4'))).toMatchObject({ code: 'TIMEOUT' });
      for (const key of ['downloads/big-declared.mp4', 'downloads/big-chunked.mp4', 'downloads/slow.mp4'])
        expect(await store.head(key)).toBeNull();
    });

    it('answers a refused, unreachable or failing URL with one error; the reason is only in its cause', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const reasons = [
        await genericFailure(download('/missing.mp4')),
        await genericFailure(download('/broken')),
        await genericFailure(download('/forbidden')),
        await genericFailure(
          downloadToStore(store, 'downloads/x.mp4', new URL(`http://127.0.0.1:${closedPort}/a.mp4`), {
            maxBytes: 1000,
            timeoutMs: 500,
            policy: LOCAL,
          }),
        ),
        await genericFailure(
          downloadToStore(store, 'downloads/x.mp4', new URL('http://169.254.169.254/latest/meta-data'), {
            maxBytes: 1000,
            timeoutMs: 500,
          }),
        ),
      ];
      expect(reasons.map((reason) => reason.code)).toEqual([
        'NOT_FOUND',
        'UNAVAILABLE',
        'BAD_USER_INPUT',
        'UNAVAILABLE',
        'BAD_USER_INPUT',
      ]);
      expect(reasons[1]!.message).toContain('HTTP 503');
      expect(reasons[2]!.message).toContain('HTTP 403');
    });

    it('gives the operator the real reason when asked (hbi ingest <url>)', async () => {
      await expect(
        downloadToStore(store, 'downloads/m.mp4', new URL(`${base}/missing.mp4`), {
          maxBytes: 1000,
          timeoutMs: 500,
          policy: LOCAL,
          detailedErrors: true,
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'The URL answered HTTP 404' });
    });
  });
});
