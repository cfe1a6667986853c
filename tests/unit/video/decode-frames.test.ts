import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { HbiError } from '../../../src/core/errors.js';
import { decodeFrames, frameDecodeArgs, sampleIndices } from '../../../src/core/video/decode-frames.js';
import type { FfmpegTools } from '../../../src/core/video/ffmpeg-tools.js';
import { locateFfmpeg } from '../../../src/core/video/ffmpeg-tools.js';
import { tempDir } from '../../helpers/fixtures.js';
import { makeNumberedClip } from '../../helpers/videos.js';

describe('sampleIndices', () => {
  it('picks floor((i + 0.5) * N / T)', () => {
    expect(sampleIndices(10, 4)).toEqual([1, 3, 6, 8]);
    expect(sampleIndices(20, 2)).toEqual([5, 15]);
    expect(sampleIndices(3, 2)).toEqual([0, 2]);
  });

  it('repeats frames when there are fewer than T', () => {
    expect(sampleIndices(1, 4)).toEqual([0, 0, 0, 0]);
    expect(sampleIndices(2, 4)).toEqual([0, 0, 1, 1]);
  });

  it('matches the floating-point formula exactly for every N, T up to 300', () => {
    for (let n = 1; n <= 300; n++) {
      for (const t of [1, 2, 8, 12, 16, 32]) {
        const float = Array.from({ length: t }, (_, i) => Math.floor(((i + 0.5) * n) / t));
        expect(sampleIndices(n, t)).toEqual(float);
      }
    }
  });
});

describe('frameDecodeArgs', () => {
  // The recipe, with the input confined to the one local file in an accepted container (options that
  // choose what may be opened, not how frames are decoded).
  const CONFINED = '-protocol_whitelist file -format_whitelist mov,mp4,matroska,webm,avi,mpegts';

  it('is exactly the documented ffmpeg recipe, confined to the input file', () => {
    expect(
      frameDecodeArgs({ file: 'in.mp4', width: 224, height: 224, startMs: 12_500, durationMs: 10_000 }),
    ).toEqual(
      `-v error -nostdin -ss 12.5 -t 10 ${CONFINED} -i in.mp4 -vf scale=224:224:flags=bilinear,format=rgb24 -f rawvideo -pix_fmt rgb24 pipe:1`.split(
        ' ',
      ),
    );
    expect(
      frameDecodeArgs({ file: 'a.mp4', width: 8, height: 8, startMs: 0, durationMs: 1234 }).slice(3, 7),
    ).toEqual(['-ss', '0', '-t', '1.234']);
    expect(frameDecodeArgs({ file: 'in.mp4', width: 64, height: 32 }).join(' ')).toBe(
      `-v error -nostdin ${CONFINED} -i in.mp4 -vf scale=64:32:flags=bilinear,format=rgb24 -f rawvideo -pix_fmt rgb24 pipe:1`,
    );
    // HBI_ALLOWED_CONTAINERS is the list; playlists and lists are dropped from it whatever it says.
    expect(
      frameDecodeArgs({ file: 'in.mkv', width: 8, height: 8, containers: ['matroska', 'hls', 'concat'] }),
    ).toContain('matroska');
    expect(
      frameDecodeArgs({
        file: 'in.mkv',
        width: 8,
        height: 8,
        containers: ['matroska', 'hls', 'concat'],
      }).join(' '),
    ).toContain('-protocol_whitelist file -format_whitelist matroska -i in.mkv');
  });
});

describe('decodeFrames with the system ffmpeg', () => {
  let tools: FfmpegTools;
  let temp: { dir: string; cleanup: () => Promise<void> };
  let clip: string;

  beforeAll(async () => {
    tools = await locateFfmpeg();
    temp = await tempDir('hbi-decode-');
    clip = await makeNumberedClip(tools, temp.dir);
  });
  afterAll(() => temp.cleanup());

  const decode = (request: Partial<Parameters<typeof decodeFrames>[1]> = {}) =>
    decodeFrames(tools, { file: clip, frames: 2, width: 4, height: 4, timeoutMs: 20_000, ...request });

  it('decodes all N frames and keeps frames floor((i+0.5)N/T), scaled to W×H rgb24', async () => {
    const decoded = await decode();
    expect(decoded.decodedFrames).toBe(20);
    expect(decoded.picked).toEqual([5, 15]);
    expect(decoded.frames.length).toBe(2 * 4 * 4 * 3);
    expect(new Set(decoded.frames.subarray(0, 48))).toEqual(new Set([50]));
    expect(new Set(decoded.frames.subarray(48))).toEqual(new Set([150]));
  });

  it('decodes only the requested range (input seeking with -ss and -t)', async () => {
    const decoded = await decode({ startMs: 1_000, durationMs: 1_000, frames: 4 });
    expect(decoded.decodedFrames).toBe(10);
    // Range frames are source frames 10..19; picks 1,3,6,8 of them → source 11,13,16,18.
    expect([0, 1, 2, 3].map((slot) => decoded.frames[slot * 48])).toEqual([110, 130, 160, 180]);
  });

  it('fails with VIDEO_UNREADABLE when the range holds no frame', async () => {
    const error = (await decode({ startMs: 60_000, durationMs: 1_000 }).catch((e: unknown) => e)) as HbiError;
    expect(error.code).toBe('VIDEO_UNREADABLE');
    expect(error.message).toContain('no decodable frame');
  });

  it('fails with VIDEO_UNREADABLE and ffmpeg’s reason for a file that is not a video', async () => {
    const junk = path.join(temp.dir, 'notes.mp4');
    await writeFile(junk, 'these are meeting notes, not a video\n'.repeat(50));
    const error = (await decode({ file: junk }).catch((e: unknown) => e)) as HbiError;
    expect(error.code).toBe('VIDEO_UNREADABLE');
    expect(error.message).toMatch(/Invalid data|could not find|not a readable|Cannot decode/i);
  });

  it('refuses a range that decodes to more frames than allowed', async () => {
    await expect(decode({ maxFrames: 5 })).rejects.toMatchObject({ code: 'VIDEO_TOO_LARGE' });
  });
});
