/**
 * The gateway when its database is swamped or away (the embedded platform, with the pool's queue
 * length faked: PGlite has no pool): requests that would need a connection are refused at the door
 * with RATE_LIMITED (429, Retry-After), an upload URL refused that way still works afterwards, public
 * probes still answer, and credentials that could not be checked read as 503 UNAVAILABLE, never as
 * wrong (401). The pool's real queue on PostgreSQL: tests/integration/db/pool-pressure.test.ts.
 */
import 'reflect-metadata';

import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import { databaseUnavailable } from '../../../src/core/db/outage.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { Platform } from '../../../src/core/platform.js';
import { startPlatform } from '../../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import type { GatewayClient } from '../../helpers/gateway-client.js';
import { gatewayClient } from '../../helpers/gateway-client.js';

describe('the gateway under database pressure', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let client: GatewayClient;
  let waiting: () => number = () => 0;
  let finishedJobId = '';

  beforeAll(async () => {
    temp = await tempDir('hbi-db-pressure-');
    const config = loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_DB_MAX_WAITING: '4',
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    // The embedded database has no pool; this stands in for its queue length.
    Object.assign(platform.kernel.db, { waitingForConnection: () => waiting() });
    client = gatewayClient(platform.gateway.url, platform.adminKey);
  });
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  const post = (body: object, headers: Record<string, string> = {}) =>
    fetch(platform.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const withKey = () => ({ authorization: `Bearer ${platform.adminKey}` });

  it('refuses keyed requests with 429 and Retry-After while the queue is over HBI_DB_MAX_WAITING', async () => {
    waiting = () => 4;
    expect((await client.graphql('{ videos(first: 1) { totalCount } }')).status).toBe(200);
    waiting = () => 5;
    const refused = await post({ query: '{ videos(first: 1) { totalCount } }' }, withKey());
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('RATE_LIMITED');
    expect(body.errors[0]!.message).toMatch(/HBI_DB_MAX_WAITING=4/);
    // A public probe needs no key and no connection.
    const health = await post({ query: '{ health { live } }' });
    expect(health.status).toBe(200);
    waiting = () => 0;
    expect((await client.graphql('{ videos(first: 1) { totalCount } }')).status).toBe(200);
  });

  it('refuses an upload PUT before anything is written; the same URL works once the queue drains', async () => {
    const bytes = await readFile(path.resolve('examples/demo-library/clips/test-000000.mp4'));
    const created = await client.graphql(
      `mutation ($size: SafeInt!) { createUpload(filename: "a.mp4", contentType: "video/mp4", sizeBytes: $size) { uploadUrl } }`,
      { size: bytes.length },
    );
    const url = created.body.data.createUpload.uploadUrl as string;
    waiting = () => 50;
    const refused = await fetch(url, { method: 'PUT', body: bytes });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(
      ((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
    ).toBe('RATE_LIMITED');
    waiting = () => 0;
    const accepted = await fetch(url, { method: 'PUT', body: bytes });
    expect(accepted.status).toBe(202);
    const job = await client.finishedJob(((await accepted.json()) as { jobId: string }).jobId, 120_000);
    expect(job.status).toBe('SUCCEEDED');
    finishedJobId = job.id as string;
  });

  it('keeps a WebSocket whose key could not be checked, refusing its subscriptions until the queue drains', async () => {
    expect(finishedJobId).not.toBe('');
    const query = 'subscription ($id: ID!) { jobProgress(jobId: $id) { id status } }';
    waiting = () => 50;
    const socket = client.webSocket();
    try {
      const refused = (await client
        .collect(socket, query, { id: finishedJobId })
        .catch((error: { errors?: { extensions?: { code?: string; details?: object } }[] }) => error)) as {
        errors?: { extensions?: { code?: string; details?: object } }[];
      };
      expect(refused.errors?.[0]?.extensions).toMatchObject({
        code: 'RATE_LIMITED',
        details: { retryAfterSeconds: 1 },
      });
      waiting = () => 0;
      // The same socket, checked again at this subscribe.
      const events = await client.collect(socket, query, { id: finishedJobId });
      expect(events.at(-1)).toMatchObject({
        data: { jobProgress: { id: finishedJobId, status: 'SUCCEEDED' } },
      });
    } finally {
      waiting = () => 0;
      await socket.dispose();
    }
  });

  it('answers 503 UNAVAILABLE, not 401, when the key cannot be checked because the database is away', async () => {
    waiting = () => {
      throw databaseUnavailable(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
        'No PostgreSQL connection',
      );
    };
    try {
      const answer = await post({ query: '{ videos(first: 1) { totalCount } }' }, withKey());
      expect(answer.status).toBe(503);
      expect(answer.headers.get('www-authenticate')).toBeNull();
      const body = (await answer.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('UNAVAILABLE');
    } finally {
      waiting = () => 0;
    }
    // A wrong key is still a 401.
    const wrong = await post(
      { query: '{ videos(first: 1) { totalCount } }' },
      { authorization: 'Bearer hbi_00000000000000000000000000000000_nope' },
    );
    expect(wrong.status).toBe(401);
  });
});
