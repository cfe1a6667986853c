/**
 * A 4-hour 1080p recording ingests with bounded memory and progress throughout. The recording is made
 * cheaply in the setup (a 60 s 1080p, 1 frame/s H.264 clip, joined 240 times with ffmpeg's concat
 * demuxer and stream copy: 14,400 frames of 1920×1080). The ingest runs in a child process of its own
 * (the platform's modules, built by the setup as `npm run build` does), which reports its peak RSS and, at every
 * segmentIndexed callback, whether the decode's ffmpeg was still running. No wall-clock assertions.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { locateFfmpeg } from '../../../src/core/video/ffmpeg-tools.js';
import { tempDir } from '../../helpers/fixtures.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD = path.join(ROOT, 'dist');
const MODEL = path.join(ROOT, 'models/hbi-synth-tiny');
const CHILD = path.join(ROOT, 'tests/helpers/long-ingest-child.mjs');
const HOURS = 4;
const PEAK_RSS_LIMIT_KB = 1.5 * 1024 * 1024;

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${command} exited ${code}: ${stderr}`)),
    );
  });
}

interface ChildReport {
  result: { videoId: string; segments: number; alreadyIndexed: boolean };
  progress: { planned: number; indexed: number; whileDecoding: number; mostDecoders: number };
  bootRssKb: number;
  maxRssKb: number;
}

describe.skipIf(process.platform !== 'linux')(`a ${HOURS}-hour 1080p recording`, () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let video: string;

  beforeAll(async () => {
    temp = await tempDir('hbi-long-video-');
    const { ffmpeg } = await locateFfmpeg();
    const part = path.join(temp.dir, 'part.mp4');
    await run(ffmpeg, [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=1920x1080:rate=1', '-t', '60',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '51', '-g', '60', '-pix_fmt', 'yuv420p', part,
    ]); // prettier-ignore
    const list = path.join(temp.dir, 'parts.txt');
    await writeFile(list, `file '${part}'\n`.repeat(HOURS * 60));
    video = path.join(temp.dir, 'long.mp4');
    await run(ffmpeg, ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', video]);
    // The platform as `npm run build` makes it (dist/ resolves prisma/ and models/ next to it).
    await run(process.execPath, [
      path.join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
    ]);
  }, 300_000);
  afterAll(async () => {
    await temp?.cleanup();
  });

  it('ingests in one decode pass with peak RSS under 1.5 GB, reporting each segment while decoding goes on', async () => {
    const output = await run(process.execPath, [CHILD, BUILD, video, path.join(temp.dir, 'data'), MODEL], {
      ...process.env,
      HBI_MAX_VIDEO_SECONDS: String(HOURS * 3600 + 60),
      HBI_LOG_LEVEL: 'warn',
    });
    const report = JSON.parse(output.trim().split('\n').at(-1)!) as ChildReport;
    // 10 s windows with 2 s overlap over 4 h: 1,800 segments, all reported.
    expect(report.result).toMatchObject({ segments: 1_800, alreadyIndexed: false });
    expect(report.progress.planned).toBe(1_800);
    expect(report.progress.indexed).toBe(1_800);
    // One ffmpeg process for the whole video, never more.
    expect(report.progress.mostDecoders).toBe(1);
    // Progress throughout: all but the last few segments were stored while ffmpeg was still decoding.
    expect(report.progress.whileDecoding).toBeGreaterThan(1_790);
    expect(report.maxRssKb).toBeLessThan(PEAK_RSS_LIMIT_KB);
    console.info(
      `${HOURS} h 1080p ingest: peak RSS ${Math.round(report.maxRssKb / 1024)} MiB ` +
        `(${Math.round(report.bootRssKb / 1024)} MiB after boot), ${report.result.segments} segments`,
    );
  }, 900_000);
});
