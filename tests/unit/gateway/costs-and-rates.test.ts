/**
 * What a request costs and how much a caller may spend: field costs declared by the plugins (a search
 * by its candidates and page, an answer or caption over a whole video by its segments and beam), the
 * complexity budget, token-bucket rate limits per key, per tenant and per anonymous client (HTTP 429
 * with Retry-After), tenant quotas (QUOTA_EXCEEDED) and the parser's token limit.
 */
import 'reflect-metadata';

import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { parse } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { momentLocalisationPlugin } from '../../../examples/plugins/moment-localisation/src/index.js';
import { ApiKeyStore } from '../../../src/core/auth/api-keys.js';
import type { Principal } from '../../../src/core/auth/principal.js';
import { loadConfig } from '../../../src/core/config.js';
import type { HbiError } from '../../../src/core/errors.js';
import type { GatewayContext } from '../../../src/core/gateway/context.js';
import { assertWithinLimits, measureOperation } from '../../../src/core/gateway/limits.js';
import { RateLimiter } from '../../../src/core/gateway/rate-limits.js';
import { buildGatewaySchema } from '../../../src/core/gateway/schema.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { Platform } from '../../../src/core/platform.js';
import { startPlatform } from '../../../src/core/platform.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/tenancy.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import { gatewayClient } from '../../helpers/gateway-client.js';
import { systemView } from '../../helpers/system-scope.js';

const PLUGINS = [...BUILTIN_PLUGINS, momentLocalisationPlugin];
const key = (tenantId: string, id = randomUUID()): Principal => ({ kind: 'key', id, tenantId, role: 'read' });
const VIDEO = randomUUID();

describe('field costs from the plugins', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    ({ schema } = await buildGatewaySchema(PLUGINS));
  });
  const cost = (query: string, variables: Record<string, unknown> = {}) =>
    measureOperation(parse(query), undefined, variables, 100, { schema }).complexity;

  it('prices a search by its candidates and page, an answer or caption by the segments and beam it may run', () => {
    // Without a request context the plugins' default settings apply: 100 candidates, 1000 segments for
    // an answer over a video, 200 for a caption.
    expect(cost('{ search(text: "a dog", first: 5) { totalCount } }')).toBe(100 + 5 + 5 * 1);
    expect(cost('query ($n: Int!) { search(text: "x", first: $n) { totalCount } }', { n: 20 })).toBe(
      100 + 20 + 20,
    );
    expect(cost(`{ answer(question: "q", segmentId: "${VIDEO}") { answer } }`)).toBe(1 + 1);
    expect(cost(`{ answer(question: "q", videoId: "${VIDEO}") { answer } }`)).toBe(1000 + 1);
    expect(cost(`{ caption(videoId: "${VIDEO}") { text } }`)).toBe(200 + 1);
    expect(cost(`{ caption(videoId: "${VIDEO}", decoding: BEAM, beamSize: 4) { text } }`)).toBe(800 + 1);
    expect(cost(`{ caption(segmentId: "${VIDEO}", decoding: BEAM) { text } }`)).toBe(3 + 1);
    expect(cost(`{ rankTexts(segmentId: "${VIDEO}", texts: ["a", "b", "c"]) { text } }`)).toBe(3 + 1);
    expect(cost(`mutation { reindexAll { id } }`)).toBe(100 + 1);
    // Fields without a declared cost still cost 1 each.
    expect(cost('{ health { ready } }')).toBe(2);
  });

  it("prices with the plugin's defaults where the gateway runs no plugin (a cluster gateway), with its settings where it does", () => {
    const context = (config: unknown) =>
      ({
        services: { pluginContext: () => (config === undefined ? undefined : { config }) },
      }) as unknown as GatewayContext;
    const query = parse('{ search(text: "x", first: 5) { totalCount } }');
    expect(
      measureOperation(query, undefined, {}, 100, { schema, context: context(undefined) }).complexity,
    ).toBe(110);
    expect(
      measureOperation(query, undefined, {}, 100, { schema, context: context({ candidates: 300 }) })
        .complexity,
    ).toBe(310);
  });

  it('refuses 900 aliased answers over a whole video before anything runs', () => {
    const fields = Array.from(
      { length: 900 },
      (_, i) => `a${i}: answer(question: "q", videoId: "${VIDEO}") { answer }`,
    );
    const measured = measureOperation(parse(`{ ${fields.join(' ')} }`), undefined, {}, 100, { schema });
    expect(measured.complexity).toBe(900 * 1001);
    expect(() =>
      assertWithinLimits(measured, { maxQueryDepth: 12, maxQueryComplexity: 2000, maxPageSize: 100 }),
    ).toThrow(/complexity 900900 exceeds the limit of 2000/);
  });
});

