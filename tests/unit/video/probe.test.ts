import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { HbiError } from '../../../src/core/errors.js';
import type { FfmpegTools } from '../../../src/core/video/ffmpeg-tools.js';
import { locateFfmpeg } from '../../../src/core/video/ffmpeg-tools.js';
import { parseFfmpegHeader, probeVideo } from '../../../src/core/video/probe.js';
import { tempDir } from '../../helpers/fixtures.js';
import { makeMp4, systemFfmpeg } from '../../helpers/videos.js';

let temp: { dir: string; cleanup: () => Promise<void> };
let system: FfmpegTools;
/** The system ffmpeg without ffprobe: probing parses `ffmpeg -i` (an HBI_FFMPEG_PATH without ffprobe). */
let ffmpegOnly: FfmpegTools;
let mp4: string;

beforeAll(async () => {
  temp = await tempDir('hbi-probe-');
  system = await systemFfmpeg();
  ffmpegOnly = { ...system, ffprobe: null };
  mp4 = await makeMp4(system, temp.dir);
});
afterAll(() => temp.cleanup());

describe('locateFfmpeg', () => {
  it('finds the system ffmpeg and ffprobe', async () => {
    expect(await locateFfmpeg()).toEqual({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe', source: 'system' });
  });

  it('has no bundled fallback: without a system ffmpeg it refuses, naming the install command', async () => {
    const missing = { ffmpeg: 'hbi-no-such-ffmpeg', ffprobe: 'hbi-no-such-ffprobe' };
    await expect(locateFfmpeg({ systemNames: missing })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('bash infra/system-packages.sh install'),
    });
  });

  it('refuses a configured path that does not run, naming the fix', async () => {
    await expect(locateFfmpeg({ ffmpegPath: '/nonexistent/ffmpeg' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining('bash infra/system-packages.sh install'),
    });
  });
});

describe('probeVideo', () => {
  it('reads container, duration, codec, size and rate — the same with ffprobe or by parsing ffmpeg -i', async () => {
    const expected = {
      formatNames: ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2'],
      durationMs: 2_000,
      video: { codec: 'h264', width: 64, height: 48, fps: 10 },
      hasAudio: false,
    };
    const viaFfmpeg = await probeVideo(mp4, ffmpegOnly, 20_000);
    expect(viaFfmpeg).toMatchObject(expected);
    // ffprobe's JSON and parsing `ffmpeg -i` agree.
    expect(system.ffprobe).not.toBeNull();
    expect(await probeVideo(mp4, system, 20_000)).toEqual(viaFfmpeg);
  });

  it.each([
    ['an empty file', Buffer.alloc(0), /empty \(0 bytes\)/],
    ['a text file named .mp4', Buffer.from('hello, I am text\n'.repeat(100)), /not a readable video/],
  ])('refuses %s with VIDEO_UNREADABLE, with either tool', async (_label, content, message) => {
    const file = path.join(temp.dir, `bad-${content.length}.mp4`);
    await writeFile(file, content);
    for (const tools of [system, ffmpegOnly]) {
      const error = (await probeVideo(file, tools, 20_000).catch((e: unknown) => e)) as HbiError;
      expect(error.code).toBe('VIDEO_UNREADABLE');
      expect(error.message).toMatch(message);
      // The reason reaches clients: it names the file, never the server folder it lives in.
      expect(JSON.stringify([error.message, error.details])).not.toContain(temp.dir);
    }
  });

  it('refuses a truncated MP4 (no index) with VIDEO_UNREADABLE', async () => {
    const bytes = await readFile(mp4);
    const file = path.join(temp.dir, 'truncated.mp4');
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 3)));
    for (const tools of [system, ffmpegOnly]) {
      const error = (await probeVideo(file, tools, 20_000).catch((e: unknown) => e)) as HbiError;
      expect(error.code).toBe('VIDEO_UNREADABLE');
      expect(error.message).toContain('truncated.mp4');
      expect(error.message).not.toContain(temp.dir);
    }
  });
});

describe('parseFfmpegHeader', () => {
  it('parses a header with audio, a rotated phone stream and decimals in fps', () => {
    const header = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mov':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 8000 kb/s
  Stream #0:0[0x1](und): Video: hevc (Main) (hvc1 / 0x31637668), yuv420p(tv, bt709), 1920x1080, 7900 kb/s, 29.97 fps, 29.97 tbr, 600 tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 96 kb/s (default)
At least one output file must be specified`;
    expect(parseFfmpegHeader(header)).toEqual({
      formatNames: ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2'],
      durationMs: 62_500,
      video: { codec: 'hevc', width: 1920, height: 1080, fps: 29.97 },
      hasAudio: true,
    });
  });

  it('reports an unknown duration as null', () => {
    const header = `Input #0, mpegts, from 'cam.ts':\n  Duration: N/A, start: 1.4\n    Stream #0:0[0x100]: Video: h264 (Main), yuv420p, 640x360, 25 fps`;
    expect(parseFfmpegHeader(header).durationMs).toBeNull();
  });
});
