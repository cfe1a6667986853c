import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';

import { assertWithinLimits, measureOperation } from '../../../src/core/gateway/limits.js';

const measure = (query: string, variables: Record<string, unknown> = {}, operationName?: string) =>
  measureOperation(parse(query), operationName, variables, 100);

describe('operation limits', () => {
  it('counts depth from 1 at the top level and 1 per field', () => {
    expect(measure('{ health { live ready } }')).toEqual({ depth: 2, complexity: 3 });
  });

  it('multiplies a paged field by its page size, from literals or variables, else the maximum page', () => {
    const query = 'query ($n: Int) { search(text: "x", first: $n) { edges { node { score } } } }';
    expect(measure(query, { n: 5 }).complexity).toBe(1 + 5 * 3);
    expect(measure('{ search(text: "x", first: 2) { edges { cursor } } }').complexity).toBe(1 + 2 * 2);
    expect(measure(query).complexity).toBe(1 + 100 * 3);
  });

  it('expands fragments and inline fragments, and survives fragment cycles', () => {
    const query = `query A { model { ...M } } query B { health { live } }
      fragment M on ModelInfo { id dims { ... on ModelDims { embed } } }`;
    expect(measure(query, {}, 'A')).toEqual({ depth: 3, complexity: 4 });
    expect(measure(query, {}, 'B')).toEqual({ depth: 2, complexity: 2 });
    const cyclic = '{ model { ...X } } fragment X on ModelInfo { id ...X }';
    expect(measure(cyclic)).toEqual({ depth: 2, complexity: 2 });
  });

  it('throws LIMIT_EXCEEDED naming the limit that was passed', () => {
    const limits = { maxQueryDepth: 2, maxQueryComplexity: 3, maxPageSize: 100 };
    expect(() => assertWithinLimits({ depth: 2, complexity: 3 }, limits)).not.toThrow();
    expect(() => assertWithinLimits({ depth: 3, complexity: 1 }, limits)).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'LIMIT_EXCEEDED', details: { depth: 3, limit: 2 } }),
      }),
    );
    expect(() => assertWithinLimits({ depth: 1, complexity: 4 }, limits)).toThrow(
      /complexity 4 exceeds the limit of 3/,
    );
  });
});
