/** `hbi bench load`'s option parsing and its loopback guard (the run itself: tests/e2e/bench-smoke.test.ts). */
import { describe, expect, it } from 'vitest';

import { UsageError } from '../../../src/cli/args.js';
import { assertLoopback, durationOption, mixOption } from '../../../src/cli/bench/load-bench.js';

describe('hbi bench load options', () => {
  it('reads durations in seconds or minutes, from 1 s to 1 h', () => {
    expect(durationOption('300s')).toBe(300);
    expect(durationOption('5m')).toBe(300);
    expect(durationOption('45')).toBe(45);
    for (const bad of ['0s', '61m', 'soon', '-5', '5h'])
      expect(() => durationOption(bad), bad).toThrow(UsageError);
  });

  it('reads the operation mix; unnamed kinds get 0, unknown kinds and an all-zero mix are refused', () => {
    expect(mixOption(undefined)).toEqual({ search: 60, answer: 20, caption: 10, upload: 5, subscribe: 5 });
    expect(mixOption('search=1, upload=3')).toEqual({
      search: 1,
      answer: 0,
      caption: 0,
      upload: 3,
      subscribe: 0,
    });
    expect(() => mixOption('delete=5')).toThrow(/kinds: search, answer, caption, upload, subscribe/);
    expect(() => mixOption('search=x')).toThrow(UsageError);
    expect(() => mixOption('search=0')).toThrow(/weight of 0/);
  });

  it('drives loopback servers only, unless told otherwise', () => {
    for (const url of [
      'http://127.0.0.1:4000/graphql',
      'http://127.8.0.1/graphql',
      'http://localhost:4000/graphql',
      'http://[::1]:4000/graphql',
    ])
      expect(() => assertLoopback(url, false), url).not.toThrow();
    for (const url of [
      'http://10.0.0.5:4000/graphql',
      'https://api.example.com/graphql',
      'http://[::2]/graphql',
      'http://127.0.0.1.example.com/graphql',
    ]) {
      expect(() => assertLoopback(url, false), url).toThrow(/not a loopback address/);
      expect(() => assertLoopback(url, true), url).not.toThrow();
    }
  });
});
