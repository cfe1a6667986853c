import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMemoryLogger } from '../../../src/core/logger.js';
import { parseRange } from '../../../src/core/gateway/media-route.js';
import { assignFrames, extractPreviews, keptFrameTimes } from '../../../src/core/media/extract-previews.js';
import { MediaMaker } from '../../../src/core/media/media-maker.js';
import { MediaService } from '../../../src/core/media/media-links.js';
import { MediaTokens } from '../../../src/core/media/media-tokens.js';
import { browserPlayableType } from '../../../src/core/media/rendition.js';
import { createFsObjectStore } from '../../../src/core/storage/fs.js';
import type { ObjectStore } from '../../../src/core/storage/port.js';
import { DecodeSlots } from '../../../src/core/video/decode-slots.js';
import type { FfmpegTools } from '../../../src/core/video/ffmpeg-tools.js';
import { locateFfmpeg } from '../../../src/core/video/ffmpeg-tools.js';
import { decodeSegments } from '../../../src/core/video/decode-segments.js';
import { PreviewTracker } from '../../../src/core/video/preview-outputs.js';
import { runProcess } from '../../../src/core/video/run-process.js';
import { planSegments } from '../../../src/core/video/segments.js';
import { tempDir } from '../../helpers/fixtures.js';
import { makeNumberedClip } from '../../helpers/videos.js';

const TENANT = '00000000-0000-4000-8000-000000000000';
const VIDEO = '11111111-1111-4111-8111-111111111111';

describe('byte ranges (RFC 9110, one range)', () => {
  it.each([
    ['bytes=0-99', { start: 0, end: 99 }],
    ['bytes=100-', { start: 100, end: 999 }],
    ['bytes=-50', { start: 950, end: 999 }],
    ['bytes=-5000', { start: 0, end: 999 }],
    ['bytes=990-5000', { start: 990, end: 999 }],
  ])('%s of 1000 bytes', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected);
  });

  it.each([['bytes=1000-'], ['bytes=5000-6000'], ['bytes=-0']])(
    '%s of 1000 bytes is unsatisfiable',
    (header) => {
      expect(parseRange(header, 1000)).toBe('unsatisfiable');
    },
  );

  it.each([[undefined], ['bytes=0-1,5-9'], ['items=0-1'], ['bytes=9-1'], ['bytes=-']])(
    '%s is ignored (the whole object)',
    (header) => {
      expect(parseRange(header, 1000)).toBeNull();
    },
  );
});

describe('what browsers play as it is', () => {
  it.each([
    [['mov', 'mp4', 'm4a'], 'h264', 'video/mp4'],
    [['mov', 'mp4'], 'vp9', 'video/mp4'],
    [['matroska', 'webm'], 'vp9', 'video/webm'],
    [['matroska', 'webm'], 'vp8', 'video/webm'],
    [['avi'], 'mjpeg', null],
    [['mov', 'mp4'], 'hevc', null],
    [['mpegts'], 'h264', null],
    [['matroska', 'webm'], 'h264', null],
  ])('%j with %s → %s', (formatNames, codec, expected) => {
    expect(browserPlayableType({ formatNames, video: { codec } })).toBe(expected);
  });
});

