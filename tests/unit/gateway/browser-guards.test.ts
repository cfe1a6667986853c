import 'reflect-metadata';

import { request as httpRequest } from 'node:http';

import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';

import { loadConfig } from '../../../src/core/config.js';
import { HbiError } from '../../../src/core/errors.js';
import {
  browserPolicy,
  hostAllowed,
  isGraphQLBodyType,
  logBrowserPolicy,
  looksLikeBrowser,
} from '../../../src/core/gateway/browser-guards.js';
import type { GatewayServices } from '../../../src/core/gateway/context.js';
import type { Gateway } from '../../../src/core/gateway/http-server.js';
import { startGateway } from '../../../src/core/gateway/http-server.js';
import { buildGatewaySchema } from '../../../src/core/gateway/schema.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { loadModelPackage } from '../../../src/core/model/package-loader.js';
import { TINY_PACKAGE } from '../../helpers/fixtures.js';
import { FAKE_ADMIN_KEY, fakeGatewayAuth } from '../../helpers/fake-services.js';

const EVIL = 'http://evil.example';
const INGEST = 'mutation { ingestVideo(url: "https://videos.example/a.mp4", title: "x") { id } }';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One HTTP request with exactly the headers given (fetch would add its own and refuses to set Host). */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text.length > 0 ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON: keep the text.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens a WebSocket with `headers`; the status it got (101 when it opened) and any refusal body. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body?: any }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
    socket.on('open', () => {
      socket.close();
      resolve({ status: 101 });
    });
    socket.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        }),
      );
    });
    socket.on('error', reject);
  });
}

