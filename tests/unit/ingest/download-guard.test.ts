import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:http';
import net from 'node:net';
import type { AddressInfo, TcpNetConnectOpts } from 'node:net';
import path from 'node:path';

import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { toPublicError } from '../../../src/core/errors.js';
import type { HbiError } from '../../../src/core/errors.js';
import { guardedDispatcher, guardedLookup } from '../../../src/core/ingest/download-dispatcher.js';
import type { Resolver } from '../../../src/core/ingest/download-dispatcher.js';
import {
  DOWNLOAD_FAILED_MESSAGE,
  checkIngestUrl,
  downloadToStore,
} from '../../../src/core/ingest/ingest-sources.js';
import { isNonPublicAddress, parseIPv6 } from '../../../src/core/ingest/public-address.js';
import { createFsObjectStore } from '../../../src/core/storage/fs.js';
import type { ObjectStore } from '../../../src/core/storage/port.js';
import { tempDir } from '../../helpers/fixtures.js';

describe('isNonPublicAddress', () => {
  it('refuses every special-purpose IPv4 range', () => {
    for (const address of [
      '0.0.0.0',
      '0.1.2.3',
      '10.0.0.1',
      '100.64.0.1',
      '100.127.255.254',
      '127.0.0.1',
      '127.255.255.255',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.0.0.8',
      '192.0.2.1',
      '192.88.99.1',
      '192.168.1.1',
      '198.18.0.1',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.9',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
    ])
      expect(isNonPublicAddress(address), address).toBe(true);
  });

  it('refuses every special-purpose IPv6 range, and IPv6 that carries a non-public IPv4 address', () => {
    for (const address of [
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1', // the same, as the URL parser writes it
      '::ffff:a9fe:a9fe', // 169.254.169.254
      '::ffff:10.0.0.1',
      '::127.0.0.1', // IPv4-compatible (deprecated)
      '::ffff:0:7f00:1', // IPv4-translated
      '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
      '64:ff9b::8.8.8.8', // NAT64 is refused whole: it reaches whatever the translator reaches
      '64:ff9b:1::1', // local-use NAT64
      '100::1', // discard
      '2001::1', // Teredo
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
      '2001:2::1', // benchmarking
      '2001:10::1', // ORCHID
      '2001:20::1', // ORCHIDv2
      '2001:db8::1', // documentation
      '2002:7f00:1::', // 6to4 of 127.0.0.1
      '2002:808:808::1', // 6to4, refused whole
      '3fff::1', // documentation
      '5f00::1', // SRv6
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'fe80::1%eth0',
      'febf::1',
      'fec0::1', // site-local
      'ff02::1',
      'not an ip',
      '',
    ])
      expect(isNonPublicAddress(address), address).toBe(true);
  });

  it('lets public addresses through', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '93.184.216.34',
      '100.63.255.255',
      '100.128.0.0',
      '172.32.0.1',
      '198.20.0.1',
      '223.255.255.255',
      '::ffff:8.8.8.8',
      '::ffff:808:808',
      '2001:4860:4860::8888',
      '2606:4700:4700::1111',
      '2a00:1450:4001:82b::200e',
      '2001:200::1', // just past 2001::/23
    ])
      expect(isNonPublicAddress(address), address).toBe(false);
  });

  it('parses IPv6 in every spelling', () => {
    expect(Array.from(parseIPv6('::ffff:127.0.0.1')!)).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1,
    ]);
    expect(parseIPv6('::ffff:7f00:1')).toEqual(parseIPv6('0:0:0:0:0:ffff:127.0.0.1'));
    expect(parseIPv6('1::')).toEqual(parseIPv6('1:0:0:0:0:0:0:0'));
    expect(parseIPv6('127.0.0.1')).toBeNull();
    expect(parseIPv6('1:::2')).toBeNull();
  });
});

describe('checkIngestUrl', () => {
  it('refuses non-public IP literals however they are spelt', () => {
    for (const url of [
      'http://[64:ff9b::169.254.169.254]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:169.254.169.254]/latest',
      'http://[2002:7f00:1::]/',
      'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', // Teredo
      'http://[fe80::1]/',
      'http://2130706433/', // decimal 127.0.0.1
      'http://0x7f.1/', // hex
      'http://0x7f000001/',
      'http://017700000001/', // octal
      'http://0177.0.0.1/',
      'http://127.1/',
      'http://0/',
      'http://2852039166/', // 169.254.169.254
    ]) {
      expect(() => checkIngestUrl(url), url).toThrow(
        expect.objectContaining({
          code: 'BAD_USER_INPUT',
          message: expect.stringContaining('HBI_INGEST_URL_PRIVATE'),
        }),
      );
    }
    expect(checkIngestUrl('http://134744072/').hostname).toBe('8.8.8.8');
  });
});

