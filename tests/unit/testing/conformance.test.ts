/**
 * The conformance suite itself: a well-behaved plugin passes every check, and each way of breaking the
 * plugin contract fails the check that names it (and only with a message saying what is wrong).
 */
import 'reflect-metadata';

import { Field, ObjectType, Query, Resolver } from 'type-graphql';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { HbiError } from '../../../src/core/errors.js';
import type { AnyTask, PluginDefinition } from '../../../src/core/plugins/define-plugin.js';
import { PLUGIN_BRAND, definePlugin } from '../../../src/core/plugins/define-plugin.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import type { ConformanceOptions } from '../../../src/testing/conformance.js';
import { createConformanceSuite, sameValue } from '../../../src/testing/conformance.js';
import { fakeScoping, fakeServices } from '../../helpers/fake-services.js';

/** Upper-cases strings; anything else fails alone (the `input` schema), as the contract wants. */
const shout: AnyTask = {
  kind: 'shout.say',
  input: z.string(),
  maxBatchSize: 4,
  handle: async (batch) =>
    batch.map((item) => ({ ok: true as const, value: String(item.input).toUpperCase() })),
};

const base: PluginDefinition = { name: 'shouter', version: '1.0.0', tasks: [shout] };
const options: ConformanceOptions = {
  services: () => fakeServices(),
  scoping: () => fakeScoping(),
  samples: { 'shout.say': { valid: ['a', 'b', 'c'], invalid: [42] } },
};

/** Runs every check; returns check name → 'ok' or the failure message. */
async function verdicts(
  plugin: unknown,
  overrides: Partial<ConformanceOptions> = {},
): Promise<Record<string, string>> {
  const suite = createConformanceSuite(plugin, { ...options, ...overrides });
  const results: Record<string, string> = {};
  for (const check of suite.checks) {
    results[check.name] = await check.run().then(
      () => 'ok',
      (error: unknown) => (error as Error).message,
    );
  }
  await suite.close();
  return results;
}

/** The checks that failed. */
async function failures(
  plugin: unknown,
  overrides: Partial<ConformanceOptions> = {},
): Promise<Record<string, string>> {
  return Object.fromEntries(
    Object.entries(await verdicts(plugin, overrides)).filter(([, verdict]) => verdict !== 'ok'),
  );
}

const withTask = (handle: AnyTask['handle'], extra: Partial<AnyTask> = {}) =>
  definePlugin({ ...base, tasks: [{ ...shout, ...extra, handle }] });

