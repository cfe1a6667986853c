import { describe, expect, it } from 'vitest';

import { HbiError } from '../../../src/core/errors.js';
import { definePlugin, isPlugin } from '../../../src/core/plugins/define-plugin.js';

describe('definePlugin', () => {
  it('returns a frozen, branded plugin', () => {
    const plugin = definePlugin({ name: 'moment-search', version: '0.1.0' });
    expect(isPlugin(plugin)).toBe(true);
    expect(Object.isFrozen(plugin)).toBe(true);
    expect(plugin.requiredGraphs).toEqual([]);
  });

  it('recognises plugins branded by another copy of core (Symbol.for)', () => {
    expect(isPlugin({ [Symbol.for('hbi-platform.plugin')]: true, name: 'x' })).toBe(true);
    expect(isPlugin({ name: 'x', version: '1.0.0' })).toBe(false);
  });

  it('lists every problem of a malformed definition in one PLUGIN_INVALID error', () => {
    const attempt = () =>
      definePlugin({
        name: 'Bad Name',
        version: 'one',
        tasks: [{ kind: 'x.run', maxBatchSize: 0, handle: undefined as never }],
      });
    expect(attempt).toThrow(HbiError);
    expect(attempt).toThrow(/kebab-case.*semver.*no handle.*maxBatchSize/s);
  });
});
