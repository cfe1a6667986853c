/**
 * Caption decoding loops, independent of the model: `next` gives the next-token logits after each
 * prefix ([BOS] first), and the loops pick tokens until [EOS] or `maxTokens` steps.
 *
 * - Greedy takes the highest logit at every step (the first one on ties), exactly as the Python
 *   reference (`model/hbi/eval/decode.py: greedy`) does, so both produce the same ids.
 * - Beam search keeps `width` live prefixes; every step expands each by every token, keeps the best
 *   2·width candidates by summed log-probability, moves those ending in [EOS] to the finished list and
 *   keeps up to `width` others alive. Finished sequences are compared by length-normalised score
 *   `logProb / length^lengthPenalty` (length counts generated tokens including [EOS]; 0 disables the
 *   normalisation, 1 is the mean log-probability per token). It stops when no prefix is alive, after
 *   `maxTokens` steps (live prefixes then finish as they are), or once `width` sequences are finished
 *   and the best live prefix, scored as if it ended now, cannot beat the worst of the best `width`.
 */

/** Next-token logits ([V] each) after each prefix; all prefixes of one call have the same length. */
export type NextTokenLogits = (prefixes: readonly (readonly number[])[]) => Promise<ArrayLike<number>[]>;

export interface DecodeOptions {
  bos: number;
  eos: number;
  /** Most tokens generated, [EOS] included. */
  maxTokens: number;
}

export interface BeamOptions extends DecodeOptions {
  width: number;
  /** Exponent of the length normalisation (0: summed log-probability). */
  lengthPenalty: number;
}

/** A decoded caption: token ids without [BOS]/[EOS], and how likely the model found it. */
export interface DecodedSequence {
  ids: number[];
  /** Summed log-probability of the generated tokens ([EOS] included when it was generated). */
  logProb: number;
  /** `logProb / length^lengthPenalty` (greedy: mean log-probability per token). */
  score: number;
}

/** Greedy decoding of one sequence. */
export async function greedyDecode(next: NextTokenLogits, options: DecodeOptions): Promise<DecodedSequence> {
  const prefix = [options.bos];
  let logProb = 0;
  let generated = 0;
  for (let step = 0; step < options.maxTokens; step++) {
    const [logits] = await next([prefix]);
    const token = argmax(logits!);
    logProb += logSoftmax(logits!)[token]!;
    generated++;
    if (token === options.eos) break;
    prefix.push(token);
  }
  return { ids: prefix.slice(1), logProb, score: generated > 0 ? logProb / generated : 0 };
}

interface Live {
  tokens: number[];
  logProb: number;
}

/** Beam search for one sequence (see the module comment for the exact rule). */
export async function beamDecode(next: NextTokenLogits, options: BeamOptions): Promise<DecodedSequence> {
  const { bos, eos, maxTokens, width, lengthPenalty } = options;
  const normalise = (logProb: number, length: number) =>
    logProb / Math.pow(Math.max(1, length), lengthPenalty);
  const finished: DecodedSequence[] = [];
  let live: Live[] = [{ tokens: [bos], logProb: 0 }];
  for (let step = 0; step < maxTokens && live.length > 0; step++) {
    const rows = await next(live.map((beam) => beam.tokens));
    const candidates: { beam: number; token: number; logProb: number }[] = [];
    rows.forEach((logits, beam) => {
      logSoftmax(logits).forEach((lp, token) =>
        candidates.push({ beam, token, logProb: live[beam]!.logProb + lp }),
      );
    });
    // Stable: equal scores keep beam order, then token order, as the reference's topk does in practice.
    candidates.sort((a, b) => b.logProb - a.logProb);
    const survivors: Live[] = [];
    for (const candidate of candidates.slice(0, 2 * width)) {
      const tokens = [...live[candidate.beam]!.tokens, candidate.token];
      const length = tokens.length - 1;
      if (candidate.token === eos) {
        finished.push({
          ids: tokens.slice(1, -1),
          logProb: candidate.logProb,
          score: normalise(candidate.logProb, length),
        });
      } else {
        survivors.push({ tokens, logProb: candidate.logProb });
      }
      if (survivors.length === width) break;
    }
    live = survivors;
    if (step === maxTokens - 1) {
      for (const beam of live) {
        finished.push({
          ids: beam.tokens.slice(1),
          logProb: beam.logProb,
          score: normalise(beam.logProb, beam.tokens.length - 1),
        });
      }
      live = [];
    }
    if (finished.length >= width && live.length > 0) {
      const worstKept = [...finished].sort((a, b) => b.score - a.score)[width - 1]!.score;
      const bestLive = Math.max(...live.map((beam) => normalise(beam.logProb, beam.tokens.length - 1)));
      if (bestLive <= worstKept) break;
    }
  }
  if (finished.length === 0) {
    // Only reachable with maxTokens < 1: nothing was generated.
    return { ids: [], logProb: 0, score: 0 };
  }
  return finished.reduce((best, candidate) => (candidate.score > best.score ? candidate : best));
}

/** Index of the largest value; the first one on ties (as torch.argmax and numpy.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** log(softmax(values)) in float64. */
export function logSoftmax(values: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i]! - max);
  const offset = max + Math.log(sum);
  return Array.from(values, (value) => value - offset);
}