describe('which kept frame becomes which thumbnail', () => {
  it('reads the kept frames from showinfo lines only', () => {
    const stderr = [
      '[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from x.mp4:',
      '[Parsed_showinfo_1 @ 0x55] [info] n:   0 pts:  16384 pts_time:1       pos: 2476 fmt:yuv420p',
      '[info] frame=    1 fps=0.0 q=0.0 size=N/A [Parsed_showinfo_1 @ 0x55] [info] n:   1 pts:  40960 pts_time:2.5     pos:',
    ].join('\n');
    expect(keptFrameTimes(stderr)).toEqual([1, 2.5]);
  });

  it('gives each segment the first kept frame at or after its midpoint, sharing one when two midpoints fall in one frame', () => {
    const spans = planSegments(30_000, 10_000, 2_000); // midpoints 5, 13, 21, 25 s
    expect(assignFrames(spans, [5, 13.04, 21, 25])).toEqual(
      new Map([
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    );
    // A slide show with one frame every 10 s: the midpoints 21 s and 25 s share the frame at 30 s.
    expect(assignFrames(spans, [10, 20, 30])).toEqual(
      new Map([
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 2],
      ]),
    );
  });
});

describe('thumbnails from the decode ingest runs anyway', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let tools: FfmpegTools;
  let clip: string;

  beforeAll(async () => {
    temp = await tempDir('hbi-previews-');
    tools = await locateFfmpeg();
    // 2 s at 10 fps; frame k is a uniform grey of 10·k.
    clip = await makeNumberedClip(tools, temp.dir, 20);
  });
  afterAll(async () => {
    await temp?.cleanup();
  });

  /** The grey level of a JPEG (scaled to one pixel). */
  const grey = async (file: string): Promise<number> => {
    const result = await runProcess(
      tools.ffmpeg,
      ['-v', 'error', '-i', file, '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
      { timeoutMs: 30_000 },
    );
    return result.stdout[0]!;
  };

  it('follows the filter: the first frame at or after each midpoint, one kept frame shared by two midpoints', () => {
    const tracker = new PreviewTracker(planSegments(30_000, 10_000, 2_000)); // midpoints 5, 13, 21, 25 s
    for (const t of [0, 10, 20, 30]) tracker.frame(t);
    expect(tracker.assigned).toEqual(
      new Map([
        [0, 0],
        [1, 1],
        [2, 2],
        [3, 2],
      ]),
    );
  });

  it.each([
    ['the single pass over several segments', planSegments(2_000, 1_000, 0), [50, 150], 150],
    ["one segment (the recipe's whole-file decode)", planSegments(2_000, 5_000, 0), [100], 100],
  ])('writes the midpoint frame of each segment and a poster in %s', async (_what, spans, levels, poster) => {
    const outDir = path.join(temp.dir, `out-${spans.length}`);
    await mkdir(outDir);
    const summary = await decodeSegments(
      tools,
      {
        file: clip,
        spans,
        frames: 2,
        width: 8,
        height: 8,
        timeoutMs: 30_000,
        maxFps: 30,
        previews: { outDir },
      },
      async () => undefined,
    );
    const thumbnails = summary.previews!.thumbnails;
    expect([...thumbnails.keys()]).toEqual(spans.map((span) => span.index));
    const seen = await Promise.all([...thumbnails.values()].map(grey));
    seen.forEach((level, i) => expect(Math.abs(level - levels[i]!)).toBeLessThanOrEqual(3));
    expect(Math.abs((await grey(summary.previews!.poster!)) - poster)).toBeLessThanOrEqual(3);
  });
});

describe('making media never fails an ingest', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let storage: ObjectStore;
  let tools: FfmpegTools;
  let clip: string;

  beforeAll(async () => {
    temp = await tempDir('hbi-media-parts-');
    storage = await createFsObjectStore(path.join(temp.dir, 'objects'));
    tools = await locateFfmpeg();
    clip = await makeNumberedClip(tools, temp.dir, 40); // 4 s at 10 fps, 8×8 ffv1 in Matroska
  });
  afterAll(async () => {
    await storage?.close();
    await temp?.cleanup();
  });

  const maker = (ffmpeg: FfmpegTools, logger = createMemoryLogger()) =>
    new MediaMaker({
      config: {
        mediaPreviews: 'on',
        playbackRenditions: 'auto',
        mediaTimeoutMs: 60_000,
        allowedContainers: ['matroska', 'mov', 'mp4', 'avi'],
      },
      storage,
      ffmpeg,
      logger,
      decodeSlots: new DecodeSlots(1),
    });

  it('picks the frame at each midpoint in one ffmpeg run', async () => {
    const outDir = path.join(temp.dir, 'previews');
    await mkdir(outDir);
    const spans = planSegments(4_000, 2_000, 0); // midpoints 1 s and 3 s: frames 10 and 30
    const previews = await extractPreviews(tools, { file: clip, spans, outDir, timeoutMs: 60_000 });
    expect([...previews.thumbnails.keys()]).toEqual([0, 1]);
    expect(previews.poster).not.toBeNull();
    expect((await readdir(outDir)).sort()).toEqual(['poster.jpg', 't000001.jpg', 't000002.jpg']);
  });

  it('with an ffmpeg that fails, records warnings and no media instead of throwing', async () => {
    const logger = createMemoryLogger();
    const broken = maker({ ffmpeg: 'false', ffprobe: null, source: 'config' }, logger);
    const record = await broken.make(
      { id: VIDEO, tenantId: TENANT, key: 'videos/abc.mkv' },
      clip,
      { formatNames: ['matroska', 'webm'], video: { codec: 'ffv1' } },
      planSegments(4_000, 2_000, 0),
    );
    expect(record).toMatchObject({ thumbnails: [], posterKey: null, playback: null });
    expect(record.warnings).toEqual([
      expect.stringContaining('thumbnails'),
      expect.stringContaining('playable rendition'),
    ]);
    expect(logger.records.some((line) => line.message.includes('video media not made'))).toBe(true);
  });

  it('makes thumbnails, poster and an H.264 rendition of a Matroska FFV1 clip, and removes them again', async () => {
    const record = await maker(tools).make(
      { id: VIDEO, tenantId: TENANT, key: 'videos/abc.mkv' },
      clip,
      { formatNames: ['matroska', 'webm'], video: { codec: 'ffv1' } },
      planSegments(4_000, 2_000, 0),
    );
    expect(record).toMatchObject({
      thumbnails: [0, 1],
      posterKey: `tenants/${TENANT}/media/${VIDEO}/poster.jpg`,
      playback: { key: `tenants/${TENANT}/media/${VIDEO}/playback.mp4`, kind: 'rendition' },
      warnings: [],
    });
    expect((await storage.head(record.playback!.key))?.contentType).toBe('video/mp4');
    expect(await maker(tools).removeAll(TENANT, VIDEO)).toBe(4);
    expect(await storage.head(record.posterKey!)).toBeNull();
  });
});

