/**
 * Decodes every segment of a video in ONE ffmpeg pass: the process reads the file once and writes each
 * decoded frame, scaled by the recipe's filter (decode-frames.ts), as raw rgb24 to stdout, in
 * presentation order. Frames are dealt to the segments whose window holds their timestamp as they
 * stream; when a segment's window closes, its T frames are sampled and handed to `onSegment` (the
 * encoder) while decoding goes on. Memory stays bounded: only the frames of the windows still open are
 * held (at most window × HBI_MAX_VIDEO_FPS frames each, shared between overlapping windows), and when
 * `readAhead` segments are waiting for `onSegment`, stdout is paused, so ffmpeg blocks on its write
 * instead of racing ahead.
 *
 * The frames of a segment are those the recipe's per-window decode (`-ss S -t D` before `-i`) keeps,
 * computed from timestamps the way ffmpeg 5's accurate seek and input `-t` do: the frames with
 * presentation time t ≥ S (S rounded to the stream's time base), up to but excluding the first frame
 * with t − t₀ ≥ D, where t₀ is the segment's first frame. Of its N frames the recipe's
 * floor((i + 0.5) · N / T) are kept. For files whose container seeks exactly (MP4/MOV, Matroska/WebM)
 * this is frame for frame what per-window decodes gave; where ffmpeg's seek lands late (MPEG-TS, AVI)
 * the per-window decode lost frames at the start of a window, the single pass does not. A video that is
 * one segment is decoded whole with the recipe's exact argv, as training decoded its clips.
 *
 * The timestamps come from a `showinfo` filter after the recipe's filter (it reads frames, it does not
 * change them), parsed from stderr; `-fps_mode passthrough` writes each filtered frame exactly once, so
 * the n-th frame on stdout is the n-th `showinfo` line.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';

import { HbiError, toHbiError } from '../errors.js';
import { DECODE_FILTER_TEMPLATE } from '../model/contract.js';
import { frameDecodeArgs, sampleIndices } from './decode-frames.js';
import type { FfmpegTools } from './ffmpeg-tools.js';
import { confinedInputArgs, refuseIndirectInput } from './input-guard.js';
import { failureReason } from './run-process.js';
import type { PreviewOutputs, Previews } from './preview-outputs.js';
import {
  PreviewTracker,
  collectPreviews,
  previewOutputArgs,
  thumbnailFilter,
  thumbnailScript,
} from './preview-outputs.js';
import type { SegmentSpan } from './segments.js';

export interface SegmentDecodeRequest {
  file: string;
  /** The segments to decode (planSegments), in order of start. */
  spans: readonly SegmentSpan[];
  /** Frames per segment (T) and their size (H×W), from the manifest's dims. */
  frames: number;
  width: number;
  height: number;
  /** Longest ffmpeg may go without producing a frame while it is read (paused time does not count). */
  timeoutMs: number;
  /**
   * Most frames a second of video may decode to (HBI_MAX_VIDEO_FPS): a segment decoding to more than
   * its length × this (+ one second's worth) is refused with VIDEO_TOO_LARGE, as is a whole video.
   */
  maxFps: number;
  /** Containers (ffmpeg demuxers) the file may be: HBI_ALLOWED_CONTAINERS. */
  containers?: readonly string[];
  /** Sampled segments allowed to wait for (or be inside) `onSegment` before stdout is paused. Default 4. */
  readAhead?: number;
  /** Also write a thumbnail per segment and a poster into this folder, from the same decode (preview-outputs.ts). */
  previews?: PreviewOutputs;
}

export interface DecodedSegment {
  span: SegmentSpan;
  /** [T, H, W, 3] RGB bytes. */
  frames: Uint8Array;
  /** N: frames of the segment's window, before sampling. */
  decodedFrames: number;
  /** The N-indices that were kept. */
  picked: number[];
}

export interface SegmentDecodeSummary {
  segments: number;
  /** Frames ffmpeg wrote (every frame of the file up to the last window's end). */
  decodedFrames: number;
  /** The most sampled segments that were waiting for `onSegment` at once. */
  maxQueued: number;
  /** How many times stdout was paused because `onSegment` fell behind. */
  pauses: number;
  /** The thumbnails and poster written, when the request asked for them. */
  previews?: Previews;
}

