/**
 * Thumbnails and a poster taken from a decode that runs anyway: extra ffmpeg outputs beside the raw
 * frames of the segment pass (decode-segments.ts), fed by the same decoded frames, so a video is read
 * and decoded once. A `select` filter keeps, for each segment, the first frame at or after the middle
 * of its window (prev_t is the previous frame's time, NAN before the first), scales it to at most
 * 320 px wide and writes it as a JPEG; the poster is the first frame at or after the middle segment's
 * midpoint, at most 640 px wide. Nothing is encoded for the frames in between.
 *
 * Which JPEG belongs to which segment is worked out from the frame timestamps the pass reads anyway,
 * with the very comparisons the filter makes (`PreviewTracker`): two midpoints inside one long frame
 * share it, so the n-th file is not always the n-th segment.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import type { SegmentSpan } from './segments.js';

/** Widest thumbnail and poster, in pixels (smaller sources are not scaled up). */
export const THUMBNAIL_WIDTH = 320;
export const POSTER_WIDTH = 640;

/** Where the preview outputs go: an empty folder of their own. */
export interface PreviewOutputs {
  outDir: string;
}

/** What a decode with preview outputs made. */
export interface Previews {
  /** Segment index → its thumbnail file. */
  thumbnails: Map<number, string>;
  /** The poster file, or null when ffmpeg wrote none. */
  poster: string | null;
}

/** Each span's midpoint in seconds, as the filter reads it (3 decimals, parsed like strtod). */
export function midpointSeconds(spans: readonly SegmentSpan[]): number[] {
  return spans.map((span) => Number(((span.startMs + span.endMs) / 2000).toFixed(3)));
}

/** The thumbnail filter chain, written to a script file (thousands of segments outgrow one argv entry). */
export function thumbnailFilter(spans: readonly SegmentSpan[]): string {
  const keep = midpointSeconds(spans)
    .map((m) => `gte(t,${m.toFixed(3)})*not(gte(prev_t,${m.toFixed(3)}))`)
    .join('+');
  return `select='${keep}',scale='min(${THUMBNAIL_WIDTH},iw)':-2`;
}

/** The poster's filter chain: the first frame at or after the middle segment's midpoint. */
export function posterFilter(spans: readonly SegmentSpan[]): string {
  const mids = midpointSeconds(spans);
  const at = (mids[Math.floor(mids.length / 2)] ?? 0).toFixed(3);
  return `select='gte(t,${at})*isnan(prev_selected_t)',scale='min(${POSTER_WIDTH},iw)':-2`;
}

/** The file the thumbnail filter is written to before ffmpeg starts. */
export function thumbnailScript(outputs: PreviewOutputs): string {
  return path.join(outputs.outDir, 'thumbnails.filter');
}

/** ffmpeg output options (appended after another output's) writing the thumbnails and the poster. */
export function previewOutputArgs(outputs: PreviewOutputs, spans: readonly SegmentSpan[]): string[] {
  return [
    '-map', '0:v:0', '-filter_script:v', thumbnailScript(outputs),
    '-fps_mode', 'passthrough', '-q:v', '5', '-f', 'image2', path.join(outputs.outDir, 't%06d.jpg'),
    '-map', '0:v:0', '-vf', posterFilter(spans),
    '-fps_mode', 'passthrough', '-frames:v', '1', '-q:v', '4', '-f', 'image2', '-update', '1',
    path.join(outputs.outDir, 'poster.jpg'),
  ]; // prettier-ignore
}

/**
 * Follows the frames of a decode in presentation order and works out, as the thumbnail filter does,
 * which kept frame (0-based, the n-th JPEG) each segment gets.
 */
export class PreviewTracker {
  readonly #spans: readonly SegmentSpan[];
  readonly #mids: number[];
  #next = 0;
  #kept = 0;
  readonly #assigned = new Map<number, number>();

  constructor(spans: readonly SegmentSpan[]) {
    this.#spans = spans;
    this.#mids = midpointSeconds(spans);
  }

  /** One decoded frame at `t` seconds (its pts × the time base, as the filter computes it). */
  frame(t: number): void {
    if (this.#next >= this.#mids.length || !(t >= this.#mids[this.#next]!)) return;
    while (this.#next < this.#mids.length && t >= this.#mids[this.#next]!) {
      this.#assigned.set(this.#spans[this.#next]!.index, this.#kept);
      this.#next += 1;
    }
    this.#kept += 1;
  }

  /** Segment index → 0-based kept frame, for the midpoints reached so far. */
  get assigned(): ReadonlyMap<number, number> {
    return this.#assigned;
  }
}

/** The files the preview outputs wrote, matched to segments by `assigned` (segment → kept frame). */
export async function collectPreviews(
  outputs: PreviewOutputs,
  assigned: ReadonlyMap<number, number>,
): Promise<Previews> {
  const names = new Set(await readdir(outputs.outDir));
  const files = [...names].filter((name) => /^t\d{6}\.jpg$/.test(name)).sort();
  const thumbnails = new Map<number, string>();
  for (const [index, frame] of assigned) {
    const file = files[frame];
    if (file) thumbnails.set(index, path.join(outputs.outDir, file));
  }
  return { thumbnails, poster: names.has('poster.jpg') ? path.join(outputs.outDir, 'poster.jpg') : null };
}
