/**
 * The plugin API. A task plugin is a plain object made by `definePlugin`: a name, a version, the
 * type-graphql resolver classes it adds, the task kinds it handles (a batch in, one outcome per item
 * out), the model graphs it needs, its config schema, and an optional `setup` returning its teardown.
 * External plugins import these types from the published package; they never touch core singletons.
 */
import type { z } from 'zod';

import type { GraphName } from '../config.js';
import type { Database } from '../db/port.js';
import type { SharedEncoder } from '../encoder/types.js';
import { HbiError, toHbiError } from '../errors.js';
import type { EventBus } from '../events/port.js';
import type { Logger } from '../logger.js';
import type { ModelManifest } from '../model/manifest.js';
import type { ObjectStore } from '../storage/port.js';

/** What every plugin is handed: shared services built once by the kernel, plus its own config. */
export interface PluginContext<TConfig = unknown> {
  encoder: SharedEncoder;
  db: Database;
  storage: ObjectStore;
  events: EventBus;
  /** Already bound to `{ plugin: name }`. */
  logger: Logger;
  /** This plugin's settings from HBI_PLUGIN_CONFIG, validated by its `configSchema`. */
  config: TConfig;
  model: ModelManifest;
  /** The loaded package's `model_versions` row: plugins read and write vectors tagged with its id. */
  modelVersion: { id: string; modelId: string; embedDim: number };
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

/** Handles one task kind. Only `handle` is required; it returns exactly one outcome per item, in order. */
export interface TaskHandler<I = unknown, O = unknown, TConfig = unknown> {
  /** Validates each item's input before the batch runs; a failing item gets BAD_USER_INPUT alone. */
  input?: z.ZodType<I>;
  /** Largest batch this handler wants; the dispatcher never exceeds it. Default: 1. */
  maxBatchSize?: number;
  handle(batch: readonly TaskItem<I>[], context: PluginContext<TConfig>): Promise<readonly TaskOutcome<O>[]>;
}

/**
 * Types one task handler for a plugin's `tasks`: `I` comes from the `input` schema (the dispatcher
 * validates each item with it and hands `handle` the parsed value), `TConfig` from `handle`'s context.
 * Inputs and outputs cross a process boundary in cluster mode, so both must be plain JSON.
 */
export function defineTask<I, O, TConfig = unknown>(
  handler: TaskHandler<I, O, TConfig>,
): TaskHandler<never, O, TConfig> {
  return handler as unknown as TaskHandler<never, O, TConfig>;
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
  /** Task kinds this plugin handles, keyed by kind (e.g. `qa.answer`); kinds are unique across plugins. */
  tasks?: Readonly<Record<string, TaskHandler<never, unknown, TConfig>>>;
  /** Graphs the loaded model package must provide; checked at boot, before anything serves. */
  requiredGraphs?: readonly (GraphName | (string & {}))[];
  /** Validates this plugin's part of HBI_PLUGIN_CONFIG; defaults apply to an absent part. */
  configSchema?: z.ZodType<TConfig>;
  /** Runs once at start, after the encoder is ready; may return its teardown. */
  setup?: (context: PluginContext<TConfig>) => void | Teardown | Promise<void | Teardown>;
}

/** A checked, frozen plugin. The brand lets the registry recognise plugins built by another copy of core. */
export type HbiPlugin<TConfig = unknown> = Readonly<PluginDefinition<TConfig>> & {
  readonly [PLUGIN_BRAND]: true;
};

/** Registered globally so plugins compiled against a separately installed core still match. */
export const PLUGIN_BRAND: unique symbol = Symbol.for('hbi-platform.plugin') as never;

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const VERSION = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

/** Checks a plugin definition and returns it frozen and branded; throws PLUGIN_INVALID saying what is wrong. */
export function definePlugin<TConfig = unknown>(definition: PluginDefinition<TConfig>): HbiPlugin<TConfig> {
  const problems: string[] = [];
  if (!NAME.test(definition.name ?? ''))
    problems.push(`name ${JSON.stringify(definition.name)} is not kebab-case`);
  if (!VERSION.test(definition.version ?? ''))
    problems.push(`version ${JSON.stringify(definition.version)} is not semver`);
  for (const [kind, handler] of Object.entries(definition.tasks ?? {})) {
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
    tasks: Object.freeze({ ...definition.tasks }),
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
