/**
 * The caption head: the package's `caption` graph reads a segment's stored frame tokens and the tokens
 * so far, and gives next-token logits at every position. The decoding loops (decoding.ts) only need
 * the last position, for several prefixes at a time; each prefix is its own encoder request, so the
 * encoder's batcher stacks the prefixes of one step (and those of other captions at the same length).
 */
import type { SegmentFrames, SharedEncoder } from 'hbi-platform';

import type { NextTokenLogits } from './decoding.js';

/** The `next` function of the decoding loops for one segment. */
export function captionStep(
  encoder: SharedEncoder,
  segment: Pick<SegmentFrames, 'frameTokens' | 'frameMask'>,
): NextTokenLogits {
  const frames = segment.frameMask.length;
  const frameTokens = {
    dtype: 'float32' as const,
    dims: [frames, segment.frameTokens.length / frames],
    data: segment.frameTokens,
  };
  const frameMask = { dtype: 'float32' as const, dims: [frames], data: segment.frameMask };
  return (prefixes) =>
    Promise.all(
      prefixes.map(async (prefix) => {
        const out = await encoder.runGraph('caption', {
          frame_tokens: frameTokens,
          frame_mask: frameMask,
          tokens: { dtype: 'int64', dims: [prefix.length], data: BigInt64Array.from(prefix, BigInt) },
        });
        const logits = out.logits!;
        const vocab = logits.dims.at(-1)!;
        const data = logits.data as Float32Array;
        return data.subarray(data.length - vocab);
      }),
    );
}