describe('token-bucket rate limits', () => {
  let now = 0;
  const limiter = () =>
    new RateLimiter(
      { keyCostPerMinute: 600, tenantCostPerMinute: 1000, anonymousCostPerMinute: 60 },
      () => now,
    );

  it('lets a key spend a minute of its rate at once, then refuses with the wait until it has refilled', () => {
    now = 0;
    const rates = limiter();
    const caller = key(randomUUID());
    rates.charge(caller, 'a', 500);
    rates.charge(caller, 'a', 100);
    const refused = (() => {
      try {
        rates.charge(caller, 'a', 110);
      } catch (error) {
        return error as HbiError;
      }
      return undefined;
    })();
    expect(refused).toMatchObject({
      code: 'RATE_LIMITED',
      retriable: true,
      details: { retryAfterSeconds: 11 },
    });
    now = 11_000; // 110 units refilled at 10 a second
    expect(() => rates.charge(caller, 'a', 110)).not.toThrow();
  });

  it("limits a tenant's keys together, charges all or nothing, and leaves other tenants alone", () => {
    now = 0;
    const rates = limiter();
    const tenant = randomUUID();
    const [first, second] = [key(tenant), key(tenant)];
    rates.charge(first, 'a', 600);
    rates.charge(second, 'a', 400);
    // The tenant's bucket is empty although the second key has 200 left: refused, and nothing taken.
    expect(() => rates.charge(second, 'a', 100)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    now = 10_000; // the tenant refilled 166, the second key 100 more
    expect(() => rates.charge(second, 'a', 150)).not.toThrow();
    expect(() => rates.charge(key(randomUUID()), 'a', 600)).not.toThrow();
  });

  it('limits callers without credentials per address, and refuses a request larger than a whole bucket', () => {
    now = 0;
    const rates = limiter();
    rates.charge(null, '10.0.0.1', 60);
    expect(() => rates.charge(null, '10.0.0.1', 1)).toThrow(
      expect.objectContaining({ code: 'RATE_LIMITED' }),
    );
    expect(() => rates.charge(null, '10.0.0.2', 1)).not.toThrow();
    expect(() => rates.charge(key(randomUUID()), 'a', 601)).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    );
  });
});

