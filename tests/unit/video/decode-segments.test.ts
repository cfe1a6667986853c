import { spawn } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeFrames } from '../../../src/core/video/decode-frames.js';
import type { DecodedSegment } from '../../../src/core/video/decode-segments.js';
import { decodeSegments, segmentPassArgs, toTimeBase } from '../../../src/core/video/decode-segments.js';
import { DecodeSlots, defaultDecodeLimit } from '../../../src/core/video/decode-slots.js';
import type { FfmpegTools } from '../../../src/core/video/ffmpeg-tools.js';
import { locateFfmpeg } from '../../../src/core/video/ffmpeg-tools.js';
import { planSegments } from '../../../src/core/video/segments.js';
import { tempDir } from '../../helpers/fixtures.js';

function ffmpegRun(ffmpeg: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(stderr))));
  });
}

describe('toTimeBase', () => {
  it('rescales milliseconds to a stream time base, rounding to nearest as ffmpeg does', () => {
    expect(toTimeBase(8_000, 1, 15_360)).toBe(122_880n);
    expect(toTimeBase(3_333, 1, 90_000)).toBe(299_970n);
    expect(toTimeBase(1, 1, 1_000)).toBe(1n);
    expect(toTimeBase(1, 1, 30)).toBe(0n); // 0.03 frames
    expect(toTimeBase(17, 1, 30)).toBe(1n); // 0.51 frames
    expect(toTimeBase(14_400_000, 1, 1_000_000)).toBe(14_400_000_000n); // 4 h in µs, past 2^53 in between
  });
});

describe('segmentPassArgs', () => {
  it('is the recipe filter plus a frame-timestamp tap, confined to the one file', () => {
    const args = segmentPassArgs({ file: 'in.mp4', width: 64, height: 48, containers: ['mp4', 'hls'] });
    expect(args.join(' ')).toBe(
      '-hide_banner -nostdin -nostats -v level+info -protocol_whitelist file -format_whitelist mp4 -i in.mp4 ' +
        '-vf scale=64:48:flags=bilinear,format=rgb24,showinfo=checksum=0 -fps_mode passthrough ' +
        '-f rawvideo -pix_fmt rgb24 pipe:1',
    );
  });
});

describe('DecodeSlots', () => {
  it('runs at most `limit` at once, first come first served, and frees a slot on failure', async () => {
    const slots = new DecodeSlots(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const work = (i: number) =>
      slots.run(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 10));
        running -= 1;
        order.push(i);
        if (i === 1) throw new Error('boom');
        return i;
      });
    const outcomes = await Promise.allSettled([0, 1, 2, 3, 4].map(work));
    expect(most).toBe(2);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(slots.active).toBe(0);
    expect(defaultDecodeLimit(16)).toBe(8);
    expect(defaultDecodeLimit(1)).toBe(1);
  });
});