/** The ffmpeg argv (without the binary) of the single pass over a multi-segment video. */
export function segmentPassArgs(
  request: Pick<SegmentDecodeRequest, 'file' | 'width' | 'height' | 'containers'>,
): string[] {
  const filter = DECODE_FILTER_TEMPLATE.replace('{W}', String(request.width)).replace(
    '{H}',
    String(request.height),
  );
  return [
    '-hide_banner', '-nostdin', '-nostats', '-v', 'level+info',
    ...confinedInputArgs(request.containers),
    '-i', request.file,
    '-vf', `${filter},showinfo=checksum=0`,
    '-fps_mode', 'passthrough',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ]; // prettier-ignore
}

/**
 * The argv ingest runs for `spans`: the recipe's whole-file decode for one segment, else the single
 * pass; with `previews`, the preview outputs follow (the raw frames' output is unchanged by them).
 */
export function videoDecodeArgs(
  request: Pick<SegmentDecodeRequest, 'file' | 'width' | 'height' | 'containers' | 'spans' | 'previews'>,
): string[] {
  const frames = request.spans.length === 1 ? frameDecodeArgs(request) : segmentPassArgs(request);
  return request.previews ? [...frames, ...previewOutputArgs(request.previews, request.spans)] : frames;
}

/** `ms` milliseconds in a time base of num/den seconds, rounded to nearest (ties away from zero), as av_rescale_q. */
export function toTimeBase(ms: number, num: number, den: number): bigint {
  const numerator = BigInt(Math.round(ms * 1000)) * BigInt(den);
  const denominator = 1_000_000n * BigInt(num);
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const rounded = (2n * magnitude + denominator) / (2n * denominator);
  return negative ? -rounded : rounded;
}

interface OpenWindow {
  span: SegmentSpan;
  /** Start and length in the stream's time base (set once the time base is known). */
  start: bigint;
  length: bigint;
  first: bigint | null;
  closed: boolean;
  frames: Buffer[];
  maxFrames: number;
}

/**
 * Decodes `request.spans` in one ffmpeg process and calls `onSegment` for each segment as its window
 * closes (in order of end, which for planSegments' equal windows is their order), at most `readAhead`
 * at once. Throws VIDEO_UNREADABLE (ffmpeg failed, or a window holds no frame), VIDEO_TOO_LARGE (more
 * frames than HBI_MAX_VIDEO_FPS allows), TIMEOUT, or the first error of `onSegment` (after the calls
 * already started settle; the process is killed and nothing else starts).
 */