describe('the conformance suite', () => {
  it('passes a plugin that keeps the contract, naming each check as a spec line', async () => {
    const results = await verdicts(definePlugin(base));
    expect(Object.keys(results)).toEqual([
      'is made by definePlugin (branded and frozen)',
      'has a kebab-case name',
      'has a semver version',
      'requires only graphs the model package provides',
      'accepts its config defaults',
      'builds into one GraphQL schema with core and the other plugins, without name clashes',
      'sets up and tears down cleanly and repeatably (teardown may run twice)',
      'shout.say: has conformance samples',
      'shout.say: returns exactly one outcome per item, in order',
      'shout.say: returns plain JSON values (cluster mode sends them between processes)',
      'shout.say: fails a bad item alone with a typed client error',
      'shout.say: handles a full batch of maxBatchSize (4) items',
    ]);
    expect(Object.values(results).every((verdict) => verdict === 'ok')).toBe(true);
  });

  it('catches a forged plugin: branded by hand, not frozen, with a bad name and version', async () => {
    const forged = { [PLUGIN_BRAND]: true, name: 'Shouter', version: 'v1' };
    expect(await failures(forged)).toMatchObject({
      'is made by definePlugin (branded and frozen)': expect.stringContaining('must be frozen'),
      'has a kebab-case name': expect.stringContaining('not kebab-case'),
      'has a semver version': expect.stringContaining('not semver'),
    });
  });

  it('catches graphs the bundled model package lacks', async () => {
    const plugin = definePlugin({ ...base, requiredGraphs: ['text', 'segmentation'] });
    expect(await failures(plugin)).toEqual({
      'requires only graphs the model package provides': expect.stringContaining('lacks segmentation'),
    });
  });

  it('catches a config schema that rejects its own defaults', async () => {
    const plugin = definePlugin({ ...base, configSchema: z.object({ apiKey: z.string() }) });
    expect(Object.keys(await failures(plugin))).toContain('accepts its config defaults');
  });

  it('catches outcomes returned out of order', async () => {
    const plugin = withTask(async (batch) =>
      batch.map((item) => ({ ok: true as const, value: String(item.input).toUpperCase() })).reverse(),
    );
    expect(await failures(plugin)).toEqual({
      'shout.say: returns exactly one outcome per item, in order': expect.stringContaining('wrong order?'),
    });
  });

  it('catches a handler that drops an outcome', async () => {
    const plugin = withTask(async (batch) => batch.slice(1).map(() => ({ ok: true as const, value: 'X' })));
    expect(await failures(plugin)).toMatchObject({
      'shout.say: returns exactly one outcome per item, in order': expect.stringContaining(
        'returned 0 outcomes for 1 items',
      ),
    });
  });

  it('catches a bad item that fails the whole batch, or fails without a client error', async () => {
    const strict = { ...shout, input: undefined };
    const throws = withTask(async (batch) => {
      if (batch.some((item) => typeof item.input !== 'string')) throw new Error('boom');
      return batch.map((item) => ({ ok: true as const, value: String(item.input) + '!' }));
    }, strict);
    expect(await failures(throws)).toEqual({
      'shout.say: fails a bad item alone with a typed client error': expect.stringContaining('threw instead'),
    });
    const internal = withTask(
      async (batch) =>
        batch.map((item) =>
          typeof item.input === 'string'
            ? { ok: true as const, value: String(item.input) + '!' }
            : { ok: false as const, error: new HbiError('INTERNAL', 'not a string') },
        ),
      strict,
    );
    expect(await failures(internal)).toEqual({
      'shout.say: fails a bad item alone with a typed client error': expect.stringContaining(
        'INTERNAL, not a client error',
      ),
    });
  });

  it('catches values that do not survive JSON, and a batch larger than the handler copes with', async () => {
    const dated = withTask(async (batch) =>
      batch.map((item) => ({ ok: true as const, value: { text: String(item.input), at: new Date(0) } })),
    );
    expect(Object.keys(await failures(dated))).toEqual([
      'shout.say: returns plain JSON values (cluster mode sends them between processes)',
    ]);
    const small = withTask(async (batch) =>
      batch.map((item, index) =>
        index < 2
          ? { ok: true as const, value: String(item.input) }
          : { ok: false as const, error: new HbiError('LIMIT_EXCEEDED', 'at most 2') },
      ),
    );
    expect(await failures(small)).toMatchObject({
      'shout.say: handles a full batch of maxBatchSize (4) items':
        expect.stringContaining('2: LIMIT_EXCEEDED'),
    });
  });

  it('asks for samples when a task kind has none, and for samples that tell outcomes apart', async () => {
    expect(await failures(definePlugin(base), { samples: {} })).toMatchObject({
      'shout.say: has conformance samples': expect.stringContaining(
        'no conformance samples for task kind "shout.say"',
      ),
    });
    const same = { 'shout.say': { valid: ['a', 'a'], invalid: [1] } };
    expect(await failures(definePlugin(base), { samples: same })).toEqual({
      'shout.say: returns exactly one outcome per item, in order':
        expect.stringContaining('all give the same outcome'),
    });
  });

  it('catches a setup that leaves a timer behind', async () => {
    const ticking = definePlugin({ ...base, setup: () => void setInterval(() => undefined, 60_000) });
    expect(await failures(ticking)).toEqual({
      'sets up and tears down cleanly and repeatably (teardown may run twice)':
        expect.stringContaining('Timeout'),
    });
  });

  it('catches a teardown that throws when run a second time', async () => {
    const plugin = definePlugin({
      ...base,
      setup: () => {
        let open = true;
        return () => {
          if (!open) throw new Error('already closed');
          open = false;
        };
      },
    });
    expect(Object.values(await failures(plugin))).toEqual([
      expect.stringContaining('second call of the teardown'),
    ]);
  });

  it('catches GraphQL root fields and type names that clash with core or other plugins', async () => {
    @Resolver()
    class HealthResolver {
      @Query(() => String)
      health(): string {
        return 'shadowed';
      }
    }
    const shadowing = definePlugin({ ...base, resolvers: [HealthResolver] });
    expect(Object.values(await failures(shadowing))).toEqual([
      expect.stringContaining('Query.health (core)'),
    ]);

    @ObjectType('SegmentHit')
    class SegmentHitAgain {
      @Field(() => String)
      id!: string;
    }
    @Resolver()
    class HitResolver {
      @Query(() => SegmentHitAgain)
      shoutHit(): SegmentHitAgain {
        return Object.assign(new SegmentHitAgain(), { id: 'x' });
      }
    }
    const duplicate = definePlugin({ ...base, resolvers: [HitResolver] });
    expect(Object.values(await failures(duplicate, { alongside: BUILTIN_PLUGINS }))).toEqual([
      expect.stringMatching(/SegmentHit/),
    ]);
  });
});

describe('sameValue', () => {
  it('compares deeply, with a relative tolerance for numbers', () => {
    expect(sameValue({ a: [1, 2.00001], b: 'x' }, { a: [1, 2], b: 'x' })).toBe(true);
    expect(sameValue({ a: 1.01 }, { a: 1 })).toBe(false);
    expect(sameValue({ a: 1, b: undefined }, { a: 1 })).toBe(false);
  });

  it('never equates a typed array or a Date with what JSON makes of it', () => {
    expect(sameValue(new Float32Array([1, 2]), { 0: 1, 1: 2 })).toBe(false);
    expect(sameValue(new Date(0), new Date(0).toISOString())).toBe(false);
    expect(sameValue(new Float32Array([1, 2]), new Float32Array([1, 2]))).toBe(true);
  });
});