/** A resolver that answers each lookup of a name from a script (the last answer repeats), and counts. */
function scriptedResolver(script: Record<string, string[][]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const answers = script[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    const seen = calls.filter((name) => name === hostname).length;
    const pick = answers[Math.min(seen, answers.length) - 1]!;
    return pick.map((address) => ({ address, family: net.isIP(address) }));
  };
  return Object.assign(resolve, { calls });
}

describe('guardedLookup', () => {
  const lookupOnce = (
    resolve: Resolver,
    options: { all?: boolean; family?: number },
    allowPrivate = false,
  ): Promise<{ error: Error | null; address: unknown; family?: number }> =>
    new Promise((done) =>
      guardedLookup(resolve, allowPrivate)('videos.test', options, (error, address, family) =>
        done({ error, address, family }),
      ),
    );

  it('answers in the shape net asks for, and by family', async () => {
    const resolve = scriptedResolver({ 'videos.test': [['93.184.216.34', '2606:4700::1']] });
    expect(await lookupOnce(resolve, {})).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(await lookupOnce(resolve, { all: true })).toEqual({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:4700::1', family: 6 },
      ],
      family: undefined,
    });
    expect(await lookupOnce(resolve, { family: 6 })).toMatchObject({ address: '2606:4700::1', family: 6 });
  });

  it('refuses the name when ANY of its addresses is not public, and hands the socket nothing', async () => {
    for (const answer of [['93.184.216.34', '127.0.0.1'], ['::1'], ['64:ff9b::a9fe:a9fe'], []]) {
      const resolve = scriptedResolver({ 'videos.test': [answer] });
      for (const all of [true, false]) {
        const { error, address } = await lookupOnce(resolve, { all });
        expect(error, answer.join()).toMatchObject({ code: 'BAD_USER_INPUT' });
        expect(address).toEqual(all ? [] : '');
      }
    }
    // HBI_INGEST_URL_PRIVATE=true: the local network may be reached.
    const local = scriptedResolver({ 'videos.test': [['127.0.0.1']] });
    expect(await lookupOnce(local, {}, true)).toEqual({ error: null, address: '127.0.0.1', family: 4 });
  });
});

