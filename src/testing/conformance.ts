/**
 * The plugin conformance suite for vitest (package entry `hbi-platform/testing`). One call in a test
 * file checks what every plugin must satisfy; the checks themselves are in `checks.ts` and work with any
 * runner. Example:
 *
 *   describePluginConformance(myPlugin, {
 *     services: () => bootTestKernel(),
 *     samples: { 'moment.localise': { valid: [a, b], invalid: [{ videoId: 'nope' }] } },
 *   });
 */
import 'reflect-metadata';

import { afterAll, describe, it } from 'vitest';

import type { ConformanceOptions } from './checks.js';
import { createConformanceSuite } from './checks.js';

export type { ConformanceCheck, ConformanceOptions, ConformanceSuite, TaskSamples } from './checks.js';
export { BUNDLED_MODEL_DIR, createConformanceSuite } from './checks.js';
export { runTaskBatch, sameValue } from './task-batch.js';

export interface DescribeConformanceOptions extends ConformanceOptions {
  /** Per-check timeout; the first check that needs services also builds them. Default 120 s. */
  timeoutMs?: number;
}

/** Declares one vitest `describe` block with one test per conformance check. */
export function describePluginConformance(plugin: unknown, options: DescribeConformanceOptions): void {
  const suite = createConformanceSuite(plugin, options);
  describe(`conformance: ${suite.title}`, () => {
    afterAll(() => suite.close(), options.timeoutMs ?? 120_000);
    for (const check of suite.checks) it(check.name, () => check.run(), options.timeoutMs ?? 120_000);
  });
}
