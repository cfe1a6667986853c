import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CameraAgent } from '../../../src/cli/camera/camera-agent.js';
import type { JobReport, PlatformClient } from '../../../src/cli/camera/platform-client.js';
import { PlatformRequestError } from '../../../src/cli/camera/platform-client.js';
import type { SpooledSegment } from '../../../src/cli/camera/spool.js';
import { SegmentSpool } from '../../../src/cli/camera/spool.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { makeSourceFile } from '../../helpers/camera.js';
import { systemFfmpeg } from '../../helpers/videos.js';
import { eventually, tempDir } from '../../helpers/fixtures.js';

const CAMERA = '0b8d3c1e-5f4a-4b2c-9d7e-1a2b3c4d5e6f';

/** A platform that records what it accepted; `refuse` decides per upload attempt. */
function fakePlatform(
  refuse: (attempt: number, segment: SpooledSegment) => PlatformRequestError | undefined,
) {
  const accepted: { index: number; capturedAt: string; sha256: string; jobId: string }[] = [];
  const statuses: string[] = [];
  let attempts = 0;
  const client: PlatformClient = {
    registerCamera: async (input) => ({ id: input.id ?? CAMERA, name: input.name }),
    setCameraStatus: async (_id, status) => void statuses.push(status),
    async uploadSegment(segment) {
      const error = refuse(++attempts, segment);
      if (error) throw error;
      const sha256 = createHash('sha256')
        .update(await readFile(segment.file))
        .digest('hex');
      const jobId = `job-${segment.index}`;
      accepted.push({ index: segment.index, capturedAt: segment.capturedAt, sha256, jobId });
      return { jobId };
    },
    jobs: async (ids): Promise<JobReport[]> =>
      ids.map((id) => ({
        id,
        status: 'SUCCEEDED',
        finishedAt: new Date().toISOString(),
        videoId: `v-${id}`,
        error: null,
      })),
  };
  return { client, accepted, statuses, attempts: () => attempts };
}

describe('CameraAgent (real ffmpeg, fake platform)', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let ffmpeg: string;
  let source: string;
  beforeAll(async () => {
    temp = await tempDir('hbi-agent-');
    // loop-source.sh runs the system ffmpeg: fail naming it when missing.
    ffmpeg = (await systemFfmpeg()).ffmpeg;
    source = await makeSourceFile(temp.dir, 4); // 12 s: four 3 s segments per pass
  });
  afterAll(() => temp.cleanup());

  const agentFor = async (
    name: string,
    client: PlatformClient,
    maxSegments: number,
    options: { spoolMax?: number; realtime?: boolean; segmentSeconds?: number } = {},
  ) => {
    const logger = createMemoryLogger();
    const spool = await SegmentSpool.open(path.join(temp.dir, name), {
      maxSegments: options.spoolMax ?? 100,
      maxBytes: 1e9,
    });
    const agent = new CameraAgent({
      ffmpeg,
      recorder: {
        source,
        segmentSeconds: options.segmentSeconds ?? 3,
        realtime: options.realtime ?? false,
        loop: false,
        codec: 'h264',
      },
      cameraId: CAMERA,
      client,
      spool,
      logger,
      maxSegments,
      reconnect: { initialMs: 50, maxMs: 200 },
      pollMs: 50,
    });
    return { agent, spool, logger };
  };

  it('reconnects when the source ends, numbers on, and uploads every segment once, in order, with unique bytes', async () => {
    const platform = fakePlatform(() => undefined);
    const { agent, spool, logger } = await agentFor('reconnect', platform.client, 6);
    await agent.done;
    const status = agent.status();
    expect(status).toMatchObject({
      phase: 'stopped',
      recorded: 6,
      uploaded: 6,
      indexed: 6,
      failed: 0,
      queueDepth: 0,
    });
    expect(status.reconnects).toBe(1);
    expect(platform.accepted.map((a) => a.index)).toEqual([0, 1, 2, 3, 4, 5]);
    // The second pass repeats the first pass's pictures; the stamp keeps the files distinct.
    expect(new Set(platform.accepted.map((a) => a.sha256)).size).toBe(6);
    const times = platform.accepted.map((a) => Date.parse(a.capturedAt));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(2500);
    expect(platform.statuses[0]).toBe('ONLINE');
    expect(platform.statuses.at(-1)).toBe('OFFLINE');
    expect(logger.records.some((r) => r.message === 'source dropped; reconnecting')).toBe(true);
    expect(logger.records.filter((r) => r.message === 'segment indexed')).toHaveLength(6);
    expect(spool.depth).toBe(0);
    expect((await readdir(spool.dir)).filter((name) => name.endsWith('.mp4'))).toEqual([]);
  });

  it('keeps segments spooled while the platform is away, pauses recording when the spool is full, and loses none', async () => {
    let down = true;
    const platform = fakePlatform(() =>
      down ? new PlatformRequestError('Cannot reach the platform', true) : undefined,
    );
    // Real time, 1 s segments: the spool (2 segments) is full after about 2 s.
    const { agent, spool } = await agentFor('outage', platform.client, 4, {
      spoolMax: 2,
      realtime: true,
      segmentSeconds: 1,
    });
    const phases = new Set<string>();
    const watch = setInterval(() => phases.add(agent.status().phase), 10);
    await eventually(() => agent.status().phase === 'paused', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // At the bound, plus at most the segment ffmpeg had in hand when it was told to stop.
    expect(spool.depth).toBeGreaterThanOrEqual(2);
    expect(spool.depth).toBeLessThanOrEqual(3);
    expect(agent.status().phase).toBe('paused');
    expect(platform.accepted).toEqual([]);
    down = false;
    await agent.done;
    clearInterval(watch);
    expect(platform.accepted.map((a) => a.index)).toEqual([0, 1, 2, 3]);
    expect(platform.attempts()).toBeGreaterThan(4);
    expect(agent.status()).toMatchObject({ uploaded: 4, indexed: 4, queueDepth: 0 });
  });

  it('moves a segment the platform refuses for good to rejected/ and goes on', async () => {
    const platform = fakePlatform((_attempt, segment) =>
      segment.index === 1
        ? new PlatformRequestError('LIMIT_EXCEEDED: too large', false, 'LIMIT_EXCEEDED')
        : undefined,
    );
    const { agent, spool } = await agentFor('refused', platform.client, 3);
    await agent.done;
    expect(platform.accepted.map((a) => a.index)).toEqual([0, 2]);
    expect(agent.status()).toMatchObject({ failed: 1, uploaded: 2 });
    expect(await readdir(path.join(spool.dir, 'rejected'))).toContain('segment-00000001.mp4');
  });
});
