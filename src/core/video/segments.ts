/**
 * Splits a video's timeline into fixed windows with overlap. Every segment has the full window length
 * (except when the whole video is shorter), so each clip the encoder sees spans the same time: the
 * last window is aligned to the video's end instead of being a short leftover.
 */

export interface SegmentSpan {
  /** 0-based position in the video. */
  index: number;
  startMs: number;
  endMs: number;
}

/** Segments covering [0, durationMs]; deterministic, so re-ingesting yields the same segment ids. */
export function planSegments(durationMs: number, windowMs: number, overlapMs: number): SegmentSpan[] {
  if (!(durationMs > 0)) return [];
  if (!(windowMs > 0) || !(overlapMs >= 0) || overlapMs >= windowMs) {
    throw new RangeError(`invalid segmenting: window ${windowMs} ms, overlap ${overlapMs} ms`);
  }
  if (durationMs <= windowMs) return [{ index: 0, startMs: 0, endMs: durationMs }];
  const stride = windowMs - overlapMs;
  const spans: SegmentSpan[] = [];
  for (let start = 0; start + windowMs < durationMs; start += stride) {
    spans.push({ index: spans.length, startMs: start, endMs: start + windowMs });
  }
  const lastStart = durationMs - windowMs;
  if (spans.at(-1)!.startMs < lastStart)
    spans.push({ index: spans.length, startMs: lastStart, endMs: durationMs });
  return spans;
}
