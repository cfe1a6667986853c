import 'reflect-metadata';

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CONSOLE_CSP, consoleCsp, objectStoreOrigin } from '../../../src/core/gateway/console-route.js';
import type { GatewayServices } from '../../../src/core/gateway/context.js';
import type { Gateway } from '../../../src/core/gateway/http-server.js';
import { startGateway } from '../../../src/core/gateway/http-server.js';
import { buildGatewaySchema } from '../../../src/core/gateway/schema.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { loadModelPackage } from '../../../src/core/model/package-loader.js';
import { FAKE_ADMIN_KEY, fakeGatewayAuth } from '../../helpers/fake-services.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';

/** What a browser sends when it navigates to a page. */
const NAVIGATION = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('the web console and GraphiQL, served by the gateway', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  const gateways: Gateway[] = [];
  let base: string;
  let services: GatewayServices;
  let schema: Awaited<ReturnType<typeof buildGatewaySchema>>['schema'];

  beforeAll(async () => {
    temp = await tempDir('hbi-console-route-');
    // A stand-in for dist/web as `vite build` writes it.
    const dir = path.join(temp.dir, 'web');
    await mkdir(path.join(dir, 'assets'), { recursive: true });
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>console</title>');
    await writeFile(path.join(dir, 'graphiql.html'), '<!doctype html><title>GraphiQL</title>');
    await writeFile(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(path.join(dir, 'assets', 'index-1a2b.js'), 'console.log(1);');
    await writeFile(path.join(dir, 'assets', 'index-1a2b.css'), 'body{}');
    await writeFile(path.join(temp.dir, 'secret.txt'), 'outside the console folder');
    const modelPackage = await loadModelPackage(TINY_PACKAGE);
    services = {
      config: {
        maxPageSize: 100,
        maxQueryDepth: 8,
        maxQueryComplexity: 200,
        maxRequestBytes: 4096,
        introspection: false,
      },
      logger: createMemoryLogger(),
      encoder: {
        state: { status: 'ready', providers: ['cpu'], readyAt: new Date() },
        modelId: modelPackage.id,
        graphs: [],
      },
      modelPackage,
      plugins: [],
      pluginContext: () => undefined,
      tasks: { kinds: [], run: () => Promise.reject(new Error('no tasks in this test')) },
      ...fakeGatewayAuth(),
      library: {} as GatewayServices['library'],
    };
    schema = (await buildGatewaySchema([])).schema;
    const gateway = await startGateway({ schema, services, host: '127.0.0.1', port: 0, consoleDir: dir });
    gateways.push(gateway);
    base = gateway.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await temp?.cleanup();
  });

  const expectConsoleHeaders = (response: Response) => {
    expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  };

  it('answers / with the console page, without credentials (it holds no data), under a self-only CSP', async () => {
    const response = await fetch(`${base}/`, { headers: NAVIGATION });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expectConsoleHeaders(response);
    expect(await response.text()).toContain('<title>console</title>');
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
  });

  it('with an S3 store, lets the page reach exactly its origin for media and uploads (presigned URLs)', async () => {
    const withStore = await startGateway({
      schema,
      services,
      host: '127.0.0.1',
      port: 0,
      consoleDir: path.join(temp.dir, 'web'),
      objectStoreOrigins: [objectStoreOrigin('http://127.0.0.1:9000/ignored/path')!],
    });
    gateways.push(withStore);
    const response = await fetch(withStore.url.replace(/\/graphql$/, '/'), { headers: NAVIGATION });
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(consoleCsp(['http://127.0.0.1:9000']));
    for (const directive of ['img-src', 'media-src', 'connect-src'])
      expect(csp).toMatch(new RegExp(`${directive} 'self'[^;]* http://127\\.0\\.0\\.1:9000(;|$)`));
    for (const directive of ['script-src', 'style-src', 'default-src'])
      expect(csp).toMatch(new RegExp(`${directive} 'self'(;|$)`));
    expect(objectStoreOrigin(undefined)).toBeUndefined();
    expect(objectStoreOrigin('not a url')).toBeUndefined();
    expect(objectStoreOrigin('file:///srv/objects')).toBeUndefined();
  });

  it('answers client routes (/search, /library/…) with the same page, for page navigations only', async () => {
    for (const route of ['/search', '/library', '/cameras/live']) {
      const response = await fetch(`${base}${route}`, { headers: NAVIGATION });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<title>console</title>');
    }
    // An API client asking for JSON keeps the JSON 404.
    const json = await fetch(`${base}/search`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({
      errors: [{ message: 'No route /search', extensions: { code: 'NOT_FOUND' } }],
    });
  });

  it('serves the built assets with their content types, immutable, and HEAD without a body', async () => {
    const script = await fetch(`${base}/assets/index-1a2b.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toBe('console.log(1);');
    const style = await fetch(`${base}/assets/index-1a2b.css`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const icon = await fetch(`${base}/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    const head = await fetch(`${base}/assets/index-1a2b.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('15');
    expect(await head.text()).toBe('');
    // A missing asset is a 404 even for a navigation: never the page in place of a script.
    expect((await fetch(`${base}/assets/gone.js`, { headers: NAVIGATION })).status).toBe(404);
  });

  it('never serves a file outside the console folder', async () => {
    for (const attempt of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00']) {
      const response = await fetch(`${base}${attempt}`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain('outside the console folder');
    }
  });

  it('refuses to write to the console (POST /, PUT /search)', async () => {
    expect((await fetch(`${base}/`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${base}/search`, { method: 'PUT', body: 'x', headers: NAVIGATION })).status).toBe(
      404,
    );
  });

  it('answers a browser opening /graphql with GraphiQL, and everything else there with GraphQL', async () => {
    const page = await fetch(`${base}/graphql`, { headers: NAVIGATION });
    expect(page.status).toBe(200);
    expectConsoleHeaders(page);
    expect(await page.text()).toContain('<title>GraphiQL</title>');
    // A GET query from a browser stays a GraphQL request (with its own CSRF rules).
    const query = await fetch(`${base}/graphql?query=${encodeURIComponent('{ health { live } }')}`, {
      headers: { ...NAVIGATION, authorization: `Bearer ${FAKE_ADMIN_KEY}` },
    });
    expect(query.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    // A POST is GraphQL whatever it accepts; without credentials the viewer is refused as before.
    const post = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html, application/json' },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    const body = (await post.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps the health routes and the JSON 404 for unknown API paths', async () => {
    expect(await (await fetch(`${base}/health/live`)).json()).toEqual({ live: true });
    const unknown = await fetch(`${base}/v2/nothing`);
    expect(unknown.status).toBe(404);
  });

  it('explains how to build the console when it is not built', async () => {
    const gateway = await startGateway({
      schema,
      services,
      host: '127.0.0.1',
      port: 0,
      consoleDir: path.join(temp.dir, 'not-built'),
    });
    gateways.push(gateway);
    const response = await fetch(gateway.url.replace(/\/graphql$/, '/'), { headers: NAVIGATION });
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/web console is not built .*run `npm run build`/);
    const graphiql = await fetch(gateway.url, { headers: NAVIGATION });
    expect(graphiql.status).toBe(503);
  });
});
