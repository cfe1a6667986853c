import 'reflect-metadata';

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import type { ExecutionResult, GraphQLSchema } from 'graphql';
import { graphql, parse, subscribe } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { loadConfig } from '../../../src/core/config.js';
import { createMemoryEventBus } from '../../../src/core/events/memory.js';
import type { DeadLetter } from '../../../src/core/events/port.js';
import type { GatewayContext, GatewayServices } from '../../../src/core/gateway/context.js';
import type { Gateway } from '../../../src/core/gateway/http-server.js';
import { startGateway } from '../../../src/core/gateway/http-server.js';
import type { GatewayPubSub } from '../../../src/core/gateway/schema.js';
import { buildGatewaySchema } from '../../../src/core/gateway/schema.js';
import type { SegmentIndexedEvent, VideoIndexedEvent } from '../../../src/core/ingest/ingest-events.js';
import { SEGMENT_INDEXED, VIDEO_INDEXED } from '../../../src/core/ingest/ingest-events.js';
import type { JobRecord } from '../../../src/core/jobs/job-store.js';
import { JOB_UPDATED, toJobEvent } from '../../../src/core/jobs/job-store.js';
import { JobWatcher } from '../../../src/core/jobs/job-watcher.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { loadModelPackage } from '../../../src/core/model/package-loader.js';
import { TINY_PACKAGE } from '../../helpers/fixtures.js';
import { fakeGatewayAuth } from '../../helpers/fake-services.js';
import { NO_MEDIA } from '../../../src/core/media/media-links.js';

type Json = Record<string, any>;

const TENANT_A = randomUUID();
const TENANT_B = randomUUID();

const SHIPPED_MANIFEST = new URL('../../../models/hbi-synth-tiny/manifest.json', import.meta.url);

/** What a consumer gave up on, as the bus keeps it: raw, with paths and secrets. */
const RAW_LETTER: DeadLetter = {
  topic: 'job.queued',
  partition: 0,
  offset: '7',
  key: 'job-1',
  value: {
    kind: 'ingest',
    source: { kind: 'url', url: 'https://admin:hunter2@store.example/v.mp4?X-Amz-Signature=abc&part=1' },
    file: '/srv/hbi/data/ingest/secret-project/clip.mp4',
    password: 'hunter2',
  },
  headers: {},
  errorCode: 'VIDEO_UNREADABLE',
  errorMessage:
    'ffmpeg: /srv/hbi/data/objects/uploads/ab.mp4: Invalid data; source rtsp://cam:pw@10.0.0.5/s?token=zz',
  attempts: 3,
  deadLetteredAt: Date.UTC(2026, 0, 1),
};

function contextFor(services: GatewayServices, tenantId: string): GatewayContext {
  return {
    services,
    media: NO_MEDIA,
    principal: { tenantId, role: 'admin', kind: 'key', id: 'test' },
    tenantId,
    tasks: { run: () => Promise.reject(new Error('no tasks in this test')) },
    requestId: randomUUID(),
  };
}

