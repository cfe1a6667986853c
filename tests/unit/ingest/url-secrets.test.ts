import 'reflect-metadata';

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import { JOB_QUEUED } from '../../../src/core/ingest/ingest-events.js';
import { JOB_UPDATED } from '../../../src/core/jobs/job-store.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { Platform } from '../../../src/core/platform.js';
import { startPlatform } from '../../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import type { GatewayClient } from '../../helpers/gateway-client.js';
import { JOB_FIELDS, gatewayClient } from '../../helpers/gateway-client.js';
import { makeMp4 } from '../../helpers/videos.js';
import { systemView } from '../../helpers/system-scope.js';

type Json = Record<string, any>;

const INGEST = `mutation ($url: String!) { ingestVideo(url: $url, title: "private clip") { ${JOB_FIELDS} } }`;
/** What must appear nowhere but in the download request itself. */
const SECRETS = /hunter2|s3cr3t-token|sig-abc123/;

describe('credentials in source URLs are used for the download and stored nowhere', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let client: GatewayClient;
  let fileServer: ReturnType<typeof createServer>;
  let port: number;
  const logger = createMemoryLogger();
  const published: unknown[] = [];
  const downloads: { authorization?: string; url?: string }[] = [];

  beforeAll(async () => {
    temp = await tempDir('hbi-url-secrets-');
    const config = loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_DEMO_LIBRARY: 'off',
      // The test's file server is on loopback.
      HBI_INGEST_URL_PRIVATE: 'true',
    });
    platform = await startPlatform(config, logger, { builtins: BUILTIN_PLUGINS });
    client = gatewayClient(platform.gateway.url, platform.adminKey);
    const clip = await makeMp4(platform.kernel.ffmpeg, temp.dir);
    // Serves the clip only with the right Basic credentials and the signed query.
    const expected = `Basic ${Buffer.from('admin:hunter2').toString('base64')}`;
    fileServer = createServer((request, response) => {
      downloads.push({ authorization: request.headers.authorization, url: request.url });
      const url = new URL(request.url ?? '/', 'http://x');
      if (request.headers.authorization !== expected || url.searchParams.get('token') !== 's3cr3t-token')
        response.writeHead(401).end();
      else void readFile(clip).then((bytes) => response.end(bytes));
    });
    await new Promise<void>((resolve) => fileServer.listen(0, '127.0.0.1', resolve));
    port = (fileServer.address() as AddressInfo).port;
    for (const topic of [JOB_QUEUED, JOB_UPDATED]) {
      await platform.kernel.events.subscribe({
        topics: [topic],
        group: `test-${topic}`,
        handler: async (message) => void published.push(message.value),
      });
    }
  });
  afterAll(async () => {
    await new Promise((resolve) => fileServer?.close(resolve));
    await platform?.stop();
    await temp?.cleanup();
  });

  it('ingestVideo(url): downloads with the credentials; the job, its events, the video row and the logs hold none', async () => {
    const url = `http://admin:hunter2@127.0.0.1:${port}/clip.mp4?token=s3cr3t-token&X-Amz-Signature=sig-abc123&v=2`;
    const answer = await client.graphql(INGEST, { url });
    expect(answer.body.errors).toBeUndefined();
    const job = await client.finishedJob(answer.body.data.ingestVideo.id as string);
    expect(job).toMatchObject({ status: 'SUCCEEDED' });
    // The download got what it needed.
    expect(downloads.at(-1)!.url).toContain('token=s3cr3t-token');
    expect(downloads.at(-1)!.authorization).toMatch(/^Basic /);

    const stored = `http://127.0.0.1:${port}/clip.mp4?v=2`;
    const { body } = await client.graphql(`query ($id: ID!) { video(id: $id) { sourceUri } }`, {
      id: job.videoId,
    });
    expect(body.data.video.sourceUri).toBe(stored);
    const { rows: videos } = await systemView(platform.kernel.db).query<{ uri: string }>(
      `SELECT "source_uri" AS "uri" FROM "videos" WHERE "id" = $1`,
      [job.videoId],
    );
    expect(videos[0]!.uri).toBe(stored);
    const { rows: jobs } = await systemView(platform.kernel.db).query<Json>(`SELECT * FROM "jobs"`);
    expect(JSON.stringify(jobs)).not.toMatch(SECRETS);
    expect(published.length).toBeGreaterThan(0);
    expect(JSON.stringify(published)).not.toMatch(SECRETS);
    expect(published).toContainEqual(
      expect.objectContaining({
        kind: 'ingest',
        sourceUri: stored,
        source: expect.objectContaining({ url: stored }),
      }),
    );
    expect(inspect(logger.records, { depth: 12 })).not.toMatch(SECRETS);
  });

  it('a failed download reports no credentials either', async () => {
    const url = `http://admin:wrong-hunter2@127.0.0.1:${port}/clip.mp4?token=s3cr3t-token`;
    const answer = await client.graphql(INGEST, { url });
    const job = await client.finishedJob(answer.body.data.ingestVideo.id as string);
    expect(job.status).toBe('FAILED');
    expect(JSON.stringify(job)).not.toMatch(SECRETS);
    expect(JSON.stringify(published)).not.toMatch(SECRETS);
    expect(inspect(logger.records, { depth: 12 })).not.toMatch(SECRETS);
  });

  it('registerCamera(sourceUrl): stored without user:pass@ or secret parameters', async () => {
    const answer = await client.graphql(
      `mutation { registerCamera(name: "dock", sourceUrl: "rtsp://admin:hunter2@10.0.0.5:554/s1?token=s3cr3t-token&channel=2") { id } }`,
    );
    expect(answer.body.errors).toBeUndefined();
    const { rows } = await systemView(platform.kernel.db).query<{ url: string }>(
      `SELECT "source_url" AS "url" FROM "cameras" WHERE "id" = $1`,
      [answer.body.data.registerCamera.id],
    );
    expect(rows[0]!.url).toBe('rtsp://10.0.0.5:554/s1?channel=2');
  });

  it('deadLetters shows a dead-lettered message without its paths or secrets', async () => {
    await platform.kernel.events.publish(JOB_QUEUED, [
      {
        key: 'foreign',
        value: {
          kind: 'ingest',
          jobId: 'not-a-uuid',
          source: { kind: 'url', url: 'https://admin:hunter2@store.example/a.mp4?token=s3cr3t-token' },
          file: '/srv/private/a.mp4',
        },
      },
    ]);
    let letters: Json[] = [];
    for (let i = 0; i < 100 && letters.length === 0; i++) {
      const answer = await client.graphql(`{ deadLetters(topic: "job.queued") { key value errorMessage } }`);
      letters = (answer.body.data?.deadLetters ?? []) as Json[];
      if (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]!.value).toMatchObject({
      source: { url: 'https://***@store.example/a.mp4?token=***' },
      file: '[path]',
    });
    expect(JSON.stringify(letters)).not.toMatch(SECRETS);
  });
});
