/**
 * The plugin API. A task plugin is a plain object made by `definePlugin`: a name, a version, the
 * type-graphql resolver classes it adds, the tasks it handles (typed handles made by `defineTask`: a
 * batch in, one outcome per item out), the model graphs it needs, its config schema, and an optional
 * `setup` returning its teardown. External plugins import these types from the published package; they
 * never touch core singletons, tables or SQL: what they read comes through narrow capabilities, each
 * bound to the request's tenant before the plugin sees it.
 */
import type { z } from 'zod';

import type { GraphName } from '../config.js';
import type { SharedEncoder } from '../encoder/types.js';
import { HbiError, toHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ModelManifest } from '../model/manifest.js';
import type { SegmentStore } from '../segments/vector-store.js';
import type { ResultCache } from './result-cache.js';

/** What every plugin is handed at setup and with every task batch: shared services plus its own config. */
export interface PluginContext<TConfig = unknown> {
  encoder: SharedEncoder;
  /** Already bound to `{ plugin: name }`. */
  logger: Logger;
  /** This plugin's settings from HBI_PLUGIN_CONFIG, validated by its `configSchema`. */
  config: TConfig;
  model: ModelManifest;
  /** The loaded package's version: `modelId` (`name@version`) names it in results and messages. */
  modelVersion: { id: string; modelId: string; embedDim: number };
}

/**
 * What a task batch is handed: the plugin's context plus capabilities bound to the tenant of every
 * item in the batch (the dispatcher never mixes tenants in one batch). A plugin cannot name another
 * tenant: it has no tenant argument anywhere, and another tenant's ids read as NOT_FOUND.
 */
export interface TaskContext<TConfig = unknown> extends PluginContext<TConfig> {
  /** The tenant the batch runs for (for logs; every capability below is already bound to it). */
  readonly tenantId: string;
  /** Indexed segments of this tenant: nearest neighbours with filters, frame tensors for a scope. */
  segments: SegmentStore;
  /** This plugin's result cache for this tenant and model version. */
  cache: ResultCache;
}

/** The shared services without the per-plugin parts; the registry derives each plugin's context from it. */
export type PluginServices = Omit<PluginContext, 'logger' | 'config'> & { logger: Logger };

/** One item's outcome: a value, or its own typed error that fails only this item. */
export type TaskOutcome<O> = { ok: true; value: O } | { ok: false; error: HbiError };

/** One unit of work in a batch; `id` lets the dispatcher route the outcome back. */
export interface TaskItem<I> {
  id: string;
  input: I;
}

/**
 * A task kind and its handler: the typed handle resolvers pass to `tasks.run(task, input)`. `I` is
 * what `handle` receives (the input schema's output), `In` what callers give (its input), `O` the
 * result. Inputs and outputs cross a process boundary in cluster mode, so both must be plain JSON.
 */
export interface TaskDefinition<I = unknown, O = unknown, TConfig = unknown, In = I> {
  /** `<plugin>.<task>`; unique across plugins. */
  readonly kind: string;
  /** Validates each item's input before the batch runs; a failing item gets BAD_USER_INPUT alone. */
  readonly input?: z.ZodType<I, In>;
  /** Largest batch this handler wants; the dispatcher never exceeds it. Default: 1. */
  readonly maxBatchSize?: number;
  /** Returns exactly one outcome per item, in order. */
  handle(batch: readonly TaskItem<I>[], context: TaskContext<TConfig>): Promise<readonly TaskOutcome<O>[]>;
}

/** What callers give a task (its input schema's input type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inference over any task's parameters
export type TaskInput<T> = T extends TaskDefinition<any, any, any, infer In> ? In : never;
/** What a task resolves with. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inference over any task's parameters
export type TaskOutput<T> = T extends TaskDefinition<any, infer O, any, any> ? O : never;

/** Any task, whatever its types (the registry's and dispatcher's view). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a task of any input, output and config
export type AnyTask = TaskDefinition<any, unknown, any, any>;

/** Runs tasks for one request: the gateway binds it to the request's tenant before resolvers see it. */
export interface TaskRunner {
  /** Runs one item of `task`; resolves with its output or rejects with the item's own HbiError. */
  run<T extends AnyTask>(
    task: T,
    input: TaskInput<T>,
    options?: { timeoutMs?: number },
  ): Promise<TaskOutput<T>>;
}

/**
 * Makes a task handle. With an `input` schema, `handle` gets each item's parsed value and callers
 * must give the schema's input type; `TConfig` comes from `handle`'s context annotation.
 */
export function defineTask<S extends z.ZodType, O, TConfig = unknown>(definition: {
  kind: string;
  input: S;
  maxBatchSize?: number;
  handle(
    batch: readonly TaskItem<z.output<S>>[],
    context: TaskContext<TConfig>,
  ): Promise<readonly TaskOutcome<O>[]>;
}): TaskDefinition<z.output<S>, O, TConfig, z.input<S>>;
export function defineTask<I, O, TConfig = unknown>(definition: {
  kind: string;
  input?: z.ZodType<I>;
  maxBatchSize?: number;
  handle(batch: readonly TaskItem<I>[], context: TaskContext<TConfig>): Promise<readonly TaskOutcome<O>[]>;
}): TaskDefinition<I, O, TConfig, I>;
export function defineTask(definition: TaskDefinition): TaskDefinition {
  return Object.freeze({ ...definition });
}

