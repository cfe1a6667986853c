/**
 * The plugin conformance checks, independent of any test runner: `createConformanceSuite` returns named
 * checks that throw (node:assert) when a plugin breaks the contract every plugin must keep. Shared
 * services and the started plugin are built lazily on first use and released by `close`, so a runner
 * only has to call each check and then `close`. `conformance.ts` binds the suite to vitest.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ERROR_CODES, isHbiError } from '../core/errors.js';
import { buildGatewaySchema } from '../core/gateway/schema.js';
import type { HbiPlugin, PluginServices } from '../core/plugins/define-plugin.js';
import { isPlugin } from '../core/plugins/define-plugin.js';
import type { TaskScoping } from '../core/plugins/registry.js';
import { PluginRegistry } from '../core/plugins/registry.js';
import { throughWire } from '../core/tasks/wire.js';
import { DEFAULT_TENANT_ID } from '../core/tenancy.js';
import { checkSetupCycles } from './setup-cycles.js';
import { rootFieldsOf, rootFieldsOfSchema } from './root-fields.js';
import { runTaskBatch, sameValue } from './task-batch.js';

/** The model package shipped in the repository, two levels above this module in `src/` and `dist/`. */
export const BUNDLED_MODEL_DIR = fileURLToPath(new URL('../../models/hbi-synth-tiny/', import.meta.url));

/** Inputs that exercise one task kind. */
export interface TaskSamples {
  /** At least two inputs that succeed with different outcomes, so the order of outcomes can be checked. */
  valid: readonly unknown[];
  /** At least one input that must fail on its own with a client error (4xx code), e.g. BAD_USER_INPUT. */
  invalid: readonly unknown[];
  /** The part of a value that must match between a solo and a batched run; default: all of it. */
  comparable?: (value: unknown) => unknown;
}

export interface ConformanceOptions {
  /** Builds the services the plugin's setup and tasks receive (in-process fakes, or a real kernel); called once. */
  services: () => PluginServices | Promise<PluginServices>;
  /**
   * The tenant-bound capabilities of task contexts (segment store, result cache), from the services:
   * a real kernel's (`kernel.vectors.forTenant`, `bindResultCache`) or in-process fakes. Required for
   * a plugin with tasks.
   */
  scoping?: (services: PluginServices) => TaskScoping | Promise<TaskScoping>;
  /** The tenant the task checks run for; default the platform's default tenant. */
  tenantId?: string;
  /** Releases what `services` built; called by `close`. */
  releaseServices?: (services: PluginServices) => Promise<void>;
  /** Samples per task kind; a function gets the services (e.g. to look up an indexed video's id). */
  samples?: Readonly<Record<string, TaskSamples | ((services: PluginServices) => Promise<TaskSamples>)>>;
  /** The plugin's part of HBI_PLUGIN_CONFIG; default `{}` (its defaults). */
  config?: Readonly<Record<string, unknown>>;
  /** The model package whose graphs `requiredGraphs` must name; default the bundled `hbi-synth-tiny`. */
  modelDir?: string;
  /**
   * Plugins loaded beside this one, whose GraphQL names it must not clash with (e.g. the platform's
   * built-ins); default none: the check is then against core's fields.
   */
  alongside?: readonly HbiPlugin[];
}

export interface ConformanceCheck {
  /** Reads as a spec line, e.g. "has a semver version". */
  name: string;
  run(): Promise<void>;
}

export interface ConformanceSuite {
  /** `plugin <name>`. */
  title: string;
  checks: readonly ConformanceCheck[];
  /** Stops the plugin started for the task checks and releases the services. */
  close(): Promise<void>;
}

