/**
 * What a browser can play. Chromium (the tested browser, Debian's build) plays H.264, VP9, VP8 and AV1
 * in MP4 and WebM; everything else (MJPEG, HEVC, MPEG-4 part 2, AVI, MPEG-TS, …) gets a rendition made
 * at ingest, H.264 (yuv420p) + AAC in MP4 with the index first (`+faststart`), so playback starts and
 * seeks before the whole file has arrived. The run is confined like every ffmpeg run over an upload.
 */
import { HbiError } from '../errors.js';
import type { FfmpegTools } from '../video/ffmpeg-tools.js';
import { confinedInputArgs, refuseIndirectInput } from '../video/input-guard.js';
import { failureReason, runProcess } from '../video/run-process.js';

/** What playability is judged on: the container's demuxer names and the video codec, as probed. */
export interface PlayabilityFacts {
  formatNames: readonly string[];
  video: { codec: string } | null;
}

const MP4_CODECS = new Set(['h264', 'vp9', 'av1']);
const WEBM_CODECS = new Set(['vp8', 'vp9', 'av1']);

/**
 * The content type to serve the source as when a browser plays it as it is, else null. ffmpeg names
 * MP4/MOV `mov,mp4,…` and WebM/Matroska `matroska,webm`.
 */
export function browserPlayableType(facts: PlayabilityFacts): string | null {
  const codec = facts.video?.codec.toLowerCase();
  if (!codec) return null;
  const formats = new Set(facts.formatNames.map((name) => name.toLowerCase()));
  if (formats.has('mp4') && MP4_CODECS.has(codec)) return 'video/mp4';
  if (formats.has('webm') && WEBM_CODECS.has(codec)) return 'video/webm';
  return null;
}

/** The ffmpeg argv (without the binary) that writes the H.264 MP4 rendition of `file` to `output`. */
export function renditionArgs(file: string, output: string, containers?: readonly string[]): string[] {
  return [
    '-hide_banner', '-nostdin', '-nostats', '-v', 'error',
    ...confinedInputArgs(containers),
    '-i', file,
    '-map', '0:v:0', '-map', '0:a:0?',
    // Even sizes: yuv420p needs them.
    '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k',
    '-movflags', '+faststart', '-f', 'mp4', '-y', output,
  ]; // prettier-ignore
}

/** Transcodes `file` to a browser-playable MP4 at `output`; VIDEO_UNREADABLE or TIMEOUT when it cannot. */
export async function makeRendition(
  tools: FfmpegTools,
  file: string,
  output: string,
  options: { timeoutMs: number; containers?: readonly string[] },
): Promise<void> {
  await refuseIndirectInput(file);
  const result = await runProcess(tools.ffmpeg, renditionArgs(file, output, options.containers), {
    timeoutMs: options.timeoutMs,
  });
  if (result.timedOut) {
    throw new HbiError('TIMEOUT', `Making the playable rendition took longer than ${options.timeoutMs} ms`);
  }
  if (result.code !== 0) {
    const reason = failureReason(result.stderr, file) || `ffmpeg exited with code ${result.code}`;
    throw new HbiError('VIDEO_UNREADABLE', `Cannot make a playable rendition: ${reason}`, {
      details: { reason },
    });
  }
}
