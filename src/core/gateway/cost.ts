/**
 * What a field costs to resolve, declared beside its policy: `@Cost(n)` or `@Cost((args, context) => n)`,
 * computed from the field's arguments before anything runs (a search by its page size and candidate
 * count, an answer or caption over a whole video by the segments it may read, a beam by its width).
 * The unit is roughly "one segment through a model head"; a field that declares nothing costs 1. The
 * operation's total is checked against HBI_MAX_QUERY_COMPLEXITY and charged to the caller's key and
 * tenant rate limits (rate-limits.ts).
 */
import { Extensions } from 'type-graphql';

import { HbiError } from '../errors.js';
import type { GatewayContext } from './context.js';

/** A cost from the field's coerced arguments and the request's context (for plugin settings). */
export type CostFunction = (
  args: Readonly<Record<string, unknown>>,
  context: GatewayContext | undefined,
) => number;

/** Declares the cost of resolving a field once (its selection's cost is added, times its page size). */
export function Cost(cost: number | CostFunction): MethodDecorator & PropertyDecorator {
  if (typeof cost === 'number' && !(Number.isFinite(cost) && cost >= 0)) {
    throw new HbiError('PLUGIN_INVALID', `A field's cost must be a number >= 0, not ${cost}`);
  }
  return Extensions({ cost });
}

/** The declared cost of a field with `args`, or undefined when it declares none. */
export function declaredCost(
  extensions: Readonly<Record<string, unknown>> | null | undefined,
  args: Readonly<Record<string, unknown>>,
  context: GatewayContext | undefined,
): number | undefined {
  const cost = extensions?.cost;
  if (typeof cost === 'number') return cost;
  if (typeof cost !== 'function') return undefined;
  const value = (cost as CostFunction)(args, context);
  // A cost function that fails or answers nonsense must not make a field free.
  if (!Number.isFinite(value) || value < 0) {
    throw new HbiError('INTERNAL', `A field's cost function returned ${value}`);
  }
  return value;
}

/** The number an argument holds when it is a positive finite number, else `fallback`. */
export function numberArg(args: Readonly<Record<string, unknown>>, name: string, fallback: number): number {
  const value = args[name];
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * A plugin's settings for a cost function: its configuration where this process runs the plugin,
 * else nothing (a cluster gateway hands tasks to workers and starts no plugin: the cost function then
 * falls back to the plugin's defaults).
 */
export function pluginSettings<T>(context: GatewayContext | undefined, plugin: string): Partial<T> {
  return (context?.services.pluginContext(plugin)?.config as Partial<T> | undefined) ?? {};
}