// definePlugin applies the same name rule; a plugin built by another copy of core (or a forged brand)
// may not have been through it.
const KEBAB_CASE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
// semver.org's grammar, stricter than definePlugin's check (numeric parts without leading zeros, optional pre-release and build).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** The checks every plugin must pass: identity, graphs, config, schema, lifecycle, and each task's batch contract. */
export function createConformanceSuite(candidate: unknown, options: ConformanceOptions): ConformanceSuite {
  const plugin = candidate as HbiPlugin;
  const given = (candidate as { name?: unknown } | null)?.name;
  const name = typeof given === 'string' ? given : '(unnamed)';
  const config = options.config ?? {};
  let services: Promise<PluginServices> | undefined;
  let started: Promise<PluginRegistry> | undefined;
  const samples = new Map<string, Promise<TaskSamples>>();
  const useServices = () => (services ??= Promise.resolve(options.services()));
  const useStarted = () =>
    (started ??= useServices().then(async (shared) => {
      const registry = new PluginRegistry().register(plugin);
      const scoping = await options.scoping?.(shared);
      await registry.start(shared, { [plugin.name]: config }, scoping);
      return registry;
    }));
  const useSamples = (kind: string) => {
    let found = samples.get(kind);
    if (!found) {
      const given = options.samples?.[kind];
      const resolved = typeof given === 'function' ? useServices().then(given) : Promise.resolve(given);
      found = resolved.then((value) => checkSamples(kind, value));
      samples.set(kind, found);
    }
    return found;
  };
  const handlerOf = async (kind: string) => {
    const registry = await useStarted();
    const found = registry.taskHandler(kind);
    assert.ok(
      found,
      `task ${kind} is not served by the started plugin (pass scoping: the task context's segment store and cache)`,
    );
    return { handler: found.handler, context: found.context(options.tenantId ?? DEFAULT_TENANT_ID) };
  };

  const checks: ConformanceCheck[] = [
    check('is made by definePlugin (branded and frozen)', () => {
      assert.ok(isPlugin(candidate), 'not a plugin: build it with definePlugin({...})');
      assert.ok(Object.isFrozen(candidate), 'a plugin must be frozen, as definePlugin returns it');
    }),
    check('has a kebab-case name', () =>
      assert.match(String(plugin.name), KEBAB_CASE, `name ${JSON.stringify(plugin.name)} is not kebab-case`),
    ),
    check('has a semver version', () =>
      assert.match(String(plugin.version), SEMVER, `version ${JSON.stringify(plugin.version)} is not semver`),
    ),
    check('requires only graphs the model package provides', async () => {
      const modelDir = options.modelDir ?? BUNDLED_MODEL_DIR;
      const manifest = JSON.parse(await readFile(path.join(modelDir, 'manifest.json'), 'utf8')) as {
        graphs?: Record<string, unknown>;
      };
      const available = Object.keys(manifest.graphs ?? {});
      const missing = (plugin.requiredGraphs ?? []).filter((graph) => !available.includes(graph));
      assert.deepEqual(
        missing,
        [],
        `${modelDir} lacks ${missing.join(', ')} (it has ${available.join(', ')})`,
      );
    }),
    check('accepts its config defaults', () => {
      if (!plugin.configSchema) return;
      const parsed = plugin.configSchema.safeParse({});
      assert.ok(parsed.success, `an empty config must be valid: ${parsed.error?.message ?? ''}`);
      const again = plugin.configSchema.safeParse(parsed.data);
      assert.ok(
        again.success && sameValue(again.data, parsed.data, 0),
        'parsing the defaults again must keep them',
      );
    }),
    check(
      'builds into one GraphQL schema with core and the other plugins, without name clashes',
      async () => {
        const others = (options.alongside ?? []).filter((other) => other.name !== plugin.name);
        await buildGatewaySchema([...others, plugin]);
        const taken = new Map<string, string>();
        for (const field of rootFieldsOfSchema((await buildGatewaySchema([])).schema))
          taken.set(field, 'core');
        for (const other of others) for (const field of rootFieldsOf(other)) taken.set(field, other.name);
        const own = rootFieldsOf(plugin);
        const clashes = own
          .filter((field) => taken.has(field))
          .map((field) => `${field} (${taken.get(field)})`);
        assert.deepEqual(clashes, [], `root fields already defined elsewhere: ${clashes.join(', ')}`);
        assert.equal(
          new Set(own).size,
          own.length,
          `root fields defined twice by this plugin: ${own.join(', ')}`,
        );
      },
    ),
    check('sets up and tears down cleanly and repeatably (teardown may run twice)', async () =>
      checkSetupCycles(plugin, await useServices(), config),
    ),
  ];

  for (const handler of plugin.tasks ?? []) {
    const kind = handler.kind;
    checks.push(
      check(`${kind}: has conformance samples`, async () => {
        await useSamples(kind);
      }),
      check(`${kind}: returns exactly one outcome per item, in order`, async () => {
        const { valid, comparable = (value: unknown) => value } = await useSamples(kind);
        const { context } = await handlerOf(kind);
        const view = (outcome: { ok: boolean; value?: unknown; error?: { code: string } }) =>
          outcome.ok
            ? { ok: true, value: comparable(outcome.value) }
            : { ok: false, code: outcome.error!.code };
        const solo: ReturnType<typeof view>[] = [];
        for (const input of valid) solo.push(view((await runTaskBatch(kind, handler, context, [input]))[0]!));
        solo.forEach((outcome, index) =>
          assert.ok(outcome.ok, `valid sample ${index} failed alone: ${JSON.stringify(outcome)}`),
        );
        assert.ok(
          solo.some((outcome) => !sameValue(outcome, solo[0])),
          'the valid samples all give the same outcome, so order cannot be checked: vary them',
        );
        const batched = (await runTaskBatch(kind, handler, context, valid)).map(view);
        batched.forEach((outcome, index) =>
          assert.ok(
            sameValue(outcome, solo[index]),
            `outcome ${index} of the batch differs from item ${index} run alone (wrong order?):\n` +
              `batched: ${JSON.stringify(outcome)}\nalone:   ${JSON.stringify(solo[index])}`,
          ),
        );
      }),
      check(`${kind}: returns plain JSON values (cluster mode sends them between processes)`, async () => {
        const { valid } = await useSamples(kind);
        const { context } = await handlerOf(kind);
        for (const [index, outcome] of (await runTaskBatch(kind, handler, context, valid)).entries()) {
          if (!outcome.ok) continue;
          const { value } = outcome;
          assert.ok(
            sameValue(throughWire(value, `the value of ${kind} sample ${index}`), value, 0),
            `the value of sample ${index} changes through JSON (a Date, typed array, Map or undefined field?)`,
          );
        }
      }),
      check(`${kind}: fails a bad item alone with a typed client error`, async () => {
        const { valid, invalid } = await useSamples(kind);
        const { context } = await handlerOf(kind);
        for (const [index, bad] of invalid.entries()) {
          const outcomes = await runTaskBatch(kind, handler, context, [valid[0], bad, valid[1]]);
          const [before, failed, after] = outcomes;
          assert.ok(before?.ok && after?.ok, `invalid sample ${index} made its neighbours fail too`);
          assert.ok(failed && !failed.ok, `invalid sample ${index} succeeded: ${JSON.stringify(bad)}`);
          assert.ok(isHbiError(failed.error), `invalid sample ${index} failed without an HbiError`);
          const status = ERROR_CODES[failed.error.code].httpStatus;
          assert.ok(
            status >= 400 && status < 500,
            `invalid sample ${index} failed with ${failed.error.code}, not a client error: ${failed.error.message}`,
          );
        }
      }),
      check(
        `${kind}: handles a full batch of maxBatchSize (${handler.maxBatchSize ?? 1}) items`,
        async () => {
          const { valid } = await useSamples(kind);
          const { context } = await handlerOf(kind);
          const size = handler.maxBatchSize ?? 1;
          const inputs = Array.from({ length: size }, (_, index) => valid[index % valid.length]);
          const outcomes = await runTaskBatch(kind, handler, context, inputs);
          const failed = outcomes.flatMap((outcome, index) =>
            outcome.ok ? [] : [`${index}: ${outcome.error.code}`],
          );
          assert.deepEqual(failed, [], `items of a full batch failed: ${failed.join(', ')}`);
        },
      ),
    );
  }

  return {
    title: `plugin ${name}`,
    checks,
    async close() {
      const registry = await started?.catch(() => undefined);
      await registry?.stop();
      const shared = await services?.catch(() => undefined);
      if (shared) await options.releaseServices?.(shared);
    },
  };
}

function check(name: string, run: () => void | Promise<void>): ConformanceCheck {
  return { name, run: async () => run() };
}

function checkSamples(kind: string, samples: TaskSamples | undefined): TaskSamples {
  assert.ok(
    samples,
    `no conformance samples for task kind "${kind}": pass samples: { "${kind}": { valid: [...], invalid: [...] } }`,
  );
  assert.ok(samples.valid.length >= 2, `${kind}: give at least two valid samples (to check outcome order)`);
  assert.ok(samples.invalid.length >= 1, `${kind}: give at least one invalid sample`);
  return samples;
}