/** Runs one operation over graphql-ws, the socket opened with `origin` (none when undefined). */
async function overWebSocket(url: string, query: string, origin?: string): Promise<unknown> {
  class OriginWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, origin === undefined ? {} : { origin });
    }
  }
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: OriginWebSocket,
    retryAttempts: 0,
  });
  try {
    return await new Promise<unknown>((resolve, reject) => {
      let result: unknown;
      client.subscribe(
        { query },
        { next: (value) => (result = value), error: reject, complete: () => resolve(result) },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('browser guards: the lists and the checks', () => {
  it('defaults to the loopback origins and hosts when bound to loopback', () => {
    const policy = browserPolicy({}, { host: '127.0.0.1', port: 4000 });
    expect([...policy.origins]).toEqual([
      'http://127.0.0.1:4000',
      'http://localhost:4000',
      'http://[::1]:4000',
    ]);
    expect(hostAllowed(policy, '127.0.0.1:4000')).toBe(true);
    expect(hostAllowed(policy, 'localhost:9000')).toBe(true);
    expect(hostAllowed(policy, '[::1]:4000')).toBe(true);
    expect(hostAllowed(policy, 'evil.example:4000')).toBe(false);
    expect(hostAllowed(policy, 'localhost.evil.example')).toBe(false);
    expect(hostAllowed(policy, undefined)).toBe(false);
  });

  it("defaults to the public URL's origin and host when HBI_PUBLIC_URL is set", () => {
    const policy = browserPolicy({ publicUrl: 'https://hbi.example.com/' }, { host: '0.0.0.0', port: 4000 });
    expect([...policy.origins]).toEqual(['https://hbi.example.com']);
    expect(policy.hosts).toEqual(['hbi.example.com']);
    expect(hostAllowed(policy, 'HBI.example.com')).toBe(true);
    expect(hostAllowed(policy, '127.0.0.1:4000')).toBe(false);
    // Bound to loopback behind a proxy: local clients keep the loopback names.
    const local = browserPolicy({ publicUrl: 'https://hbi.example.com' }, { host: '127.0.0.1', port: 4000 });
    expect([...local.origins]).toEqual(['https://hbi.example.com']);
    expect(hostAllowed(local, '127.0.0.1:4000')).toBe(true);
    expect(hostAllowed(local, 'evil.example:4000')).toBe(false);
  });

  it('uses the configured lists as they are: a bare host matches any port, host:port only that port', () => {
    const config = loadConfig({
      HBI_ALLOWED_ORIGINS: 'http://localhost:5173, https://App.example.com/',
      HBI_ALLOWED_HOSTS: 'api.example.com, LOCALHOST:4000',
      HBI_PUBLIC_URL: 'https://hbi.example.com',
    });
    expect(config.allowedOrigins).toEqual(['http://localhost:5173', 'https://app.example.com']);
    const policy = browserPolicy(config, { host: '127.0.0.1', port: 4000 });
    expect([...policy.origins]).toEqual(['http://localhost:5173', 'https://app.example.com']);
    expect(hostAllowed(policy, 'api.example.com:8443')).toBe(true);
    expect(hostAllowed(policy, 'localhost:4000')).toBe(true);
    expect(hostAllowed(policy, 'localhost:4001')).toBe(false);
    expect(hostAllowed(policy, 'hbi.example.com')).toBe(false);
  });

  it('refuses "*" and anything that is not an origin or a host in the settings', () => {
    expect(() => loadConfig({ HBI_ALLOWED_ORIGINS: '*' })).toThrow(HbiError);
    expect(() => loadConfig({ HBI_ALLOWED_ORIGINS: 'https://app.example.com/path' })).toThrow(
      /HBI_ALLOWED_ORIGINS/,
    );
    expect(() => loadConfig({ HBI_ALLOWED_ORIGINS: 'file:///tmp' })).toThrow(/HBI_ALLOWED_ORIGINS/);
    expect(() => loadConfig({ HBI_ALLOWED_HOSTS: '*' })).toThrow(/HBI_ALLOWED_HOSTS/);
    expect(() => loadConfig({ HBI_ALLOWED_HOSTS: 'http://api.example.com' })).toThrow(/HBI_ALLOWED_HOSTS/);
    expect(loadConfig({}).allowedOrigins).toEqual([]);
  });

  it('bound to every interface with no lists: any host with a warning naming the setting, no browser origin', () => {
    const logger = createMemoryLogger();
    const policy = browserPolicy({}, { host: '0.0.0.0', port: 4000 });
    expect(policy.hosts).toBeUndefined();
    expect(hostAllowed(policy, 'anything.example:4000')).toBe(true);
    expect(policy.origins.size).toBe(0);
    logBrowserPolicy(logger, policy, '0.0.0.0');
    const warnings = logger.records.filter((record) => record.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('HBI_ALLOWED_HOSTS');
    const quiet = createMemoryLogger();
    logBrowserPolicy(quiet, browserPolicy({}, { host: '127.0.0.1', port: 4000 }), '127.0.0.1');
    expect(quiet.records.filter((record) => record.level === 'warn')).toEqual([]);
  });

  it('takes JSON bodies only, with no parameter but charset=utf-8', () => {
    expect(isGraphQLBodyType('application/json')).toBe(true);
    expect(isGraphQLBodyType('Application/JSON; charset=UTF-8')).toBe(true);
    expect(isGraphQLBodyType('application/graphql-response+json;charset="utf-8"')).toBe(true);
    expect(isGraphQLBodyType('text/plain;charset=json')).toBe(false);
    expect(isGraphQLBodyType('application/x-www-form-urlencoded')).toBe(false);
    expect(isGraphQLBodyType('multipart/form-data; boundary=x')).toBe(false);
    expect(isGraphQLBodyType('application/json; charset=latin1')).toBe(false);
    expect(isGraphQLBodyType('application/json; boundary=json')).toBe(false);
    expect(isGraphQLBodyType('application/jsonp')).toBe(false);
    expect(isGraphQLBodyType(undefined)).toBe(false);
  });

  it('tells browsers from curl by Origin and Sec-Fetch-Site', () => {
    expect(looksLikeBrowser({})).toBe(false);
    expect(looksLikeBrowser({ 'sec-fetch-site': 'none' })).toBe(false);
    expect(looksLikeBrowser({ 'sec-fetch-site': 'same-origin' })).toBe(false);
    expect(looksLikeBrowser({ 'sec-fetch-site': 'cross-site' })).toBe(true);
    expect(looksLikeBrowser({ 'sec-fetch-site': 'same-site' })).toBe(true);
    expect(looksLikeBrowser({ origin: 'http://127.0.0.1:4000' })).toBe(true);
  });
});

describe('browser guards on the gateway (bound to loopback, default lists)', () => {
  let gateway: Gateway;
  let allowed: string;
  const ingest = vi.fn(() => Promise.reject(new HbiError('BAD_USER_INPUT', 'no ingest in this test')));
  const receiveUpload = vi.fn(() => Promise.reject(new HbiError('UNAUTHENTICATED', 'bad upload token')));
  const logger = createMemoryLogger();

  beforeAll(async () => {
    const modelPackage = await loadModelPackage(TINY_PACKAGE);
    const services: GatewayServices = {
      config: {
        maxPageSize: 100,
        maxQueryDepth: 8,
        maxQueryComplexity: 200,
        maxRequestBytes: 4096,
        introspection: true,
      },
      logger,
      encoder: {
        state: { status: 'ready', providers: ['cpu'], readyAt: new Date() },
        modelId: modelPackage.id,
        graphs: modelPackage.graphs,
      },
      modelPackage,
      plugins: [],
      pluginContext: () => undefined,
      tasks: { kinds: [], run: () => Promise.reject(new Error('no tasks in this test')) },
      ...fakeGatewayAuth(),
      library: { requests: { ingest, receiveUpload } } as unknown as GatewayServices['library'],
    };
    const { schema } = await buildGatewaySchema([]);
    gateway = await startGateway({ schema, services, host: '127.0.0.1', port: 0 });
    allowed = `http://localhost:${gateway.port}`;
  });
  afterAll(() => gateway?.stop());
  beforeEach(() => {
    ingest.mockClear();
    receiveUpload.mockClear();
  });

  const post = (body: string, headers: Record<string, string>) =>
    raw(gateway.url, { method: 'POST', headers, body });

  describe('the attacks', () => {
    it('refuses a text/plain POST (no preflight needed) with 415 naming the accepted types', async () => {
      const body = JSON.stringify({ query: INGEST });
      // The tester's request: refused for its origin before its body type is looked at.
      const attack = await post(body, { 'content-type': 'text/plain;charset=json', origin: EVIL });
      expect(attack.status).toBe(403);
      for (const headers of [{}, { origin: allowed }] as Record<string, string>[]) {
        const answer = await post(body, { 'content-type': 'text/plain;charset=json', ...headers });
        expect(answer.status).toBe(415);
        expect(answer.body.errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
        expect(answer.body.errors[0].message).toContain('application/json');
        expect(answer.body.errors[0].message).toContain('application/graphql-response+json');
      }
      expect(ingest).not.toHaveBeenCalled();
    });

    it('refuses form-encoded and multipart POSTs, and a POST without a content type, with 415', async () => {
      for (const type of [
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=b',
        undefined,
      ]) {
        const answer = await post(
          `query=${encodeURIComponent(INGEST)}`,
          type === undefined ? {} : { 'content-type': type },
        );
        expect(answer.status, type).toBe(415);
        expect(answer.body.errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }
      expect(ingest).not.toHaveBeenCalled();
    });

    it('refuses a JSON POST from an origin not on the list with 403 and no CORS headers', async () => {
      const answer = await post(JSON.stringify({ query: INGEST }), {
        'content-type': 'application/json',
        origin: EVIL,
      });
      expect(answer.status).toBe(403);
      expect(answer.body.errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      const nullOrigin = await post('{"query":"{ health { live } }"}', {
        'content-type': 'application/json',
        origin: 'null',
      });
      expect(nullOrigin.status).toBe(403);
      expect(ingest).not.toHaveBeenCalled();
    });

    it('answers no preflight for an origin not on the list', async () => {
      const answer = await raw(gateway.url, {
        method: 'OPTIONS',
        headers: { origin: EVIL, 'access-control-request-method': 'POST' },
      });
      expect(answer.status).toBe(403);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      expect(answer.headers['access-control-allow-methods']).toBeUndefined();
    });

    it('refuses a WebSocket upgrade from an origin not on the list with 403, before graphql-ws', async () => {
      const answer = await upgrade(gateway.url, { origin: EVIL });
      expect(answer.status).toBe(403);
      expect(answer.body.errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
      await expect(overWebSocket(gateway.url, '{ health { live } }', EVIL)).rejects.toBeDefined();
    });

    it('refuses a rebinding Host on HTTP and WebSocket with 421', async () => {
      const host = `evil.example:${gateway.port}`;
      const sameOrigin = await post('{"query":"{ health { live } }"}', {
        'content-type': 'application/json',
        host,
        origin: `http://${host}`,
      });
      expect(sameOrigin.status).toBe(421);
      expect(sameOrigin.body.errors[0].extensions.code).toBe('HOST_NOT_ALLOWED');
      const get = await raw(`${gateway.url}?query=${encodeURIComponent('{ health { live } }')}`, {
        headers: { host, 'sec-fetch-site': 'same-origin' },
      });
      expect(get.status).toBe(421);
      expect((await upgrade(gateway.url, { host, origin: `http://${host}` })).status).toBe(421);
      const upload = await raw(gateway.url.replace('/graphql', '/uploads/t'), {
        method: 'PUT',
        headers: { host, 'content-type': 'video/mp4' },
        body: 'bytes',
      });
      expect(upload.status).toBe(421);
      expect(receiveUpload).not.toHaveBeenCalled();
    });

    it('refuses an upload PUT from an origin not on the list with 403', async () => {
      const answer = await raw(gateway.url.replace('/graphql', '/uploads/token'), {
        method: 'PUT',
        headers: { origin: EVIL, 'content-type': 'video/mp4' },
        body: 'bytes',
      });
      expect(answer.status).toBe(403);
      expect(answer.body.errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(receiveUpload).not.toHaveBeenCalled();
    });

    it('refuses a mutation over GET, and a GET from a cross-site page without a preflight header', async () => {
      const mutation = await raw(`${gateway.url}?query=${encodeURIComponent(INGEST)}`);
      expect(mutation.status).toBe(405);
      const crossSite = await raw(`${gateway.url}?query=${encodeURIComponent('{ health { live } }')}`, {
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(crossSite.status).toBe(400);
      expect(crossSite.body.errors[0].message).toContain('Cross-Site Request Forgery');
      // The gateway's own marker, sent by a client, is dropped: it changes nothing.
      const forged = await raw(`${gateway.url}?query=${encodeURIComponent('{ health { live } }')}`, {
        headers: { 'sec-fetch-site': 'cross-site', 'x-hbi-not-a-browser': '1' },
      });
      expect(forged.status).toBe(400);
      expect(ingest).not.toHaveBeenCalled();
    });
  });

  describe('the legitimate paths', () => {
    it('answers a curl-style GET query (no Origin, no content type, no extra header)', async () => {
      const answer = await raw(`${gateway.url}?query=${encodeURIComponent('{ health { ready } }')}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ data: { health: { ready: true } } });
      expect(answer.headers.vary).toContain('Origin');
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers a JSON POST without Origin, a mutation included', async () => {
      const query = await post('{"query":"{ health { live } }"}', {
        'content-type': 'application/json; charset=utf-8',
      });
      expect(query.status).toBe(200);
      expect(query.body).toEqual({ data: { health: { live: true } } });
      const mutation = await post(JSON.stringify({ query: INGEST }), {
        'content-type': 'application/json',
        authorization: `Bearer ${FAKE_ADMIN_KEY}`,
      });
      expect(mutation.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(ingest).toHaveBeenCalledTimes(1);
    });

    it('answers a JSON POST from an allowed origin with its CORS headers', async () => {
      for (const origin of [allowed, `http://127.0.0.1:${gateway.port}`, `http://[::1]:${gateway.port}`]) {
        const answer = await post('{"query":"{ health { live } }"}', {
          'content-type': 'application/json',
          origin,
        });
        expect(answer.status, origin).toBe(200);
        expect(answer.headers['access-control-allow-origin']).toBe(origin);
        expect(answer.headers.vary).toContain('Origin');
      }
      const otherPort = await post('{"query":"{ health { live } }"}', {
        'content-type': 'application/json',
        origin: `http://localhost:${gateway.port + 1}`,
      });
      expect(otherPort.status).toBe(403);
    });

    it('answers a preflight from an allowed origin with the methods, headers and max-age', async () => {
      const answer = await raw(gateway.url, {
        method: 'OPTIONS',
        headers: {
          origin: allowed,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
      expect(answer.status).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(allowed);
      expect(answer.headers['access-control-allow-methods']).toBe('GET, POST');
      const headers = String(answer.headers['access-control-allow-headers']).split(', ');
      expect(headers).toEqual(
        expect.arrayContaining(['content-type', 'authorization', 'apollo-require-preflight']),
      );
      expect(Number(answer.headers['access-control-max-age'])).toBeGreaterThan(0);
      expect(answer.headers.vary).toContain('Origin');
      const upload = await raw(gateway.url.replace('/graphql', '/uploads/token'), {
        method: 'OPTIONS',
        headers: { origin: allowed, 'access-control-request-method': 'PUT' },
      });
      expect(upload.status).toBe(204);
      expect(upload.headers['access-control-allow-methods']).toBe('PUT');
    });

    it('answers a GET from an allowed origin that carries apollo-require-preflight', async () => {
      const answer = await raw(`${gateway.url}?query=${encodeURIComponent('{ health { live } }')}`, {
        headers: { origin: allowed, 'sec-fetch-site': 'same-site', 'apollo-require-preflight': 'true' },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe(allowed);
    });

    it('runs graphql-ws operations from an allowed origin and without an Origin', async () => {
      expect((await upgrade(gateway.url, { origin: allowed })).status).toBe(101);
      expect(await overWebSocket(gateway.url, '{ health { live } }', allowed)).toEqual({
        data: { health: { live: true } },
      });
      expect(await overWebSocket(gateway.url, '{ health { live } }')).toEqual({
        data: { health: { live: true } },
      });
    });

    it('lets an upload PUT without Origin through to the upload route', async () => {
      const answer = await raw(gateway.url.replace('/graphql', '/uploads/token'), {
        method: 'PUT',
        headers: { 'content-type': 'video/mp4' },
        body: 'bytes',
      });
      expect(answer.status).toBe(401);
      expect(receiveUpload).toHaveBeenCalledTimes(1);
    });
  });
});

describe('browser guards on the gateway with HBI_PUBLIC_URL', () => {
  let gateway: Gateway;

  beforeAll(async () => {
    const modelPackage = await loadModelPackage(TINY_PACKAGE);
    const { schema } = await buildGatewaySchema([]);
    gateway = await startGateway({
      schema,
      host: '127.0.0.1',
      port: 0,
      services: {
        config: {
          introspection: true,
          maxPageSize: 100,
          maxQueryDepth: 8,
          maxQueryComplexity: 200,
          maxRequestBytes: 4096,
          publicUrl: 'https://hbi.example.com',
        },
        logger: createMemoryLogger(),
        encoder: {
          state: { status: 'warming', providers: ['cpu'] },
          modelId: modelPackage.id,
          graphs: modelPackage.graphs,
        },
        modelPackage,
        plugins: [],
        pluginContext: () => undefined,
        tasks: { kinds: [], run: () => Promise.reject(new Error('no tasks in this test')) },
        ...fakeGatewayAuth(),
        library: {} as GatewayServices['library'],
      },
    });
  });
  afterAll(() => gateway?.stop());

  it('serves the public host and origin (and loopback names), and refuses other hosts and origins', async () => {
    const body = '{"query":"{ health { live } }"}';
    const publicHost = await raw(gateway.url, {
      method: 'POST',
      headers: {
        host: 'hbi.example.com',
        origin: 'https://hbi.example.com',
        'content-type': 'application/json',
      },
      body,
    });
    expect(publicHost.status).toBe(200);
    expect(publicHost.headers['access-control-allow-origin']).toBe('https://hbi.example.com');
    const loopback = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(loopback.status).toBe(200);
    const loopbackPage = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${gateway.port}` },
      body,
    });
    expect(loopbackPage.status).toBe(403);
    const rebinding = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', host: `evil.example:${gateway.port}` },
      body,
    });
    expect(rebinding.status).toBe(421);
    expect(rebinding.body.errors[0].extensions.code).toBe('HOST_NOT_ALLOWED');
  });

  it('answers health probes on any Host, with details only for a listed one', async () => {
    const live = await raw(gateway.url.replace('/graphql', '/health/live'));
    expect(live.status).toBe(200);
    const probe = await raw(gateway.url.replace('/graphql', '/health/ready'), {
      headers: { host: '10.1.2.3:4000' },
    });
    expect(probe.status).toBe(503);
    expect(probe.body).toEqual({ ready: false });
    const listed = await raw(gateway.url.replace('/graphql', '/health/ready'), {
      headers: { host: 'hbi.example.com' },
    });
    expect(listed.status).toBe(503);
    expect(listed.body).toMatchObject({ ready: false, encoder: 'warming' });
    const evil = await raw(gateway.url.replace('/graphql', '/health/ready'), { headers: { origin: EVIL } });
    expect(evil.status).toBe(403);
  });
});
