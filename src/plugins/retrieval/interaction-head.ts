/**
 * The re-rank head: the package's `interaction` graph scores texts against segments with the HBI
 * similarity, from the word tokens of each text and the stored frame tokens of each segment. One run
 * takes Q texts × V segments; search uses one text × many segments, rankTexts many texts × one segment.
 */
import type { SharedEncoder, TextEncoding } from '../../core/encoder/types.js';
import { HbiError } from '../../core/errors.js';

/** One segment's stored frame tensors: [T,D], [T], [T]. */
export interface FrameTensors {
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

/** The word tensors of one encoded text: [L,D], [L], [L]. */
export type WordTensors = Pick<TextEncoding, 'wordTokens' | 'wordWeights' | 'wordMask'>;

/** HBI scores of `text` against each candidate, in candidate order. */
export async function interactionScores(
  encoder: SharedEncoder,
  text: WordTensors,
  candidates: readonly FrameTensors[],
): Promise<Float32Array> {
  return interactionMatrix(encoder, [text], candidates);
}

/** HBI scores of every text against every segment: row-major [Q,V]. */
export async function interactionMatrix(
  encoder: SharedEncoder,
  texts: readonly WordTensors[],
  segments: readonly FrameTensors[],
): Promise<Float32Array> {
  if (texts.length === 0 || segments.length === 0) return new Float32Array(0);
  const frames = segments[0]!.frameWeights.length;
  const dim = segments[0]!.frameTokens.length / frames;
  const words = texts[0]!.wordWeights.length;
  const stack = <T>(items: readonly T[], pick: (item: T) => Float32Array, size: number) => {
    const out = new Float32Array(items.length * size);
    items.forEach((item, index) => {
      const part = pick(item);
      if (part.length !== size)
        throw new HbiError(
          'INTERNAL',
          `A stored tensor has ${part.length} values where ${size} were expected`,
        );
      out.set(part, index * size);
    });
    return out;
  };
  const [q, v] = [texts.length, segments.length];
  const out = await encoder.run('interaction', {
    word_tokens: {
      dtype: 'float32',
      dims: [q, words, dim],
      data: stack(texts, (t) => t.wordTokens, words * dim),
    },
    word_weights: { dtype: 'float32', dims: [q, words], data: stack(texts, (t) => t.wordWeights, words) },
    word_mask: { dtype: 'float32', dims: [q, words], data: stack(texts, (t) => t.wordMask, words) },
    frame_tokens: {
      dtype: 'float32',
      dims: [v, frames, dim],
      data: stack(segments, (s) => s.frameTokens, frames * dim),
    },
    frame_weights: {
      dtype: 'float32',
      dims: [v, frames],
      data: stack(segments, (s) => s.frameWeights, frames),
    },
    frame_mask: { dtype: 'float32', dims: [v, frames], data: stack(segments, (s) => s.frameMask, frames) },
  });
  return out.scores!.data as Float32Array;
}