describe('nothing leaks through the API', () => {
  let schema: GraphQLSchema;
  let pubSub: GatewayPubSub;
  let services: GatewayServices;
  let manifest: Json;

  beforeAll(async () => {
    ({ schema, pubSub } = await buildGatewaySchema([]));
    manifest = JSON.parse(await readFile(SHIPPED_MANIFEST, 'utf8')) as Json;
    services = {
      config: {
        maxPageSize: 10,
        maxQueryDepth: 12,
        maxQueryComplexity: 2000,
        maxRequestBytes: 1 << 20,
        introspection: true,
      },
      logger: createMemoryLogger(),
      modelPackage: { manifest, id: 'hbi-synth-tiny@x', graphs: ['video'] },
      deadLetters: { topics: ['job.queued'], list: () => Promise.resolve([RAW_LETTER]) },
      ...fakeGatewayAuth(),
      library: {},
    } as unknown as GatewayServices;
  });

  const useManifest = (served: Json) => {
    services.modelPackage = {
      ...services.modelPackage,
      manifest: served,
    } as unknown as GatewayServices['modelPackage'];
  };

  const query = async (source: string, tenantId = TENANT_A) =>
    (await graphql({
      schema,
      source,
      contextValue: contextFor(services, tenantId),
    })) as ExecutionResult<Json>;

  it('deadLetters: no server paths, URL credentials or secret parameters in key, value or message', async () => {
    const result = await query(
      `{ deadLetters(topic: "job.queued") { key value errorCode errorMessage attempts } }`,
    );
    expect(result.errors).toBeUndefined();
    const [letter] = result.data!.deadLetters as Json[];
    expect(letter).toEqual({
      key: 'job-1',
      value: {
        kind: 'ingest',
        source: { kind: 'url', url: 'https://***@store.example/v.mp4?X-Amz-Signature=***&part=1' },
        file: '[path]',
        password: '***',
      },
      errorCode: 'VIDEO_UNREADABLE',
      errorMessage: 'ffmpeg: [path]: Invalid data; source rtsp://***@10.0.0.5/s?token=***',
      attempts: 3,
    });
    expect(JSON.stringify(result)).not.toMatch(/hunter2|\/srv\/|abc|zz|cam:pw/);
  });

  it('model { provenance }: build paths shown from the repository root', async () => {
    // train-shipped.sh builds with absolute paths under the checkout; the API shows them from the root.
    const root = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
    const built = `python -m hbi.train.train --data ${root}/model/.data/synthclips --out ${root}/model/runs/shipped --seed 0`;
    const withPaths = { ...manifest, provenance: { ...(manifest.provenance as Json), command: built } };
    useManifest(withPaths);
    try {
      const result = await query(`{ model { provenance } }`);
      expect(result.errors).toBeUndefined();
      const provenance = result.data!.model.provenance as Json;
      expect(JSON.stringify(provenance)).not.toMatch(/(^|[\s"=])\/[A-Za-z]/);
      expect(provenance.command).toBe(
        'python -m hbi.train.train --data model/.data/synthclips --out model/runs/shipped --seed 0',
      );
      expect(provenance.git_commit).toBe((manifest.provenance as Json).git_commit);
      expect(provenance.data_seed).toBe((manifest.provenance as Json).data_seed);
    } finally {
      useManifest(manifest);
    }
  });

  it('model { provenance }: the shipped manifest’s own provenance, relative paths kept as they are', async () => {
    const result = await query(`{ model { provenance } }`);
    expect(result.errors).toBeUndefined();
    const provenance = result.data!.model.provenance as Json;
    expect(JSON.stringify(provenance)).not.toMatch(/(^|[\s"=])\/[A-Za-z]/);
    expect(provenance.command).toBe((manifest.provenance as Json).command);
    expect(provenance.command).toContain('python -m hbi.train.train');
  });

  describe('subscriptions deliver only the subscriber’s tenant’s events', () => {
    const open = async (source: string, tenantId: string, variableValues: Json = {}) => {
      const result = await subscribe({
        schema,
        document: parse(source),
        variableValues,
        contextValue: contextFor(services, tenantId),
      });
      if (!(Symbol.asyncIterator in result)) throw new Error(JSON.stringify(result.errors));
      return result as AsyncGenerator<ExecutionResult<Json>>;
    };
    const videoEvent = (tenantId: string): VideoIndexedEvent => ({
      videoId: randomUUID(),
      tenantId,
      contentSha256: 'ab',
      segments: 1,
      model: 'm@1',
    });
    const segmentEvent = (tenantId: string, cameraId: string | null = null): SegmentIndexedEvent => ({
      segmentId: randomUUID(),
      videoId: randomUUID(),
      tenantId,
      cameraId,
      index: 0,
      startMs: 0,
      endMs: 1000,
      createdAt: new Date().toISOString(),
      model: 'm@1',
    });

    it('covers every subscription the schema has', () => {
      // A new subscription must filter by tenant and be added to the tests below.
      expect(Object.keys(schema.getSubscriptionType()!.getFields()).sort()).toEqual([
        'jobProgress',
        'segmentIndexed',
        'videoIndexed',
      ]);
    });

    it('videoIndexed: tenant A sees nothing of tenant B’s ingest, and B sees its own', async () => {
      const ofA = await open(`subscription { videoIndexed { videoId } }`, TENANT_A);
      const ofB = await open(`subscription { videoIndexed { videoId } }`, TENANT_B);
      const nextA = ofA.next();
      const nextB = ofB.next();
      const fromB = videoEvent(TENANT_B);
      const fromA = videoEvent(TENANT_A);
      pubSub.publish(VIDEO_INDEXED, fromB);
      // An event that names no tenant reaches nobody.
      pubSub.publish(VIDEO_INDEXED, { ...videoEvent(TENANT_A), tenantId: undefined });
      pubSub.publish(VIDEO_INDEXED, fromA);
      expect((await nextA).value).toEqual({ data: { videoIndexed: { videoId: fromA.videoId } } });
      expect((await nextB).value).toEqual({ data: { videoIndexed: { videoId: fromB.videoId } } });
      await ofA.return(undefined);
      await ofB.return(undefined);
    });

    it('segmentIndexed: filtered by tenant before camera or video (the same camera id in both tenants)', async () => {
      const camera = randomUUID();
      const ofA = await open(`subscription ($c: ID) { segmentIndexed(cameraId: $c) { id } }`, TENANT_A, {
        c: camera,
      });
      const allOfA = await open(`subscription { segmentIndexed { id } }`, TENANT_A);
      const next = ofA.next();
      const nextAll = allOfA.next();
      pubSub.publish(SEGMENT_INDEXED, segmentEvent(TENANT_B, camera));
      pubSub.publish(SEGMENT_INDEXED, segmentEvent(TENANT_B));
      const mine = segmentEvent(TENANT_A, camera);
      pubSub.publish(SEGMENT_INDEXED, mine);
      expect((await next).value).toEqual({ data: { segmentIndexed: { id: mine.segmentId } } });
      expect((await nextAll).value).toEqual({ data: { segmentIndexed: { id: mine.segmentId } } });
      await ofA.return(undefined);
      await allOfA.return(undefined);
    });

    it('jobProgress: another tenant’s job is NOT_FOUND and its updates never reach the subscriber', async () => {
      const events = createMemoryEventBus();
      const now = new Date();
      const job: JobRecord = {
        id: randomUUID(),
        tenantId: TENANT_A,
        kind: 'INGEST',
        status: 'RUNNING',
        videoId: null,
        model: 'm@1',
        doneSteps: 0,
        totalSteps: 2,
        attempts: 1,
        error: null,
        createdAt: now,
        startedAt: now,
        finishedAt: null,
        updatedAt: now,
      };
      const store = {
        get: (tenantId: string, id: string) =>
          Promise.resolve(tenantId === job.tenantId && id === job.id ? job : undefined),
      };
      const watcher = await JobWatcher.start(events, store, `watch-${randomUUID()}`);
      const withWatcher = {
        ...services,
        ...fakeGatewayAuth(),
        library: { watcher } as unknown as GatewayServices['library'],
      };
      try {
        const source = `subscription ($id: ID!) { jobProgress(jobId: $id) { status progress } }`;
        const refused = await subscribe({
          schema,
          document: parse(source),
          variableValues: { id: job.id },
          contextValue: contextFor(withWatcher, TENANT_B),
        });
        expect(Symbol.asyncIterator in refused).toBe(false);
        expect((refused as ExecutionResult).errors?.[0]?.message).toMatch(/not found/);

        const stream = (await subscribe({
          schema,
          document: parse(source),
          variableValues: { id: job.id },
          contextValue: contextFor(withWatcher, TENANT_A),
        })) as AsyncGenerator<ExecutionResult<Json>>;
        expect((await stream.next()).value).toEqual({
          data: { jobProgress: { status: 'RUNNING', progress: 0 } },
        });
        const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);
        // The same job id under another tenant (a forged or foreign update) is not delivered.
        await events.publish(JOB_UPDATED, [
          {
            key: job.id,
            value: toJobEvent({ ...job, tenantId: TENANT_B, doneSteps: 1, updatedAt: later(1) }),
          },
          {
            key: job.id,
            value: toJobEvent({
              ...job,
              status: 'SUCCEEDED',
              doneSteps: 2,
              finishedAt: later(2),
              updatedAt: later(2),
            }),
          },
        ]);
        const seen: unknown[] = [];
        for await (const result of stream) seen.push(result.data);
        expect(seen).toEqual([{ jobProgress: { status: 'SUCCEEDED', progress: 1 } }]);
      } finally {
        await watcher.stop();
        await events.close();
      }
    });
  });
});

describe('introspection and suggestions (HBI_INTROSPECTION, off when NODE_ENV=production)', () => {
  it('is a setting derived from NODE_ENV', () => {
    expect(loadConfig({}).introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development' }).introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', HBI_INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(loadConfig({ HBI_INTROSPECTION: 'false' }).introspection).toBe(false);
    expect(() => loadConfig({ HBI_INTROSPECTION: 'yes' })).toThrow(/HBI_INTROSPECTION/);
  });

  const gateways: Gateway[] = [];
  let open: Gateway;
  let closed: Gateway;

  beforeAll(async () => {
    const modelPackage = await loadModelPackage(TINY_PACKAGE);
    const start = async (introspection: boolean) => {
      const { schema } = await buildGatewaySchema([]);
      const services: GatewayServices = {
        config: {
          maxPageSize: 100,
          maxQueryDepth: 8,
          maxQueryComplexity: 200,
          maxRequestBytes: 4096,
          introspection,
        },
        logger: createMemoryLogger(),
        encoder: { state: { status: 'warming', providers: ['cpu'] }, modelId: modelPackage.id, graphs: [] },
        modelPackage,
        plugins: [],
        pluginContext: () => undefined,
        tasks: { kinds: [], run: () => Promise.reject(new Error('no tasks in this test')) },
        ...fakeGatewayAuth(),
        library: {} as GatewayServices['library'],
      };
      const gateway = await startGateway({ schema, services, host: '127.0.0.1', port: 0 });
      gateways.push(gateway);
      return gateway;
    };
    open = await start(true);
    closed = await start(false);
  });
  afterAll(() => Promise.all(gateways.map((gateway) => gateway.stop())));

  const post = async (gateway: Gateway, query: string) =>
    (await (
      await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query }),
      })
    ).json()) as Json;
  const overWebSocket = async (gateway: Gateway, query: string) => {
    const client = createClient({
      url: gateway.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      return await new Promise<Json>((resolve) => {
        const results: Json[] = [];
        client.subscribe(
          { query },
          {
            next: (value) => void results.push(value as Json),
            error: (error) => resolve({ errors: error }),
            complete: () => resolve(results[0] ?? {}),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  };
  const INTROSPECT = '{ __schema { queryType { name } } }';
  const TYPO = '{ helth { live } }';
  const ENUM_TYPO = 'query { jobs(status: SUCCEDED) { totalCount } }';

  it('serves introspection and "Did you mean" when on', async () => {
    expect((await post(open, INTROSPECT)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect((await post(open, TYPO)).errors[0].message).toMatch(/Did you mean "health"\?/);
    expect((await overWebSocket(open, INTROSPECT)).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
    expect(JSON.stringify(await overWebSocket(open, TYPO))).toMatch(/Did you mean/);
  });

  it('refuses introspection and cuts suggestions over HTTP when off', async () => {
    const introspection = await post(closed, INTROSPECT);
    expect(introspection.data).toBeUndefined();
    expect(introspection.errors[0].message).toMatch(/introspection/i);
    const typo = await post(closed, TYPO);
    expect(typo.errors[0].message).toBe('Cannot query field "helth" on type "Query".');
    const enumTypo = await post(closed, ENUM_TYPO);
    expect(enumTypo.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(enumTypo)).not.toMatch(/Did you mean|SUCCEEDED/);
    // __typename is no introspection of the schema: clients keep it.
    expect((await post(closed, '{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('refuses introspection and cuts suggestions over graphql-ws when off', async () => {
    const introspection = await overWebSocket(closed, INTROSPECT);
    expect(introspection.data).toBeUndefined();
    expect(JSON.stringify(introspection.errors)).toMatch(/introspection/i);
    const typo = await overWebSocket(closed, TYPO);
    expect(JSON.stringify(typo.errors)).toContain('Cannot query field \\"helth\\" on type \\"Query\\".');
    expect(JSON.stringify(typo)).not.toMatch(/Did you mean/);
    expect(JSON.stringify(await overWebSocket(closed, ENUM_TYPO))).not.toMatch(/Did you mean|SUCCEEDED/);
  });
});