describe('limits over HTTP on the embedded platform', () => {
  let platform: Platform;
  let temp: Awaited<ReturnType<typeof tempDir>>;
  const keys: Record<string, string> = {};
  const quotaTenant = randomUUID();

  beforeAll(async () => {
    temp = await tempDir('hbi-rates-');
    const config = loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_RATE_KEY_COST_PER_MINUTE: '400',
      HBI_RATE_TENANT_COST_PER_MINUTE: '600',
      HBI_RATE_ANONYMOUS_COST_PER_MINUTE: '4',
      HBI_MAX_QUERY_TOKENS: '200',
      HBI_TENANT_MAX_VIDEOS: '2',
      HBI_TENANT_MAX_STORED_BYTES: '5000',
      HBI_TENANT_MAX_QUEUED_JOBS: '2',
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: PLUGINS });
    const store = new ApiKeyStore(platform.kernel.db);
    const other = randomUUID();
    await systemView(platform.kernel.db).prisma.tenant.create({ data: { id: other, name: 'other' } });
    for (const name of ['first', 'second', 'third'])
      keys[name] = (await store.create({ tenantId: DEFAULT_TENANT_ID, name, role: 'write' })).token;
    keys.other = (await store.create({ tenantId: other, name: 'other', role: 'write' })).token;
    await systemView(platform.kernel.db).prisma.tenant.create({ data: { id: quotaTenant, name: 'quota' } });
    keys.quota = (await store.create({ tenantId: quotaTenant, name: 'quota', role: 'write' })).token;
    const wsTenant = randomUUID();
    await systemView(platform.kernel.db).prisma.tenant.create({ data: { id: wsTenant, name: 'ws' } });
    keys.ws = (await store.create({ tenantId: wsTenant, name: 'ws', role: 'read' })).token;
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  const post = (token: string | undefined, query: string) =>
    fetch(platform.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
  // 100 candidates + a page of 10, and totalCount counted once per hit of the page: 120.
  const SEARCH = '{ search(text: "a red square", first: 10) { totalCount } }';

  it('answers 429 RATE_LIMITED with Retry-After once a key has spent its minute, and only that key', async () => {
    for (let i = 0; i < 3; i++) expect((await post(keys.first, SEARCH)).status).toBe(200);
    const refused = await post(keys.first, SEARCH);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { errors: { extensions: { code: string } }[]; data?: unknown };
    expect(body.errors[0]!.extensions.code).toBe('RATE_LIMITED');
    expect(body.data).toBeUndefined();
    // The same tenant's other key still has room (360 of the tenant's 600 are spent)...
    expect((await post(keys.second, SEARCH)).status).toBe(200);
    expect((await post(keys.second, SEARCH)).status).toBe(200);
    // ...until the tenant's minute is spent by its keys together; another tenant is not touched.
    expect((await post(keys.third, SEARCH)).status).toBe(429);
    expect((await post(keys.other, SEARCH)).status).toBe(200);
  });

  it('refuses an operation over graphql-ws with RATE_LIMITED once the key has spent its minute', async () => {
    let status = 200;
    for (let i = 0; i < 10 && status === 200; i++) status = (await post(keys.ws, SEARCH)).status;
    expect(status).toBe(429);
    const client = gatewayClient(platform.gateway.url, keys.ws);
    const socket = client.webSocket();
    try {
      const failure = await client.collect(socket, SEARCH).then(
        () => undefined,
        (error: { errors?: { extensions?: Record<string, unknown> }[] }) => error,
      );
      expect(failure?.errors?.[0]?.extensions).toMatchObject({
        code: 'RATE_LIMITED',
        details: { retryAfterSeconds: expect.any(Number) },
      });
    } finally {
      await socket.dispose();
    }
  });

  it('refuses a caller without credentials 401 before charging it, and limits its public requests per address', async () => {
    expect((await post(undefined, SEARCH)).status).toBe(401);
    expect((await post(undefined, '{ health { ready } }')).status).toBe(200);
    expect((await post(undefined, '{ health { ready } }')).status).toBe(200);
    expect((await post(undefined, '{ health { ready } }')).status).toBe(429);
  });

  it('stops parsing a document past HBI_MAX_QUERY_TOKENS', async () => {
    const aliases = Array.from({ length: 100 }, (_, i) => `h${i}: __typename`).join(' ');
    const refused = await post(keys.other, `{ ${aliases} }`);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toMatch(/200 tokens/);
  });

  it("refuses uploads and ingests past the tenant's quotas with QUOTA_EXCEEDED, naming the setting", async () => {
    const client = gatewayClient(platform.gateway.url, keys.quota);
    const tooBig = await client.graphql(
      'mutation { createUpload(filename: "a.mp4", contentType: "video/mp4", sizeBytes: 6000) { uploadId } }',
    );
    expect(client.codes(tooBig)).toEqual(['QUOTA_EXCEEDED']);
    expect(tooBig.body.errors[0].message).toMatch(/HBI_TENANT_MAX_STORED_BYTES/);
    // Two unfinished jobs are the quota: a third request waits for one of them to finish.
    const tenantId = quotaTenant;
    const db = systemView(platform.kernel.db);
    for (let i = 0; i < 2; i++) {
      await db.prisma.job.create({
        data: { id: randomUUID(), tenantId, kind: 'INGEST', idempotencyKey: `quota:${randomUUID()}` },
      });
    }
    const third = await client.graphql(
      'mutation { createUpload(filename: "a.mp4", contentType: "video/mp4", sizeBytes: 10) { uploadId } }',
    );
    expect(client.codes(third)).toEqual(['QUOTA_EXCEEDED']);
    expect(third.body.errors[0].message).toMatch(/HBI_TENANT_MAX_QUEUED_JOBS/);
    await db.prisma.job.updateMany({ where: { tenantId }, data: { status: 'SUCCEEDED' } });
    // Two videos are the quota.
    for (let i = 0; i < 2; i++) {
      await db.prisma.video.create({
        data: { id: randomUUID(), tenantId, objectKey: `k${i}`, contentSha256: randomUUID(), sizeBytes: 10n },
      });
    }
    const ingest = await client.graphql(
      'mutation { ingestVideo(url: "https://example.com/v.mp4", title: "v") { id } }',
    );
    expect(client.codes(ingest)).toEqual(['QUOTA_EXCEEDED']);
    expect(ingest.body.errors[0].message).toMatch(/HBI_TENANT_MAX_VIDEOS/);
  });
});