/**
 * The usual `handle` body for items that need no shared work: runs `work` on every item at once and
 * turns what each throws into that item's own typed error, so one bad item never fails its batch.
 */
export function handleEach<I, O>(
  batch: readonly TaskItem<I>[],
  work: (input: I, item: TaskItem<I>) => Promise<O>,
): Promise<TaskOutcome<O>[]> {
  return Promise.all(
    batch.map(async (item): Promise<TaskOutcome<O>> => {
      try {
        return { ok: true, value: await work(item.input, item) };
      } catch (error) {
        return { ok: false, error: toHbiError(error) };
      }
    }),
  );
}

/** Undoes what `setup` did (closes timers, subscriptions); called once, in reverse start order. */
export type Teardown = () => void | Promise<void>;

/** A type-graphql resolver class (constructed by type-graphql's container). */
export type ResolverClass = abstract new (...args: never[]) => unknown;

export interface PluginDefinition<TConfig = unknown> {
  /** Unique, kebab-case; a built-in plugin's name is its folder name. */
  name: string;
  /** The plugin's own version (semver), shown in `plugins { name version }`. */
  version: string;
  /** Resolver classes merged into the GraphQL schema. */
  resolvers?: readonly ResolverClass[];
  /** The tasks this plugin handles (made by `defineTask`); kinds are unique across plugins. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each task has its own input and output
  tasks?: readonly TaskDefinition<any, unknown, TConfig, any>[];
  /** Graphs the loaded model package must provide; checked at boot, before anything serves. */
  requiredGraphs?: readonly (GraphName | (string & {}))[];
  /** Validates this plugin's part of HBI_PLUGIN_CONFIG; defaults apply to an absent part. */
  configSchema?: z.ZodType<TConfig>;
  /** Runs once at start, after the encoder is ready; may return its teardown. */
  setup?(context: PluginContext<TConfig>): void | Teardown | Promise<void | Teardown>;
}

/** A checked, frozen plugin. The brand lets the registry recognise plugins built by another copy of core. */
export type HbiPlugin<TConfig = unknown> = Readonly<PluginDefinition<TConfig>> & {
  readonly [PLUGIN_BRAND]: true;
};

/** Registered globally so plugins compiled against a separately installed core still match. */
export const PLUGIN_BRAND: unique symbol = Symbol.for('hbi-platform.plugin') as never;

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const TASK_KIND = /^[a-z][a-zA-Z0-9-]*\.[a-zA-Z][a-zA-Z0-9-]*$/;
const VERSION = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/** Checks a plugin definition and returns it frozen and branded; throws PLUGIN_INVALID saying what is wrong. */
export function definePlugin<TConfig = unknown>(definition: PluginDefinition<TConfig>): HbiPlugin<TConfig> {
  const problems: string[] = [];
  if (!NAME.test(definition.name ?? ''))
    problems.push(`name ${JSON.stringify(definition.name)} is not kebab-case`);
  if (!VERSION.test(definition.version ?? ''))
    problems.push(`version ${JSON.stringify(definition.version)} is not semver`);
  const kinds = new Set<string>();
  for (const handler of definition.tasks ?? []) {
    const kind = String(handler?.kind);
    if (!TASK_KIND.test(kind))
      problems.push(`task kind ${JSON.stringify(handler?.kind)} is not <plugin>.<task>`);
    if (kinds.has(kind)) problems.push(`task ${kind} is listed twice`);
    kinds.add(kind);
    if (typeof handler?.handle !== 'function') problems.push(`task ${kind} has no handle(batch) function`);
    if (
      handler?.maxBatchSize !== undefined &&
      !(Number.isInteger(handler.maxBatchSize) && handler.maxBatchSize > 0)
    ) {
      problems.push(`task ${kind} has an invalid maxBatchSize`);
    }
  }
  for (const resolver of definition.resolvers ?? []) {
    if (typeof resolver !== 'function') problems.push('resolvers must be classes');
  }
  if (definition.setup !== undefined && typeof definition.setup !== 'function')
    problems.push('setup must be a function');
  if (problems.length > 0) {
    throw new HbiError(
      'PLUGIN_INVALID',
      `Plugin ${definition.name ?? '(unnamed)'} is invalid: ${problems.join('; ')}`,
      {
        details: { plugin: definition.name, problems },
      },
    );
  }
  return Object.freeze({
    ...definition,
    resolvers: Object.freeze([...(definition.resolvers ?? [])]),
    tasks: Object.freeze([...(definition.tasks ?? [])]),
    requiredGraphs: Object.freeze([...(definition.requiredGraphs ?? [])]),
    [PLUGIN_BRAND]: true as const,
  });
}

/** True for objects made by `definePlugin` (from any copy of this module). */
export function isPlugin(value: unknown): value is HbiPlugin {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true
  );
}