describe('decodeSegments with the system ffmpeg', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let tools: FfmpegTools;
  let mp4: string;
  let mkv: string;
  const dims = { frames: 8, width: 16, height: 16 };

  beforeAll(async () => {
    temp = await tempDir('hbi-decode-segments-');
    tools = await locateFfmpeg();
    mp4 = path.join(temp.dir, 'bframes.mp4');
    mkv = path.join(temp.dir, 'ntsc.mkv');
    // B-frames and a 2 s GOP (seeks land between keyframes); NTSC rate in Matroska's 1 ms time base.
    await ffmpegRun(tools.ffmpeg, [
      '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30', '-t', '25',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '60', '-pix_fmt', 'yuv420p', mp4,
    ]); // prettier-ignore
    await ffmpegRun(tools.ffmpeg, [
      '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=24000/1001', '-t', '25',
      '-c:v', 'libx264', '-bf', '3', '-g', '50', '-pix_fmt', 'yuv420p', mkv,
    ]); // prettier-ignore
  });
  afterAll(async () => {
    await temp?.cleanup();
  });

  const decodeAll = async (file: string, durationMs: number, windowMs: number, overlapMs: number) => {
    const spans = planSegments(durationMs, windowMs, overlapMs);
    const got: DecodedSegment[] = [];
    const summary = await decodeSegments(
      tools,
      { file, spans, ...dims, timeoutMs: 30_000, maxFps: 240 },
      (segment) => {
        got.push(segment);
        return Promise.resolve();
      },
    );
    return { spans, got, summary };
  };

  it.each([
    ['mp4', 10_000, 2_000],
    ['mp4', 3_333, 1_111],
    ['mkv', 10_000, 2_000],
    ['mkv', 3_333, 1_111],
    ['mkv', 2_500, 700],
  ])(
    'gives every segment (%s, window %i ms, overlap %i ms) the very frames a per-window -ss/-t decode gives',
    async (kind, windowMs, overlapMs) => {
      const file = kind === 'mp4' ? mp4 : mkv;
      const durationMs = kind === 'mp4' ? 25_000 : 24_984;
      const { spans, got, summary } = await decodeAll(file, durationMs, windowMs, overlapMs);
      expect(got.map((segment) => segment.span.index)).toEqual(spans.map((span) => span.index));
      expect(summary.segments).toBe(spans.length);
      for (const segment of got) {
        const { span } = segment;
        const alone = await decodeFrames(tools, {
          file,
          ...dims,
          timeoutMs: 30_000,
          startMs: span.startMs,
          durationMs: span.endMs - span.startMs,
        });
        expect({ index: span.index, n: segment.decodedFrames }).toEqual({
          index: span.index,
          n: alone.decodedFrames,
        });
        expect(Buffer.from(segment.frames).equals(Buffer.from(alone.frames))).toBe(true);
      }
    },
  );

  it('decodes a one-segment video whole, exactly as the recipe (and training) does', async () => {
    const spans = planSegments(25_000, 30_000, 2_000);
    const got: DecodedSegment[] = [];
    await decodeSegments(tools, { file: mp4, spans, ...dims, timeoutMs: 30_000, maxFps: 240 }, (s) => {
      got.push(s);
      return Promise.resolve();
    });
    const whole = await decodeFrames(tools, { file: mp4, ...dims, timeoutMs: 30_000 });
    expect(got).toHaveLength(1);
    expect(got[0]!.decodedFrames).toBe(whole.decodedFrames);
    expect(Buffer.from(got[0]!.frames).equals(Buffer.from(whole.frames))).toBe(true);
  });

  it('runs one ffmpeg process per video and pauses it while the consumer is behind', async () => {
    // A wrapper that logs each start, to count processes.
    const log = path.join(temp.dir, 'starts.log');
    const wrapper = path.join(temp.dir, 'ffmpeg-counting.sh');
    await writeFile(wrapper, `#!/bin/sh\necho start >> "${log}"\nexec "${tools.ffmpeg}" "$@"\n`);
    await chmod(wrapper, 0o755);
    const spans = planSegments(25_000, 2_000, 500);
    let inside = 0;
    let most = 0;
    const summary = await decodeSegments(
      { ...tools, ffmpeg: wrapper },
      { file: mp4, spans, ...dims, timeoutMs: 30_000, maxFps: 240, readAhead: 2 },
      async () => {
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 40));
        inside -= 1;
      },
    );
    expect(summary.segments).toBe(spans.length);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(most).toBeLessThanOrEqual(2);
    expect(summary.maxQueued).toBeLessThanOrEqual(2);
    expect(summary.pauses).toBeGreaterThan(0);
  });

  it('refuses frames denser than HBI_MAX_VIDEO_FPS with VIDEO_TOO_LARGE', async () => {
    const spans = planSegments(25_000, 10_000, 2_000);
    await expect(
      decodeSegments(tools, { file: mp4, spans, ...dims, timeoutMs: 30_000, maxFps: 10 }, () =>
        Promise.resolve(),
      ),
    ).rejects.toMatchObject({
      code: 'VIDEO_TOO_LARGE',
      message: expect.stringContaining('HBI_MAX_VIDEO_FPS=10'),
    });
  });

  it('stops at the first failing segment, lets the running ones settle, and throws that error', async () => {
    const spans = planSegments(25_000, 2_000, 0);
    let calls = 0;
    await expect(
      decodeSegments(tools, { file: mp4, spans, ...dims, timeoutMs: 30_000, maxFps: 240 }, () => {
        calls += 1;
        return calls === 3 ? Promise.reject(new Error('encoder broke')) : Promise.resolve();
      }),
    ).rejects.toThrow('encoder broke');
    expect(calls).toBeLessThan(spans.length);
  });

  it('fails a window past the frames with VIDEO_UNREADABLE (the header claims more than the file holds)', async () => {
    const spans = planSegments(60_000, 10_000, 2_000);
    const seen: number[] = [];
    await expect(
      decodeSegments(tools, { file: mp4, spans, ...dims, timeoutMs: 30_000, maxFps: 240 }, (segment) => {
        seen.push(segment.span.index);
        return Promise.resolve();
      }),
    ).rejects.toMatchObject({
      code: 'VIDEO_UNREADABLE',
      message: expect.stringContaining('no decodable frame'),
    });
    expect(seen.length).toBeGreaterThan(0);
  });
});
