/**
 * The fallback when ingest's decode could not write the previews itself (preview-outputs.ts): a
 * thumbnail per segment and a poster per video in ONE extra ffmpeg run: a `select` filter keeps, for each
 * segment, the first frame at or after the middle of its window (nothing is encoded for the frames in
 * between), scales it to at most 320 px wide and writes it as a JPEG; the frame at the middle segment's
 * midpoint also becomes the poster, at most 640 px wide. Reading stops one second past the last
 * midpoint. The run is confined like every other ffmpeg run over an upload (input-guard.ts).
 *
 * Which file belongs to which segment is read from the timestamps a `showinfo` filter reports for the
 * kept frames (two midpoints inside one long frame share that frame), not assumed from the order.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import { HbiError } from '../errors.js';
import type { FfmpegTools } from '../video/ffmpeg-tools.js';
import { confinedInputArgs, refuseIndirectInput } from '../video/input-guard.js';
import { failureReason, runProcess } from '../video/run-process.js';
import type { Previews } from '../video/preview-outputs.js';
import { POSTER_WIDTH, THUMBNAIL_WIDTH } from '../video/preview-outputs.js';
import type { SegmentSpan } from '../video/segments.js';

export interface PreviewRequest {
  file: string;
  /** The video's segments (planSegments). */
  spans: readonly SegmentSpan[];
  /** An empty folder the JPEGs are written to. */
  outDir: string;
  containers?: readonly string[];
  timeoutMs: number;
}

/** Seconds with millisecond precision, as ffmpeg expressions read them. */
const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** The middle of each span, in ms. */
export function midpoints(spans: readonly SegmentSpan[]): number[] {
  return spans.map((span) => (span.startMs + span.endMs) / 2);
}

/** The ffmpeg argv (without the binary) of the preview run. */
export function previewArgs(request: PreviewRequest): string[] {
  const mids = midpoints(request.spans);
  // First frame at or after each midpoint: t ≥ m while the previous frame was not (prev_t is NAN at first).
  const keep = mids.map((m) => `gte(t,${seconds(m)})*not(gte(prev_t,${seconds(m)}))`).join('+');
  const posterAt = seconds(mids[Math.floor(mids.length / 2)] ?? 0);
  const graph =
    `[0:v:0]select='${keep}',showinfo=checksum=0,split=2[keep][poster];` +
    `[keep]scale='min(${THUMBNAIL_WIDTH},iw)':-2[thumbs];` +
    `[poster]select='gte(t,${posterAt})*isnan(prev_selected_t)',scale='min(${POSTER_WIDTH},iw)':-2[posterout]`;
  const readFor = seconds(Math.max(...mids, 0) + 1000);
  return [
    '-hide_banner', '-nostdin', '-nostats', '-v', 'level+info',
    ...confinedInputArgs(request.containers),
    '-t', readFor,
    '-i', request.file,
    '-filter_complex', graph,
    '-map', '[thumbs]', '-fps_mode', 'passthrough', '-q:v', '5', '-f', 'image2',
    path.join(request.outDir, 't%06d.jpg'),
    '-map', '[posterout]', '-fps_mode', 'passthrough', '-frames:v', '1', '-q:v', '4', '-f', 'image2', '-update', '1',
    path.join(request.outDir, 'poster.jpg'),
  ]; // prettier-ignore
}

/** Presentation times (seconds) of the frames the preview run kept, in order, from showinfo's lines. */
export function keptFrameTimes(stderr: string): number[] {
  const times: number[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('Parsed_showinfo')) continue;
    const match = /\bpts_time:\s*(-?[0-9.]+)/.exec(line);
    if (match) times.push(Number(match[1]));
  }
  return times;
}

/** Segment index → 0-based kept frame: the first kept frame at or after the segment's midpoint. */
export function assignFrames(spans: readonly SegmentSpan[], times: readonly number[]): Map<number, number> {
  const assigned = new Map<number, number>();
  let next = 0;
  spans.forEach((span, i) => {
    const mid = midpoints([span])[0]! / 1000 - 0.0005; // ffmpeg rounds timestamps to its time base
    while (next < times.length && times[next]! < mid) next += 1;
    if (next < times.length) assigned.set(span.index, next);
    else if (i > 0 && times.length > 0 && times.at(-1)! <= span.endMs / 1000) {
      // The header promised more than the stream holds: the last frame stands in for the tail.
      assigned.set(span.index, times.length - 1);
    }
  });
  return assigned;
}

/**
 * Runs the preview pass over `request.file`. Throws VIDEO_UNREADABLE when ffmpeg fails and TIMEOUT
 * past `timeoutMs`; the caller treats both as "no previews", never as a failed ingest.
 */
export async function extractPreviews(tools: FfmpegTools, request: PreviewRequest): Promise<Previews> {
  if (request.spans.length === 0) return { thumbnails: new Map(), poster: null };
  await refuseIndirectInput(request.file);
  const result = await runProcess(tools.ffmpeg, previewArgs(request), {
    timeoutMs: request.timeoutMs,
    // One showinfo line (~200 characters) per kept frame, plus ffmpeg's header.
    maxStderr: 64_000 + request.spans.length * 400,
  });
  if (result.timedOut) {
    throw new HbiError('TIMEOUT', `Making thumbnails took longer than ${request.timeoutMs} ms`);
  }
  if (result.code !== 0) {
    const reason = failureReason(result.stderr, request.file) || `ffmpeg exited with code ${result.code}`;
    throw new HbiError('VIDEO_UNREADABLE', `Cannot make thumbnails: ${reason}`, { details: { reason } });
  }
  const names = new Set(await readdir(request.outDir));
  const files = [...names].filter((name) => /^t\d{6}\.jpg$/.test(name)).sort();
  const times = keptFrameTimes(result.stderr).slice(0, files.length);
  const thumbnails = new Map<number, string>();
  for (const [index, frame] of assignFrames(request.spans, times)) {
    thumbnails.set(index, path.join(request.outDir, files[frame]!));
  }
  return { thumbnails, poster: names.has('poster.jpg') ? path.join(request.outDir, 'poster.jpg') : null };
}