describe('downloads connect only to the address that was checked', () => {
  // A public address (per the rules above) that this test's network routes to the local test server:
  // the check sees a public address, the bytes come from 127.0.0.1, and nothing leaves the machine.
  const PUBLIC = '93.184.216.34';
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let store: ObjectStore;
  let port: number;
  const connections: string[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/to-internal') {
      return res.writeHead(302, { location: `http://internal.test:${port}/ok.mp4` }).end();
    }
    res.end(Buffer.alloc(100, 7));
  });
  server.on('connection', (socket) => connections.push(socket.remoteAddress ?? '?'));
  /** Every address the guarded lookup handed a socket to connect to. */
  let handed: string[] = [];

  beforeAll(async () => {
    temp = await tempDir('hbi-guard-');
    store = await createFsObjectStore(path.join(temp.dir, 'objects'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    // The test network: sockets connect where the (guarded) lookup said, except that PUBLIC is routed
    // to the local server. Only the address the guard approved is rewritten, after it approved it.
    const realConnect = net.connect.bind(net) as (options: TcpNetConnectOpts) => net.Socket;
    vi.spyOn(net, 'connect').mockImplementation(((options: TcpNetConnectOpts) => {
      const lookup = options.lookup;
      if (typeof options !== 'object' || !lookup) return realConnect(options);
      const route = (address: string) => (address === PUBLIC ? '127.0.0.1' : address);
      return realConnect({
        ...options,
        lookup: ((hostname: string, lookupOptions: object, callback: (...args: unknown[]) => void) =>
          lookup(hostname, lookupOptions, (error: Error | null, address: unknown, family?: number) => {
            if (error) return callback(error, address, family);
            if (Array.isArray(address)) {
              const list = address as LookupAddress[];
              handed.push(...list.map((entry) => entry.address));
              return callback(
                null,
                list.map((entry) => ({
                  address: route(entry.address),
                  family: net.isIP(route(entry.address)),
                })),
              );
            }
            handed.push(address as string);
            return callback(null, route(address as string), net.isIP(route(address as string)));
          })) as TcpNetConnectOpts['lookup'],
      });
    }) as typeof net.connect);
  });
  afterEach(() => {
    handed = [];
    connections.length = 0;
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await new Promise((resolve) => server.close(resolve));
    await temp?.cleanup();
  });

  const fetchVia = (url: string, resolve: Resolver, key = `downloads/${Math.random()}.mp4`) =>
    downloadToStore(store, key, new URL(url), { maxBytes: 1000, timeoutMs: 2_000, resolve });

  const generic = async (promise: Promise<unknown>): Promise<HbiError> => {
    const error = (await promise.catch((failure: unknown) => failure)) as HbiError;
    expect(error).toMatchObject({ code: 'UNAVAILABLE', message: DOWNLOAD_FAILED_MESSAGE });
    return error.cause as HbiError;
  };

  it('downloads from a name that resolves to a public address (through the test network)', async () => {
    const resolve = scriptedResolver({ 'videos.test': [[PUBLIC]] });
    expect(await fetchVia(`http://videos.test:${port}/ok.mp4`, resolve)).toMatchObject({ size: 100 });
    expect(handed).toEqual([PUBLIC]);
    expect(resolve.calls).toEqual(['videos.test']);
  });

  it.each(['127.0.0.1', '169.254.169.254'])(
    'DNS rebinding: public on the first lookup, %s on the second: never connects to the internal one',
    async (internal) => {
      const resolve = scriptedResolver({ 'rebind.test': [[PUBLIC], [internal]] });
      // The one lookup is the one the socket uses: the public address, checked and connected to.
      expect(await fetchVia(`http://rebind.test:${port}/ok.mp4`, resolve)).toMatchObject({ size: 100 });
      expect(resolve.calls).toEqual(['rebind.test']);
      expect(handed).toEqual([PUBLIC]);
      // The next download looks the name up again, gets the internal address, and is refused.
      connections.length = 0;
      const reason = await generic(fetchVia(`http://rebind.test:${port}/ok.mp4`, resolve));
      expect(reason.message).toContain(internal);
      expect(resolve.calls).toEqual(['rebind.test', 'rebind.test']);
      expect(handed).toEqual([PUBLIC]);
      expect(connections).toEqual([]);
    },
  );

  it('refuses a name with any internal address before a socket connects, in either order', async () => {
    for (const answer of [
      ['127.0.0.1'],
      [PUBLIC, '127.0.0.1'],
      ['::ffff:127.0.0.1', PUBLIC],
      ['64:ff9b::a9fe:a9fe'],
      ['2002:7f00:1::'],
    ]) {
      const resolve = scriptedResolver({ 'mixed.test': [answer] });
      const reason = await generic(fetchVia(`http://mixed.test:${port}/ok.mp4`, resolve));
      expect(reason, answer.join()).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(resolve.calls).toEqual(['mixed.test']);
    }
    expect(handed).toEqual([]);
    expect(connections).toEqual([]);
  });

  it('checks the redirect target on its own lookup: a public URL cannot redirect into the local network', async () => {
    const resolve = scriptedResolver({ 'videos.test': [[PUBLIC]], 'internal.test': [['10.0.0.7']] });
    const reason = await generic(fetchVia(`http://videos.test:${port}/to-internal`, resolve));
    expect(reason.message).toContain('10.0.0.7');
    expect(resolve.calls).toEqual(['videos.test', 'internal.test']);
    expect(handed).toEqual([PUBLIC]);
  });

  it('the same error for a refused, an unresolvable and an unreachable host', async () => {
    const resolve = scriptedResolver({ 'internal.test': [['127.0.0.1']], 'closed.test': [[PUBLIC]] });
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const errors = await Promise.all(
      [
        `http://internal.test:${port}/ok.mp4`,
        `http://nowhere.test:${port}/ok.mp4`,
        `http://closed.test:${closedPort}/ok.mp4`,
      ].map((url) =>
        fetchVia(url, resolve).then(
          () => 'downloaded',
          (error: unknown) => error,
        ),
      ),
    );
    // What a client sees (the job's error) is identical; the causes differ, in the log only.
    const seen = errors.map((error) => JSON.stringify(toPublicError(error)));
    expect(new Set(seen).size).toBe(1);
    expect(toPublicError(errors[0])).toEqual({
      code: 'UNAVAILABLE',
      message: DOWNLOAD_FAILED_MESSAGE,
      retriable: true,
    });
    const chain = (error: unknown): string =>
      error instanceof Error ? `${error.message} <- ${chain(error.cause)}` : String(error);
    const logged = errors.map((error) => chain((error as HbiError).cause));
    expect(logged[0]).toContain('127.0.0.1');
    expect(logged[1]).toContain('ENOTFOUND');
    expect(logged[2]).toMatch(/ECONNREFUSED|other side closed|fetch failed/);
  });

  it('the dispatcher itself refuses non-public IP literals (which need no lookup)', async () => {
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]']) {
      const agent = guardedDispatcher({ allowPrivate: false });
      const error = await request(`http://${host}:${port}/ok.mp4`, { dispatcher: agent }).catch(
        (failure: unknown) => failure,
      );
      expect(error, host).toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringContaining('not public'),
      });
      await agent.close();
    }
    expect(connections).toEqual([]);
    const open = guardedDispatcher({ allowPrivate: true });
    const answer = await request(`http://127.0.0.1:${port}/ok.mp4`, { dispatcher: open });
    expect((await answer.body.arrayBuffer()).byteLength).toBe(100);
    await open.close();
  });
});
