import { describe, expect, it } from 'vitest';

import {
  bestSpan,
  defaultWindowMs,
  smoothScores,
} from '../../../../examples/plugins/moment-localisation/src/smoothing.js';

/** Segments of 3 s every 1.5 s (half overlapping). */
const spans = Array.from({ length: 5 }, (_, i) => ({ startMs: i * 1500, endMs: i * 1500 + 3000 }));

describe('moment-localisation curve', () => {
  it('leaves scores alone with a zero window', () => {
    expect(smoothScores(spans, [1, 2, 3, 4, 5], 0)).toEqual([1, 2, 3, 4, 5]);
  });

  it('weighs neighbours by distance between centres (triangular kernel)', () => {
    // Half-window 3000 ms: direct neighbours (1500 ms away) weigh ½, the next ones 0.
    const [first, second, middle] = smoothScores(spans, [0, 0, 3, 0, 0], 6000);
    expect(middle).toBeCloseTo(3 / 2, 6);
    expect(second).toBeCloseTo(1.5 / 2, 6);
    expect(first).toBe(0);
  });

  it('defaults to four median strides', () => {
    expect(defaultWindowMs(spans)).toBe(6000);
    expect(defaultWindowMs(spans.slice(0, 1))).toBe(0);
  });

  it('grows the span from the peak while neighbours stay near it, earliest peak on ties', () => {
    expect(bestSpan([0, 0.9, 1, 0.85, 0, 1], 0.8)).toEqual({ first: 1, last: 3, peak: 2 });
    expect(bestSpan([0.2, 0.2], 0.5)).toEqual({ first: 0, last: 1, peak: 0 });
  });
});
