/**
 * The `interaction` graph's inputs, stacked once for every caller: Q encoded texts × V segments'
 * stored frame tensors become the graph's [Q,L,D] / [V,T,D] tensors, and its `scores` come back as a
 * row-major [Q,V] matrix (text q against segment v at q·V + v).
 */
import { HbiError } from '../errors.js';
import type { FrameTensors, TensorMap, WordTensors } from './types.js';

/** The graph inputs for `texts` × `segments`; INTERNAL when the tensors do not share shapes. */
export function interactionInputs(
  texts: readonly WordTensors[],
  segments: readonly FrameTensors[],
): TensorMap {
  const frames = segments[0]!.frameWeights.length;
  const dim = segments[0]!.frameTokens.length / frames;
  const words = texts[0]!.wordWeights.length;
  const [q, v] = [texts.length, segments.length];
  return {
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
  };
}

function stack<T>(items: readonly T[], pick: (item: T) => Float32Array, size: number): Float32Array {
  const out = new Float32Array(items.length * size);
  items.forEach((item, index) => {
    const part = pick(item);
    if (part.length !== size) {
      throw new HbiError('INTERNAL', `A stored tensor has ${part.length} values where ${size} were expected`);
    }
    out.set(part, index * size);
  });
  return out;
}