describe('media URLs on an object store with presigned GETs (S3, MinIO)', () => {
  it('hands out the store’s presigned URL instead of a gateway token', async () => {
    const presigned: string[] = [];
    const storage = {
      kind: 's3',
      presignedUrl: (method: string, key: string, options: { expiresInSeconds: number }) => {
        presigned.push(`${method} ${key} ${options.expiresInSeconds}`);
        return Promise.resolve(
          `https://minio.example/bucket/${key}?X-Amz-Expires=${options.expiresInSeconds}`,
        );
      },
    } as unknown as ObjectStore;
    const db = {
      prisma: {
        video: {
          findMany: () =>
            Promise.resolve([
              {
                id: VIDEO,
                objectKey: 'videos/abc.mp4',
                media: {
                  thumbnails: [0],
                  posterKey: `tenants/${TENANT}/media/${VIDEO}/poster.jpg`,
                  playback: { key: 'videos/abc.mp4', contentType: 'video/mp4', kind: 'source' },
                  warnings: [],
                },
              },
            ]),
        },
      },
    };
    const service = new MediaService({
      db: db as never,
      storage,
      config: { mediaUrlTtlSeconds: 120, publicUrl: undefined, uploadSecret: undefined },
    });
    const links = service.forTenant(TENANT, 'http://gateway');
    const [segment] = await links.segments([{ videoId: VIDEO, index: 0, startMs: 2_000, endMs: 12_000 }]);
    expect(segment).toEqual({
      thumbnailUrl: `https://minio.example/bucket/tenants/${TENANT}/media/${VIDEO}/thumbs/0.jpg?X-Amz-Expires=120`,
      playbackUrl: 'https://minio.example/bucket/videos/abc.mp4?X-Amz-Expires=120#t=2,12',
    });
    expect(presigned.every((line) => line.startsWith('GET ') && line.endsWith(' 120'))).toBe(true);
  });
});

describe('media tokens', () => {
  const grant = {
    tenantId: TENANT,
    videoId: VIDEO,
    key: `tenants/${TENANT}/media/${VIDEO}/poster.jpg`,
    contentType: 'image/jpeg',
    expiresAt: 10_000,
  };

  it('round-trips a grant until its expiry, then refuses it with MEDIA_URL_EXPIRED (410)', () => {
    const tokens = new MediaTokens('x'.repeat(40));
    expect(tokens.verify(tokens.sign(grant), 10_000)).toEqual(grant);
    expect(() => tokens.verify(tokens.sign(grant), 10_001)).toThrow(
      expect.objectContaining({ code: 'MEDIA_URL_EXPIRED', httpStatus: 410 }),
    );
  });

  it('is not an upload token: the same secret signs the two kinds with different keys', async () => {
    const { UploadTokens } = await import('../../../src/core/ingest/upload-tokens.js');
    const secret = 'y'.repeat(40);
    const media = new MediaTokens(secret).sign(grant);
    expect(() => new UploadTokens(secret).verify(media, 0)).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    );
  });
});
