/**
 * The curve work of moment localisation, on plain numbers: smooth per-segment scores over neighbouring
 * segments (a triangular kernel over segment centres, so overlapping and uneven segments weigh by
 * distance in time), then grow the best span outwards from the smoothed peak.
 */

/** A segment's place in its video. */
export interface TimeSpan {
  startMs: number;
  endMs: number;
}

/** First and last segment index (inclusive) of the best span, and its peak. */
export interface BestSpan {
  first: number;
  last: number;
  peak: number;
}

/**
 * Each score averaged with its neighbours, weighted 1 − |Δcentre| / (windowMs / 2): segments whose
 * centres are half a window or more apart do not mix; `windowMs` 0 leaves the scores as they are.
 */
export function smoothScores(
  spans: readonly TimeSpan[],
  scores: readonly number[],
  windowMs: number,
): number[] {
  const half = windowMs / 2;
  const centres = spans.map((span) => (span.startMs + span.endMs) / 2);
  return centres.map((centre, i) => {
    let sum = 0;
    let weights = 0;
    centres.forEach((other, j) => {
      const weight = half > 0 ? 1 - Math.abs(other - centre) / half : i === j ? 1 : 0;
      if (weight <= 0) return;
      sum += weight * scores[j]!;
      weights += weight;
    });
    return sum / weights;
  });
}

/** Four times the median distance between consecutive segment starts (the default smoothing width). */
export function defaultWindowMs(spans: readonly TimeSpan[]): number {
  const strides = spans
    .slice(1)
    .map((span, i) => span.startMs - spans[i]!.startMs)
    .sort((a, b) => a - b);
  const median = strides[Math.floor(strides.length / 2)];
  return median === undefined ? 0 : 4 * median;
}

/**
 * The contiguous run around the highest smoothed score (the earliest on ties) whose members all score
 * at least min + threshold · (peak − min).
 */
export function bestSpan(smoothed: readonly number[], threshold: number): BestSpan {
  if (smoothed.length === 0) throw new RangeError('no scores to pick a span from');
  let peak = 0;
  smoothed.forEach((score, i) => {
    if (score > smoothed[peak]!) peak = i;
  });
  const low = Math.min(...smoothed);
  const floor = low + threshold * (smoothed[peak]! - low);
  let [first, last] = [peak, peak];
  while (first > 0 && smoothed[first - 1]! >= floor) first--;
  while (last < smoothed.length - 1 && smoothed[last + 1]! >= floor) last++;
  return { first, last, peak };
}
