/** Makes small test videos with whichever ffmpeg the platform found (system or the npm one); `systemFfmpeg` for tests that need the system one. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';

import type { FfmpegTools } from '../../src/core/video/ffmpeg-tools.js';
import { locateFfmpeg } from '../../src/core/video/ffmpeg-tools.js';

function run(ffmpeg: string, args: string[], stdin?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg failed (${code}): ${stderr}`)),
    );
    if (stdin) child.stdin!.end(stdin);
  });
}

/**
 * A lossless 8×8 clip at 10 fps whose frame k is a uniform grey of value 10·k, so a test can tell
 * exactly which source frame a decoded frame came from (bilinear scaling keeps a uniform frame uniform).
 */
export async function makeNumberedClip(tools: FfmpegTools, dir: string, frames = 20): Promise<string> {
  const file = path.join(dir, `numbered-${frames}.mkv`);
  const raw = Buffer.alloc(frames * 8 * 8 * 3);
  for (let k = 0; k < frames; k++) raw.fill(10 * k, k * 192, (k + 1) * 192);
  await run(tools.ffmpeg, [
    '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '8x8', '-r', '10', '-i', 'pipe:0',
    '-c:v', 'ffv1', '-pix_fmt', 'bgr0', file,
  ], raw); // prettier-ignore
  return file;
}

/** A 2 s, 64×48, 10 fps H.264 MP4 test pattern (the common upload case). */
export async function makeMp4(tools: FfmpegTools, dir: string): Promise<string> {
  const file = path.join(dir, 'pattern.mp4');
  await run(tools.ffmpeg, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-t', '2',
    '-pix_fmt', 'yuv420p', '-c:v', 'libx264', file,
  ]); // prettier-ignore
  return file;
}

/** A 1 s (or `seconds`), 32×32, 10 fps H.264 MP4 of one solid colour (distinct bytes per colour, so distinct videos). */
export async function makeColorMp4(
  tools: FfmpegTools,
  dir: string,
  color: string,
  seconds = 1,
): Promise<string> {
  const file = path.join(dir, `${color}.mp4`);
  await run(tools.ffmpeg, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${color}:size=32x32:rate=10`, '-t', String(seconds),
    '-pix_fmt', 'yuv420p', '-c:v', 'libx264', file,
  ]); // prettier-ignore
  return file;
}

/**
 * One H.264 MP4 of `clips` played back to back (ffmpeg's concat demuxer, re-encoded so every clip
 * starts on a keyframe and seeking by time is exact); clips must share size and frame rate.
 */
export async function concatClips(
  tools: FfmpegTools,
  clips: readonly string[],
  file: string,
): Promise<string> {
  const list = `${file}.txt`;
  await writeFile(list, clips.map((clip) => `file '${clip.replaceAll("'", "'\\''")}'`).join('\n'));
  await run(tools.ffmpeg, [
    '-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list,
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-an', file,
  ]); // prettier-ignore
  return file;
}

/** A 1 s, 1 fps H.264 MP4 of one colour at `width`×`height`: a few KB even when the frame size is huge. */
export async function makeSizedMp4(
  tools: FfmpegTools,
  dir: string,
  width: number,
  height: number,
): Promise<string> {
  const file = path.join(dir, `sized-${width}x${height}.mp4`);
  await run(tools.ffmpeg, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=gray:size=${width}x${height}:rate=1`, '-t', '1',
    '-pix_fmt', 'yuv420p', '-c:v', 'libx264', file,
  ]); // prettier-ignore
  return file;
}

/**
 * The system's ffmpeg with ffprobe, which the test command installs before its first tier
 * (`infra/system-packages.sh`). Tests that need it call this instead of quietly testing less: when it
 * is missing they fail with the tool's name and the fix.
 */
export async function systemFfmpeg(): Promise<FfmpegTools & { ffprobe: string }> {
  const tools = await locateFfmpeg();
  const missing = [tools.source === 'system' ? null : 'ffmpeg', tools.ffprobe ? null : 'ffprobe'].filter(
    (name): name is string => name !== null,
  );
  if (missing.length > 0) {
    throw new Error(
      `This test needs the system ${missing.join(' and ')} (Debian's ffmpeg package), which is missing: ` +
        `run \`bash infra/system-packages.sh install\` as root (\`npm test\` does it before the first tier).`,
    );
  }
  return tools as FfmpegTools & { ffprobe: string };
}