export async function decodeSegments(
  tools: FfmpegTools,
  request: SegmentDecodeRequest,
  onSegment: (segment: DecodedSegment) => Promise<void>,
): Promise<SegmentDecodeSummary> {
  if (request.spans.length === 0) return { segments: 0, decodedFrames: 0, maxQueued: 0, pauses: 0 };
  await refuseIndirectInput(request.file);
  const whole = request.spans.length === 1;
  const tracker = request.previews ? new PreviewTracker(request.spans) : null;
  if (request.previews) await writeFile(thumbnailScript(request.previews), thumbnailFilter(request.spans));
  const frameBytes = request.width * request.height * 3;
  const readAhead = Math.max(1, request.readAhead ?? 4);
  const framesFor = (ms: number) => Math.ceil((ms / 1000) * request.maxFps) + Math.ceil(request.maxFps);
  const windows: OpenWindow[] = request.spans.map((span) => ({
    span,
    start: 0n,
    length: 0n,
    first: null,
    closed: false,
    frames: [],
    maxFrames: framesFor(span.endMs - span.startMs),
  }));

  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(tools.ffmpeg, videoDecodeArgs(request), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let failure: unknown = null;
  let finished = false;
  let decodedFrames = 0;
  let nextWindow = 0;
  let timeBase: [number, number] | null = null;
  const timestamps: (bigint | null)[] = [];
  const unstamped: Buffer[] = [];
  let lastPts: bigint | null = null;
  let pending: Buffer = Buffer.alloc(0);
  let stderrTail = '';
  let stderrLine = '';
  const diagnostics: string[] = [];

  // Sampled segments waiting for onSegment, and the calls running.
  const queue: DecodedSegment[] = [];
  let running = 0;
  let produced = 0;
  let maxQueued = 0;
  let pauses = 0;
  let paused = false;
  let exited = false;
  let onResume: (() => void) | null = null;
  let settleAll: () => void = () => {};
  const allSettled = new Promise<void>((resolve) => (settleAll = resolve));

  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const armTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, request.timeoutMs);
  };
  const stop = (error: unknown) => {
    failure ??= error;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  const checkDone = () => {
    if (finished && running === 0 && queue.length === 0) settleAll();
  };
  const pump = () => {
    while (failure === null && running < readAhead && queue.length > 0) {
      const segment = queue.shift()!;
      running += 1;
      onSegment(segment)
        .catch((error: unknown) => stop(error))
        .finally(() => {
          running -= 1;
          pump();
          checkDone();
        });
    }
    if (failure !== null) queue.length = 0;
    const backlog = queue.length + running;
    if (paused && backlog < readAhead && !finished) {
      paused = false;
      if (!exited) {
        child.stdout.resume();
        armTimer();
      }
      onResume?.();
      onResume = null;
      matchFrames();
    }
    checkDone();
  };
  const emit = (window: OpenWindow) => {
    if (failure !== null) return;
    if (window.frames.length === 0) {
      stop(
        new HbiError(
          'VIDEO_UNREADABLE',
          `Segment ${window.span.index} (${window.span.startMs}–${window.span.endMs} ms) contains no decodable frame`,
          { details: { startMs: window.span.startMs, endMs: window.span.endMs } },
        ),
      );
      return;
    }
    const picked = sampleIndices(window.frames.length, request.frames);
    const out = new Uint8Array(request.frames * frameBytes);
    picked.forEach((index, slot) => out.set(window.frames[index]!, slot * frameBytes));
    queue.push({ span: window.span, frames: out, decodedFrames: window.frames.length, picked });
    window.frames = [];
    produced += 1;
    maxQueued = Math.max(maxQueued, queue.length);
    pump();
    if (queue.length + running >= readAhead && !paused && failure === null) {
      paused = true;
      pauses += 1;
      child.stdout.pause();
      clearTimeout(timer);
    }
  };
  const tooMany = (limit: number, what: string) =>
    new HbiError(
      'VIDEO_TOO_LARGE',
      `${what} decodes to more than ${limit} frames, over HBI_MAX_VIDEO_FPS=${request.maxFps} frames a second: ` +
        'the file has a higher frame rate than accepted or wrong timestamps (re-encode it at a lower frame rate, or raise HBI_MAX_VIDEO_FPS)',
      { details: { maxFrames: limit, maxFps: request.maxFps } },
    );

  /** Deals one frame with its presentation timestamp to the windows. */
  const deal = (frame: Buffer, pts: bigint | null) => {
    decodedFrames += 1;
    if (whole) {
      const window = windows[0]!;
      window.frames.push(frame);
      if (window.frames.length > window.maxFrames) stop(tooMany(window.maxFrames, 'The video'));
      return;
    }
    if (timeBase === null) {
      stop(new HbiError('VIDEO_UNREADABLE', 'ffmpeg reported no time base for the video stream'));
      return;
    }
    // A frame without a timestamp (rare) counts as at the previous one's time.
    const t = pts ?? lastPts ?? 0n;
    lastPts = t;
    // The thumbnail filter's `t`: the pts (as a double) times the time base (as a double).
    tracker?.frame(Number(t) * (timeBase[0] / timeBase[1]));
    for (let i = nextWindow; i < windows.length; i++) {
      const window = windows[i]!;
      if (t < window.start) break; // windows are in order of start: none further has begun either
      if (window.closed) continue;
      window.first ??= t;
      if (t - window.first >= window.length) {
        // ffmpeg's -t: the window ends at its first frame past its length.
        window.closed = true;
        continue;
      }
      window.frames.push(frame);
      if (window.frames.length > window.maxFrames) {
        stop(tooMany(window.maxFrames, `Segment ${window.span.index}`));
        return;
      }
    }
    // Closed windows are handed on in order (with timestamps out of order one may close early).
    while (nextWindow < windows.length && windows[nextWindow]!.closed && failure === null) {
      emit(windows[nextWindow]!);
      nextWindow += 1;
    }
    // Every window closed: the rest of the file (a duration the header understated) is not decoded.
    if (nextWindow === windows.length && failure === null) {
      finished = true;
      child.kill('SIGKILL');
    }
  };
  /** Deals the frames read so far, while the consumer keeps up (frames wait while paused). */
  function matchFrames(): void {
    while (!paused && failure === null && !finished && unstamped.length > 0) {
      if (whole) deal(unstamped.shift()!, null);
      else if (timestamps.length > 0) deal(unstamped.shift()!, timestamps.shift()!);
      else break;
    }
  }

  child.stdout.on('data', (chunk: Buffer) => {
    if (failure !== null || finished) return;
    armTimer();
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.length - offset >= frameBytes && failure === null && !finished) {
      // A copy: the chunk is far larger than one frame and would otherwise stay alive with it.
      const frame = Buffer.from(pending.subarray(offset, offset + frameBytes));
      offset += frameBytes;
      unstamped.push(frame);
    }
    pending = pending.subarray(offset);
    matchFrames();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    const text = stderrLine + chunk.toString('utf8');
    const lines = text.split('\n');
    stderrLine = lines.pop() ?? '';
    for (const line of lines) readStderrLine(line);
    matchFrames();
  });
  const readStderrLine = (line: string) => {
    if (whole) {
      stderrTail = (stderrTail + line + '\n').slice(-8_000);
      return;
    }
    const level = /^(?:\[[^\]]* @ [^\]]*\] )?\[(\w+)\] ?(.*)$/.exec(line);
    if (!level) return;
    const [, name, rest] = level;
    if (name !== 'info') {
      diagnostics.push(line.replace(/\[(?:warning|error|fatal|panic)\] /, ''));
      if (diagnostics.length > 20) diagnostics.shift();
      return;
    }
    const frame = /^n:\s*\d+ pts:\s*(-?\d+|NOPTS)/.exec(rest!);
    if (frame) {
      timestamps.push(frame[1] === 'NOPTS' ? null : BigInt(frame[1]!));
      return;
    }
    const base = /config in time_base: (\d+)\/(\d+)/.exec(rest!);
    if (base && timeBase === null) {
      timeBase = [Number(base[1]), Number(base[2])];
      const [num, den] = timeBase;
      if (!(num > 0 && den > 0)) {
        stop(new HbiError('VIDEO_UNREADABLE', 'The video stream has no usable time base'));
        return;
      }
      for (const window of windows) {
        window.start = toTimeBase(window.span.startMs, num, den);
        window.length = toTimeBase(window.span.endMs - window.span.startMs, num, den);
      }
    }
  };

  armTimer();
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal }));
    },
  ).finally(() => {
    exited = true;
    clearTimeout(timer);
  });
  if (stderrLine) readStderrLine(stderrLine);
  // The frames still read but not dealt (the consumer was behind) are dealt as it catches up.
  matchFrames();
  while (paused && failure === null && !finished && unstamped.length > 0) {
    await new Promise<void>((resolve) => (onResume = resolve));
  }

  if (failure === null && !finished) {
    if (timedOut) {
      failure = new HbiError(
        'TIMEOUT',
        `Decoding produced no frame for ${request.timeoutMs} ms (HBI_DECODE_TIMEOUT_MS)`,
      );
    } else if (exit.code !== 0) {
      const stderr = whole ? stderrTail : diagnostics.join('\n');
      const reason = failureReason(stderr, request.file) || `ffmpeg exited with code ${exit.code}`;
      failure = new HbiError('VIDEO_UNREADABLE', `Cannot decode the video: ${reason}`, {
        details: { reason },
      });
    } else if (pending.length > 0) {
      failure = new HbiError(
        'VIDEO_UNREADABLE',
        `ffmpeg ended inside a frame (${pending.length} stray bytes)`,
      );
    } else if (unstamped.length > 0) {
      failure = new HbiError(
        'VIDEO_UNREADABLE',
        'ffmpeg wrote frames it did not report; cannot place them in time',
      );
    } else {
      // The end of the file closes every window still open, in order, as the consumer keeps up.
      for (let i = nextWindow; i < windows.length && failure === null; i++) {
        while (paused && failure === null) await new Promise<void>((resolve) => (onResume = resolve));
        if (failure === null) emit(windows[i]!);
      }
      nextWindow = windows.length;
    }
  }
  finished = true;
  pump();
  await allSettled;
  if (failure !== null) throw failure instanceof Error ? failure : toHbiError(failure);
  const summary: SegmentDecodeSummary = { segments: produced, decodedFrames, maxQueued, pauses };
  if (request.previews && tracker) {
    // One segment: the recipe's decode reports no timestamps, and its one thumbnail is the first kept frame.
    const assigned = whole ? new Map([[request.spans[0]!.index, 0]]) : tracker.assigned;
    summary.previews = await collectPreviews(request.previews, assigned);
  }
  return summary;
}
