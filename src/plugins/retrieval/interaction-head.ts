/**
 * The re-rank head: the package's `interaction` graph scores one text against many segments with the
 * HBI similarity, from the word tokens of the text and the stored frame tokens of each segment.
 */
import type { SharedEncoder, TextEncoding } from '../../core/encoder/types.js';
import { HbiError } from '../../core/errors.js';

/** One segment's stored frame tensors: [T,D], [T], [T]. */
export interface FrameTensors {
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

/** HBI scores of `text` against each candidate, in candidate order. */
export async function interactionScores(
  encoder: SharedEncoder,
  text: TextEncoding,
  candidates: readonly FrameTensors[],
): Promise<Float32Array> {
  const count = candidates.length;
  if (count === 0) return new Float32Array(0);
  const frames = candidates[0]!.frameWeights.length;
  const dim = candidates[0]!.frameTokens.length / frames;
  const words = text.wordWeights.length;
  const stack = (pick: (c: FrameTensors) => Float32Array, size: number) => {
    const out = new Float32Array(count * size);
    candidates.forEach((candidate, index) => {
      const part = pick(candidate);
      if (part.length !== size)
        throw new HbiError(
          'INTERNAL',
          `A stored segment has ${part.length} values where ${size} were expected`,
        );
      out.set(part, index * size);
    });
    return out;
  };
  const out = await encoder.run('interaction', {
    word_tokens: { dtype: 'float32', dims: [1, words, dim], data: text.wordTokens },
    word_weights: { dtype: 'float32', dims: [1, words], data: text.wordWeights },
    word_mask: { dtype: 'float32', dims: [1, words], data: text.wordMask },
    frame_tokens: {
      dtype: 'float32',
      dims: [count, frames, dim],
      data: stack((c) => c.frameTokens, frames * dim),
    },
    frame_weights: { dtype: 'float32', dims: [count, frames], data: stack((c) => c.frameWeights, frames) },
    frame_mask: { dtype: 'float32', dims: [count, frames], data: stack((c) => c.frameMask, frames) },
  });
  return out.scores!.data as Float32Array;
}
