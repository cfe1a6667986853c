import { describe, expect, it } from 'vitest';

import type { NextTokenLogits } from '../../../../src/plugins/captioning/decoding.js';
import { argmax, beamDecode, greedyDecode, logSoftmax } from '../../../../src/plugins/captioning/decoding.js';

const BOS = 0;
const EOS = 1;

/**
 * A toy language model from a table: the next-token probabilities (5 tokens) after a prefix (keyed by its
 * tokens after BOS, e.g. "" or "2 3"); prefixes not in the table predict EOS for sure.
 */
function tableModel(table: Record<string, number[]>) {
  const calls: number[][][] = [];
  const next: NextTokenLogits = async (prefixes) => {
    calls.push(prefixes.map((prefix) => [...prefix]));
    return prefixes.map((prefix) => {
      const probabilities = table[prefix.slice(1).join(' ')] ?? [0, 1, 0, 0, 0];
      return probabilities.map((p) => Math.log(Math.max(p, 1e-12)));
    });
  };
  return { next, calls };
}

describe('caption decoding helpers', () => {
  it('argmax takes the first of equal maxima, as torch and numpy do', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-1])).toBe(0);
  });

  it('logSoftmax is stable for large logits and normalises', () => {
    const values = logSoftmax([1000, 1000, 998]);
    expect(values.reduce((sum, v) => sum + Math.exp(v), 0)).toBeCloseTo(1, 12);
    expect(values[0]).toBeCloseTo(values[1]!, 12);
  });
});

describe('greedyDecode', () => {
  it('takes the most probable token each step and stops at EOS, without BOS/EOS in the ids', async () => {
    const { next, calls } = tableModel({
      '': [0, 0, 0.6, 0.4, 0],
      '2': [0, 0.1, 0, 0, 0.9],
      '2 4': [0, 0.8, 0.2, 0, 0],
    });
    const decoded = await greedyDecode(next, { bos: BOS, eos: EOS, maxTokens: 10 });
    expect(decoded.ids).toEqual([2, 4]);
    expect(decoded.logProb).toBeCloseTo(Math.log(0.6) + Math.log(0.9) + Math.log(0.8), 9);
    expect(decoded.score).toBeCloseTo(decoded.logProb / 3, 9);
    expect(calls).toEqual([[[0]], [[0, 2]], [[0, 2, 4]]]);
  });

  it('stops after maxTokens steps when EOS never comes', async () => {
    const always = (async (prefixes) => prefixes.map(() => [0, -5, 3, 0, 0])) satisfies NextTokenLogits;
    const decoded = await greedyDecode(always, { bos: BOS, eos: EOS, maxTokens: 4 });
    expect(decoded.ids).toEqual([2, 2, 2, 2]);
  });
});

describe('beamDecode', () => {
  // Greedy takes token 2 (0.5) but every continuation of it is unlikely; 3 (0.4) leads to a sure EOS.
  const trap = {
    '': [0, 0, 0.5, 0.4, 0.1],
    '2': [0, 0.3, 0.35, 0.35, 0],
    '2 2': [0, 1, 0, 0, 0],
    '2 3': [0, 1, 0, 0, 0],
    '3': [0, 0.05, 0, 0, 0.95],
    '3 4': [0, 1, 0, 0, 0],
  };

  it('finds a likelier caption than greedy when the greedy first step is a trap', async () => {
    const greedy = await greedyDecode(tableModel(trap).next, { bos: BOS, eos: EOS, maxTokens: 8 });
    expect(greedy.ids).toEqual([2, 2]);
    const beam = await beamDecode(tableModel(trap).next, {
      bos: BOS,
      eos: EOS,
      maxTokens: 8,
      width: 2,
      lengthPenalty: 1,
    });
    expect(beam.ids).toEqual([3, 4]);
    expect(beam.score).toBeGreaterThan(greedy.score);
  });

  it('feeds every live prefix of one step in one call, each of the same length', async () => {
    const { next, calls } = tableModel(trap);
    await beamDecode(next, { bos: BOS, eos: EOS, maxTokens: 8, width: 3, lengthPenalty: 1 });
    for (const call of calls) expect(new Set(call.map((prefix) => prefix.length)).size).toBe(1);
    expect(calls[0]).toEqual([[0]]);
    expect(calls[1]).toHaveLength(3);
  });

  it('normalises by length: with lengthPenalty 0 a short caption wins, with 1 a likelier-per-token long one', async () => {
    // "" (EOS at once) has probability 0.45; "2 3" has 0.55·0.6·0.9 ≈ 0.30 but more per token.
    const table = {
      '': [0, 0.45, 0.55, 0, 0],
      '2': [0, 0, 0, 0.6, 0.4],
      '2 3': [0, 0.9, 0, 0.1, 0],
    };
    const options = { bos: BOS, eos: EOS, maxTokens: 8, width: 3 };
    const short = await beamDecode(tableModel(table).next, { ...options, lengthPenalty: 0 });
    expect(short.ids).toEqual([]);
    const long = await beamDecode(tableModel(table).next, { ...options, lengthPenalty: 1 });
    expect(long.ids).toEqual([2, 3]);
    expect(long.score).toBeCloseTo((Math.log(0.55) + Math.log(0.6) + Math.log(0.9)) / 3, 9);
  });

  it('ends live prefixes as they are after maxTokens steps', async () => {
    const always = (async (prefixes) => prefixes.map(() => [0, -9, 3, 0, 0])) satisfies NextTokenLogits;
    const decoded = await beamDecode(always, {
      bos: BOS,
      eos: EOS,
      maxTokens: 3,
      width: 2,
      lengthPenalty: 1,
    });
    expect(decoded.ids).toEqual([2, 2, 2]);
  });

  it('with width 1 on a model whose best path ends well, agrees with greedy', async () => {
    const table = { '': [0, 0, 0.9, 0.1, 0], '2': [0, 0.2, 0, 0.8, 0], '2 3': [0, 1, 0, 0, 0] };
    const greedy = await greedyDecode(tableModel(table).next, { bos: BOS, eos: EOS, maxTokens: 8 });
    const beam = await beamDecode(tableModel(table).next, {
      bos: BOS,
      eos: EOS,
      maxTokens: 8,
      width: 1,
      lengthPenalty: 1,
    });
    expect(beam.ids).toEqual(greedy.ids);
  });
});
