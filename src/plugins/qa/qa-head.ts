/**
 * The QA head: the package's `qa` graph reads a segment's stored frame tokens and the question's word
 * tokens (from the shared `text` graph) and gives one logit per entry of the package's answer list.
 * Probabilities are the softmax of those logits, computed in float64.
 */
import type { SegmentFrames, SharedEncoder, TextEncoding } from 'hbi-platform';

/** The answer distribution of one question over one segment: [A] probabilities summing to 1. */
export async function answerProbabilities(
  encoder: SharedEncoder,
  question: Pick<TextEncoding, 'wordTokens' | 'wordMask'>,
  segment: Pick<SegmentFrames, 'frameTokens' | 'frameMask'>,
): Promise<number[]> {
  const frames = segment.frameMask.length;
  const words = question.wordMask.length;
  const out = await encoder.runGraph('qa', {
    frame_tokens: {
      dtype: 'float32',
      dims: [frames, segment.frameTokens.length / frames],
      data: segment.frameTokens,
    },
    frame_mask: { dtype: 'float32', dims: [frames], data: segment.frameMask },
    question_tokens: {
      dtype: 'float32',
      dims: [words, question.wordTokens.length / words],
      data: question.wordTokens,
    },
    question_mask: { dtype: 'float32', dims: [words], data: question.wordMask },
  });
  return softmax(out.answer_logits!.data as Float32Array);
}

/** Numerically stable softmax. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exps = Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! - max));
  const sum = exps.reduce((total, value) => total + value, 0);
  return exps.map((value) => value / sum);
}

/** The element-wise mean of equally long distributions (how a whole video's answer is formed). */
export function meanDistribution(distributions: readonly (readonly number[])[]): number[] {
  const size = distributions[0]?.length ?? 0;
  const mean = new Array<number>(size).fill(0);
  for (const distribution of distributions)
    distribution.forEach((p, i) => (mean[i]! += p / distributions.length));
  return mean;
}
