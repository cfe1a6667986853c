/**
 * Probes a video file: container, duration, first video stream's codec, size and frame rate. Uses
 * ffprobe's JSON when ffprobe exists, else parses the header ffmpeg prints for `ffmpeg -i FILE` (an
 * HBI_FFMPEG_PATH without ffprobe). Either way the result has the same shape. The file is checked
 * before any ffmpeg process opens it (no playlists, lists or other text: input-guard.ts), and the
 * process may open that one local file only, with a demuxer from the accepted containers.
 */
import { stat } from 'node:fs/promises';

import { HbiError } from '../errors.js';
import type { FfmpegTools } from './ffmpeg-tools.js';
import { DEFAULT_CONTAINERS, allowedFormats, confinedInputArgs, refuseIndirectInput } from './input-guard.js';
import { failureReason, runProcess } from './run-process.js';

export interface VideoProbe {
  /** Demuxer names, e.g. ["mov","mp4","m4a","3gp","3g2","mj2"]. */
  formatNames: string[];
  /** Null when the container does not say. */
  durationMs: number | null;
  sizeBytes: number;
  /** Null when the file has no video stream. */
  video: { codec: string; width: number; height: number; fps: number | null } | null;
  hasAudio: boolean;
}

/**
 * Probes `file`, a file of one of `containers` (HBI_ALLOWED_CONTAINERS); throws VIDEO_FORMAT_UNSUPPORTED
 * for a playlist, list or other container (before or instead of reading it), VIDEO_UNREADABLE (with
 * ffmpeg's reason) when it cannot be read as media.
 */
export async function probeVideo(
  file: string,
  tools: FfmpegTools,
  timeoutMs: number,
  containers: readonly string[] = DEFAULT_CONTAINERS,
): Promise<VideoProbe> {
  const sizeBytes = (await stat(file)).size;
  if (sizeBytes === 0) throw new HbiError('VIDEO_UNREADABLE', 'The video file is empty (0 bytes)');
  await refuseIndirectInput(file);
  const probe = tools.ffprobe
    ? await probeWithFfprobe(file, tools.ffprobe, timeoutMs, containers)
    : await probeWithFfmpeg(file, tools.ffmpeg, timeoutMs, containers);
  return { ...probe, sizeBytes };
}

async function probeWithFfprobe(
  file: string,
  ffprobe: string,
  timeoutMs: number,
  containers: readonly string[],
): Promise<Omit<VideoProbe, 'sizeBytes'>> {
  const result = await runProcess(
    ffprobe,
    [
      '-v', 'error', ...confinedInputArgs(containers),
      '-print_format', 'json', '-show_format', '-show_streams', file,
    ], // prettier-ignore
    { timeoutMs },
  );
  if (result.timedOut) throw new HbiError('TIMEOUT', `Probing the video took longer than ${timeoutMs} ms`);
  refuseOffList(result.stderr, containers);
  if (result.code !== 0) throw unreadable(failureReason(result.stderr, file));
  const json = JSON.parse(result.stdout.toString('utf8')) as {
    format?: { format_name?: string; duration?: string };
    streams?: {
      codec_type?: string;
      codec_name?: string;
      width?: number;
      height?: number;
      avg_frame_rate?: string;
      r_frame_rate?: string;
      duration?: string;
    }[];
  };
  const video = json.streams?.find((stream) => stream.codec_type === 'video');
  const duration = Number.parseFloat(json.format?.duration ?? video?.duration ?? '');
  return {
    formatNames: (json.format?.format_name ?? '').split(',').filter(Boolean),
    durationMs: Number.isFinite(duration) ? Math.round(duration * 1000) : null,
    video: video
      ? {
          codec: video.codec_name ?? 'unknown',
          width: video.width ?? 0,
          height: video.height ?? 0,
          fps: parseRate(video.avg_frame_rate) ?? parseRate(video.r_frame_rate),
        }
      : null,
    hasAudio: json.streams?.some((stream) => stream.codec_type === 'audio') ?? false,
  };
}

async function probeWithFfmpeg(
  file: string,
  ffmpeg: string,
  timeoutMs: number,
  containers: readonly string[],
): Promise<Omit<VideoProbe, 'sizeBytes'>> {
  // Without an output ffmpeg prints the input header and exits 1 ("At least one output file must be specified").
  const result = await runProcess(
    ffmpeg,
    ['-hide_banner', '-nostdin', ...confinedInputArgs(containers), '-i', file],
    { timeoutMs, maxStderr: 64_000 },
  );
  if (result.timedOut) throw new HbiError('TIMEOUT', `Probing the video took longer than ${timeoutMs} ms`);
  refuseOffList(result.stderr, containers);
  return parseFfmpegHeader(result.stderr, file);
}

/**
 * VIDEO_FORMAT_UNSUPPORTED when ffmpeg detected a demuxer outside `-format_whitelist` (it stops before
 * that demuxer reads anything): the same answer `validateVideo` gives a container off the list.
 */
export function refuseOffList(stderr: string, containers: readonly string[]): void {
  const detected = /\[([\w,]+) @ [^\]]*\] Format not on whitelist/.exec(stderr)?.[1];
  if (detected === undefined) return;
  const allowed = allowedFormats(containers);
  throw new HbiError(
    'VIDEO_FORMAT_UNSUPPORTED',
    `Container ${detected} is not accepted (allowed: ${allowed.join(', ')})`,
    { details: { container: detected.split(','), allowed } },
  );
}

/** Parses the `Input #0 …` header ffmpeg prints to stderr; exported for tests. */
export function parseFfmpegHeader(stderr: string, file = ''): Omit<VideoProbe, 'sizeBytes'> {
  const input = /^Input #0, (.+?), from '/m.exec(stderr);
  if (!input) throw unreadable(failureReason(stderr, file));
  const duration = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(stderr);
  const videoLine = /Stream #0:\d+.*?: Video: (.+)$/m.exec(stderr)?.[1];
  let video: VideoProbe['video'] = null;
  if (videoLine) {
    const size = /(?:^|[ ,])(\d+)x(\d+)(?=[ ,]|$)/.exec(videoLine);
    const fps = /([\d.]+) fps/.exec(videoLine);
    video = {
      codec: /^(\w+)/.exec(videoLine)?.[1] ?? 'unknown',
      width: size ? Number(size[1]) : 0,
      height: size ? Number(size[2]) : 0,
      fps: fps ? Number(fps[1]) : null,
    };
  }
  return {
    formatNames: input[1]!.split(','),
    durationMs: duration
      ? Math.round((Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])) * 1000)
      : null,
    video,
    hasAudio: /Stream #0:\d+.*?: Audio: /m.test(stderr),
  };
}

function parseRate(rate: string | undefined): number | null {
  const match = /^(\d+)\/(\d+)$/.exec(rate ?? '');
  if (!match || Number(match[2]) === 0) return null;
  const value = Number(match[1]) / Number(match[2]);
  return value > 0 ? value : null;
}

function unreadable(lastWords: string): HbiError {
  const reason = lastWords || 'no media header found';
  return new HbiError('VIDEO_UNREADABLE', `The file is not a readable video: ${reason}`, {
    details: { reason },
  });
}
