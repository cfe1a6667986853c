import { describe, expect, it } from 'vitest';

import { planSegments } from '../../../src/core/video/segments.js';

describe('planSegments', () => {
  it('gives a short video one segment spanning all of it', () => {
    expect(planSegments(4_000, 10_000, 2_000)).toEqual([{ index: 0, startMs: 0, endMs: 4_000 }]);
  });

  it('steps by window minus overlap and aligns the last full window to the end', () => {
    expect(planSegments(25_000, 10_000, 2_000)).toEqual([
      { index: 0, startMs: 0, endMs: 10_000 },
      { index: 1, startMs: 8_000, endMs: 18_000 },
      { index: 2, startMs: 15_000, endMs: 25_000 },
    ]);
  });

  it('does not add a duplicate when the stride lands exactly on the end', () => {
    expect(planSegments(18_000, 10_000, 2_000)).toEqual([
      { index: 0, startMs: 0, endMs: 10_000 },
      { index: 1, startMs: 8_000, endMs: 18_000 },
    ]);
  });

  it('covers every instant of the video and every segment has the window length', () => {
    for (const duration of [10_001, 33_333, 61_000, 3_600_000]) {
      const spans = planSegments(duration, 10_000, 2_500);
      expect(spans[0]!.startMs).toBe(0);
      expect(spans.at(-1)!.endMs).toBe(duration);
      for (const [i, span] of spans.entries()) {
        expect(span.endMs - span.startMs).toBe(10_000);
        if (i > 0) expect(span.startMs).toBeLessThanOrEqual(spans[i - 1]!.endMs);
      }
    }
  });

  it('returns nothing for an empty video and refuses an overlap as long as the window', () => {
    expect(planSegments(0, 10_000, 0)).toEqual([]);
    expect(() => planSegments(5_000, 1_000, 1_000)).toThrow(RangeError);
  });
});
