import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import type { EventMessage } from '../../../src/core/events/port.js';
import { ingestDemoLibrary, readDemoLibrary } from '../../../src/core/ingest/demo-library.js';
import type { VideoIndexedEvent } from '../../../src/core/ingest/video-ingestor.js';
import { VIDEO_INDEXED, VideoIngestor } from '../../../src/core/ingest/video-ingestor.js';
import { bytesToFloat32 } from '../../../src/core/segments/vector-store.js';
import type { Kernel } from '../../../src/core/kernel.js';
import { bootKernel } from '../../../src/core/kernel.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { TINY_PACKAGE, eventually, tempDir } from '../../helpers/fixtures.js';
import { makeMp4 } from '../../helpers/videos.js';
import { systemView } from '../../helpers/system-scope.js';

describe('VideoIngestor (embedded)', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let kernel: Kernel;
  let ingestor: VideoIngestor;
  let clip: string;
  const indexed: EventMessage<VideoIndexedEvent>[] = [];

  beforeAll(async () => {
    temp = await tempDir('hbi-ingest-');
    const config = loadConfig({ HBI_MODEL_DIR: TINY_PACKAGE, HBI_DATA_DIR: path.join(temp.dir, 'data') });
    kernel = await bootKernel(config, createMemoryLogger());
    ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
    await kernel.events.subscribe<VideoIndexedEvent>({
      topics: [VIDEO_INDEXED],
      group: 'test',
      handler: async (message) => void indexed.push(message),
    });
    clip = await makeMp4(kernel.ffmpeg, temp.dir);
  });
  afterAll(async () => {
    await kernel?.stop();
    await temp?.cleanup();
  });

  it('stores segment embeddings and frame tensors tagged with the model version, then announces the video', async () => {
    const result = await ingestor.ingestFile({ file: clip, title: 'pattern' });
    expect(result).toMatchObject({ segments: 1, alreadyIndexed: false });
    const { rows } = await systemView(kernel.db).query<{
      model: string;
      dims: number;
      tokens: Uint8Array;
      status: string;
    }>(
      `SELECT mv."name" || '@' || mv."version" AS "model", vector_dims(e."embedding") AS "dims",
              e."frame_tokens" AS "tokens", v."status"
       FROM "segment_embeddings" e JOIN "segments" s ON s."id" = e."segment_id"
       JOIN "videos" v ON v."id" = s."video_id" JOIN "model_versions" mv ON mv."id" = e."model_version_id"`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ model: 'hbi-fixture-tiny@0.0.1', dims: 4, status: 'INDEXED' });
    expect(bytesToFloat32(rows[0]!.tokens)).toHaveLength(2 * 4);
    await eventually(() => expect(indexed.map((m) => m.value.videoId)).toEqual([result.videoId]));
  });

  it('is idempotent: the same bytes again never duplicate a video, segment or embedding', async () => {
    const again = await ingestor.ingestFile({ file: clip });
    expect(again.alreadyIndexed).toBe(true);
    const counts = await systemView(kernel.db).query<{
      videos: number;
      segments: number;
      embeddings: number;
    }>(
      `SELECT (SELECT count(*)::int FROM "videos") AS "videos", (SELECT count(*)::int FROM "segments") AS "segments",
              (SELECT count(*)::int FROM "segment_embeddings") AS "embeddings"`,
    );
    expect(counts.rows[0]).toEqual({ videos: 1, segments: 1, embeddings: 1 });
  });

  it('fails a corrupt file alone with VIDEO_UNREADABLE, records why, and keeps working', async () => {
    const bad = path.join(temp.dir, 'not-a-video.mp4');
    await writeFile(bad, 'this is text, not an MP4');
    await expect(ingestor.ingestFile({ file: bad })).rejects.toMatchObject({ code: 'VIDEO_UNREADABLE' });
    const { rows } = await systemView(kernel.db).query<{ status: string; error: { code: string } }>(
      `SELECT "status", "error" FROM "videos" WHERE "status" = 'FAILED'`,
    );
    expect(rows).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        error: expect.objectContaining({ code: 'VIDEO_UNREADABLE' }),
      }),
    ]);
    await expect(ingestor.ingestFile({ file: path.join(temp.dir, 'missing.mp4') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await ingestor.ingestFile({ file: clip })).alreadyIndexed).toBe(true);
  });

  it('indexes a demo library, counting a missing clip as failed, and skips indexed clips on restart', async () => {
    const clips = path.join(temp.dir, 'library');
    await mkdir(clips);
    await copyFile(clip, path.join(clips, 'one.mp4'));
    const library = path.join(clips, 'library.json');
    await writeFile(
      library,
      JSON.stringify({
        name: 'test library',
        clips: [
          { id: 'one', file: 'one.mp4', captions: ['a test pattern'] },
          { id: 'gone', file: 'gone.mp4', captions: [] },
        ],
      }),
    );
    const logger = createMemoryLogger();
    expect(await ingestDemoLibrary(ingestor, library, logger)).toEqual({
      clips: 2,
      indexed: 0,
      skipped: 1,
      failed: 1,
    });
    expect(logger.records.some((record) => record.message === 'demo clip failed to ingest')).toBe(true);
    await expect(readDemoLibrary(clip)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
