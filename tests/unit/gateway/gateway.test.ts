import 'reflect-metadata';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import type { Principal } from '../../../src/core/auth/principal.js';
import type { EncoderState } from '../../../src/core/encoder/types.js';
import { HbiError } from '../../../src/core/errors.js';
import type { GatewayServices } from '../../../src/core/gateway/context.js';
import type { Gateway } from '../../../src/core/gateway/http-server.js';
import { startGateway } from '../../../src/core/gateway/http-server.js';
import type { GatewayPubSub } from '../../../src/core/gateway/schema.js';
import { buildGatewaySchema } from '../../../src/core/gateway/schema.js';
import { eventually } from '../../helpers/fixtures.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { loadModelPackage } from '../../../src/core/model/package-loader.js';
import { definePlugin } from '../../../src/core/plugins/define-plugin.js';
import { TINY_PACKAGE } from '../../helpers/fixtures.js';
import { VIDEO_INDEXED } from '../../../src/core/ingest/video-ingestor.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/tenancy.js';

/** Responses whose JSON body the assertions inspect freely. */
type JsonResponse = Omit<Response, 'json'> & { json(): Promise<any> };

describe('GraphQL gateway over HTTP and WebSocket', () => {
  let gateway: Gateway;
  let pubSub: GatewayPubSub;
  let encoderState: EncoderState = { status: 'warming', providers: ['cpu'] };
  const logger = createMemoryLogger();
  const TEST_KEY = 'hbik_test';
  const ADMIN: Principal = {
    tenantId: '00000000-0000-4000-8000-000000000000',
    role: 'admin',
    kind: 'key',
    id: 'test',
  };

  beforeAll(async () => {
    const modelPackage = await loadModelPackage(TINY_PACKAGE);
    const plugin = definePlugin({ name: 'echo', version: '1.2.3', requiredGraphs: ['text'] });
    const services: GatewayServices = {
      config: {
        maxPageSize: 100,
        maxQueryDepth: 4,
        maxQueryComplexity: 20,
        maxRequestBytes: 2048,
        introspection: true,
      },
      logger,
      encoder: {
        get state() {
          return encoderState;
        },
        modelId: modelPackage.id,
        graphs: modelPackage.graphs,
      },
      modelPackage,
      plugins: [plugin],
      pluginContext: () => undefined,
      tasks: { kinds: [], run: () => Promise.reject(new Error('no tasks in this test')) },
      // One key, an admin of the default tenant; anything else presented is refused.
      authenticate: (authorization) => {
        if (authorization === undefined) return Promise.resolve(null);
        if (authorization === `Bearer ${TEST_KEY}`) return Promise.resolve(ADMIN);
        return Promise.reject(new HbiError('UNAUTHENTICATED', 'The API key is not valid'));
      },
      keys: {} as GatewayServices['keys'],
      audit: {} as GatewayServices['audit'],
      // No library lookups in this test: the library resolvers have their own (tests/unit/gateway/library-resolvers.test.ts).
      library: {} as GatewayServices['library'],
    };
    const built = await buildGatewaySchema([plugin]);
    const schema = built.schema;
    pubSub = built.pubSub;
    gateway = await startGateway({ schema, services, host: '127.0.0.1', port: 0 });
  });
  afterAll(() => gateway?.stop());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${TEST_KEY}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }) as Promise<JsonResponse>;

  it('separates liveness from readiness: not ready until the encoder is warm', async () => {
    encoderState = { status: 'warming', providers: ['cpu'] };
    const cold = await (await post({ query: '{ health { live ready encoder } }' })).json();
    expect(cold).toEqual({ data: { health: { live: true, ready: false, encoder: 'WARMING' } } });
    expect((await fetch(gateway.url.replace('/graphql', '/health/ready'))).status).toBe(503);
    encoderState = { status: 'ready', providers: ['cpu'], readyAt: new Date() };
    const warm = await (await post({ query: '{ health { ready providers } }' })).json();
    expect(warm).toEqual({ data: { health: { ready: true, providers: ['cpu'] } } });
    expect((await fetch(gateway.url.replace('/graphql', '/health/ready'))).status).toBe(200);
    expect((await fetch(gateway.url.replace('/graphql', '/health/live'))).status).toBe(200);
  });

  it('answers GET queries (GraphQL over HTTP) with the model package identity', async () => {
    const query = encodeURIComponent(
      '{ model { id name version dims { embed frames maxWords } graphs } plugins { name version requiredGraphs } }',
    );
    const response = (await fetch(`${gateway.url}?query=${query}`, {
      headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${TEST_KEY}` },
    })) as JsonResponse;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/graphql-response+json');
    const { data } = await response.json();
    expect(data.model).toMatchObject({
      id: 'hbi-fixture-tiny@0.0.1',
      name: 'hbi-fixture-tiny',
      dims: { embed: 4, frames: 2, maxWords: 6 },
    });
    expect(data.model.graphs).toContain('interaction');
    expect(data.plugins).toEqual([{ name: 'echo', version: '1.2.3', requiredGraphs: ['text'] }]);
  });

  it('refuses mutations over GET and malformed documents with 4xx, and keeps serving', async () => {
    const bad = await post({ query: '{ health { ' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    const notJson = await post('{not json');
    expect(notJson.status).toBe(400);
    expect((await post({ query: '{ health { live } }' })).status).toBe(200);
  });

  it('rejects too deep and too complex queries with LIMIT_EXCEEDED before executing', async () => {
    const deep = await post({
      query:
        '{ model { dims { embed } } a: model { dims { embed } } __schema { types { fields { type { name } } } } }',
    });
    expect(deep.status).toBe(400);
    const body = await deep.json();
    expect(body.errors[0].extensions).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { depth: 5, limit: 4 },
    });
    expect(body.errors[0].extensions.http).toBeUndefined();
    const wide = Array.from({ length: 8 }, (_, i) => `m${i}: model { id name version }`).join(' ');
    const complex = await (await post({ query: `{ ${wide} }` })).json();
    expect(complex.errors[0].extensions).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { complexity: 32, limit: 20 },
    });
  });

  it('rejects a body over the request size limit with 413 and a code', async () => {
    const response = await post({ query: `{ health { live } } # ${'x'.repeat(4096)}` });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
  });

  it('runs operations over graphql-ws on the same port, with the same limits', async () => {
    const client = createClient({
      url: gateway.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${TEST_KEY}` },
    });
    try {
      const run = (query: string) =>
        new Promise<unknown>((resolve, reject) => {
          let result: unknown;
          client.subscribe(
            { query },
            { next: (value) => (result = value), error: reject, complete: () => resolve(result) },
          );
        });
      expect(await run('{ health { live } }')).toEqual({ data: { health: { live: true } } });
      await expect(run('{ __schema { types { fields { type { ofType { name } } } } } }')).rejects.toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'LIMIT_EXCEEDED' }) }),
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('pushes newly indexed videos to graphql-ws subscribers', async () => {
    const client = createClient({
      url: gateway.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${TEST_KEY}` },
    });
    const received: unknown[] = [];
    const unsubscribe = client.subscribe(
      { query: 'subscription { videoIndexed { videoId segments model } }' },
      { next: (value) => void received.push(value), error: () => undefined, complete: () => undefined },
    );
    try {
      // The gateway's tenant (no authentication yet): subscribers get only their own tenant's events.
      const event = {
        videoId: 'v-1',
        tenantId: DEFAULT_TENANT_ID,
        contentSha256: 'x',
        segments: 3,
        model: 'm@1',
      };
      // The subscription is live only after the server handles it; publish until it arrives.
      await eventually(() => {
        pubSub.publish(VIDEO_INDEXED, event);
        return received.length > 0;
      }, 5_000);
      expect(received[0]).toEqual({ data: { videoIndexed: { videoId: 'v-1', segments: 3, model: 'm@1' } } });
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });
});
