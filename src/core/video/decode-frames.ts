/**
 * Decodes T frames of one clip exactly as the model was trained (the recipe in the package's
 * `decode` entry and model/hbi/data/recipe.py): ffmpeg scales every frame of the range to W×H with
 * bilinear filtering and writes raw rgb24 to stdout; of the N frames it produced, frame
 * floor((i + 0.5) · N / T) is taken for i = 0 … T-1. Training and serving must not differ here:
 * a parity test compares both sides on the same clip. The input options in front of `-i` only confine
 * what ffmpeg may open (input-guard.ts: that one local file, in an accepted container); they do not
 * change a single decoded frame.
 */
import { HbiError } from '../errors.js';
import { DECODE_FILTER_TEMPLATE } from '../model/contract.js';
import type { FfmpegTools } from './ffmpeg-tools.js';
import { confinedInputArgs, refuseIndirectInput } from './input-guard.js';
import { failureReason, runProcess } from './run-process.js';

export interface DecodeRequest {
  file: string;
  /** Frames to return (T) and their size (H×W), from the manifest's dims. */
  frames: number;
  width: number;
  height: number;
  /** Time range to decode; the whole file when omitted. */
  startMs?: number;
  durationMs?: number;
  timeoutMs: number;
  /** Refuse (VIDEO_TOO_LARGE) a range that decodes to more frames than this. Default 100 000. */
  maxFrames?: number;
  /** Containers (ffmpeg demuxers) the file may be: HBI_ALLOWED_CONTAINERS; default, the platform's default list. */
  containers?: readonly string[];
}

export interface DecodedClip {
  /** [T, H, W, 3] RGB bytes. */
  frames: Uint8Array;
  /** N: frames ffmpeg produced for the range, before sampling. */
  decodedFrames: number;
  /** The N-indices that were kept. */
  picked: number[];
}

/** The exact ffmpeg argument list of the recipe (without the binary), confined to the one input file. */
export function frameDecodeArgs(
  request: Pick<DecodeRequest, 'file' | 'width' | 'height' | 'startMs' | 'durationMs' | 'containers'>,
): string[] {
  return [
    '-v', 'error', '-nostdin',
    ...(request.startMs === undefined ? [] : ['-ss', seconds(request.startMs)]),
    ...(request.durationMs === undefined ? [] : ['-t', seconds(request.durationMs)]),
    ...confinedInputArgs(request.containers),
    '-i', request.file,
    '-vf', DECODE_FILTER_TEMPLATE.replace('{W}', String(request.width)).replace('{H}', String(request.height)),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ]; // prettier-ignore
}

/** Indices of the T frames kept out of N: floor((i + 0.5) · N / T), in integer arithmetic. */
export function sampleIndices(decoded: number, frames: number): number[] {
  return Array.from({ length: frames }, (_, i) => Math.floor(((2 * i + 1) * decoded) / (2 * frames)));
}

/** Decodes and samples one clip; throws VIDEO_UNREADABLE when ffmpeg fails or yields no frame. */
export async function decodeFrames(tools: FfmpegTools, request: DecodeRequest): Promise<DecodedClip> {
  const frameBytes = request.width * request.height * 3;
  const maxFrames = request.maxFrames ?? 100_000;
  await refuseIndirectInput(request.file);
  const frames: Buffer[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let tooMany = false;
  const result = await runProcess(tools.ffmpeg, frameDecodeArgs(request), {
    timeoutMs: request.timeoutMs,
    onStdout(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= frameBytes) {
        frames.push(Buffer.from(pending.subarray(0, frameBytes)));
        pending = pending.subarray(frameBytes);
      }
      tooMany = frames.length > maxFrames;
      return !tooMany;
    },
  });
  if (tooMany) {
    throw new HbiError('VIDEO_TOO_LARGE', `The clip decodes to more than ${maxFrames} frames`, {
      details: { maxFrames },
    });
  }
  if (result.timedOut) throw new HbiError('TIMEOUT', `Decoding took longer than ${request.timeoutMs} ms`);
  if (result.code !== 0) {
    const reason = failureReason(result.stderr, request.file) || `ffmpeg exited with code ${result.code}`;
    throw new HbiError('VIDEO_UNREADABLE', `Cannot decode the video: ${reason}`, { details: { reason } });
  }
  if (pending.length > 0) {
    throw new HbiError('VIDEO_UNREADABLE', `ffmpeg ended inside a frame (${pending.length} stray bytes)`);
  }
  if (frames.length === 0) {
    throw new HbiError('VIDEO_UNREADABLE', 'The video (or the requested range) contains no decodable frame', {
      details: { startMs: request.startMs, durationMs: request.durationMs },
    });
  }
  const picked = sampleIndices(frames.length, request.frames);
  const out = new Uint8Array(request.frames * frameBytes);
  picked.forEach((index, slot) => out.set(frames[index]!, slot * frameBytes));
  return { frames: out, decodedFrames: frames.length, picked };
}

/** Seconds as model/hbi/data/recipe.py writes them (6 decimals, trailing zeros dropped), so argv is identical. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(6).replace(/0+$/, '').replace(/\.$/, '') || '0';
}
