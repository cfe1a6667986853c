/**
 * The plugin registry: an explicit list, checked before anything serves. Registering the same object
 * twice is a no-op; a different object under a taken name (or a taken task kind) fails fast. `start`
 * validates each plugin's config and runs its `setup` in order; a failure tears down what already
 * started. `stop` runs teardowns in reverse and reports every failure, not just the first.
 */
import { HbiError, UnreachableCaseError, toHbiError } from '../errors.js';
import type { SegmentStore } from '../segments/vector-store.js';
import type {
  AnyTask,
  HbiPlugin,
  PluginContext,
  PluginServices,
  TaskContext,
  Teardown,
} from './define-plugin.js';
import { isPlugin } from './define-plugin.js';
import type { ResultCache } from './result-cache.js';

/**
 * Makes the tenant-bound capabilities of a task context. The platform builds it from the database,
 * the vector store and the model version; tests may pass in-process fakes.
 */
export interface TaskScoping {
  segments(tenantId: string): SegmentStore;
  cache(plugin: string, tenantId: string): ResultCache;
}

/** A task kind's handler, its plugin, and the way to its tenant-bound context. */
export interface TaskRouteEntry {
  plugin: HbiPlugin;
  handler: AnyTask;
  /** The task context for one tenant (the capabilities bound to it). */
  context(tenantId: string): TaskContext;
}

/** Where the registry is in its life; transitions only go forward. */
export type RegistryState =
  | { phase: 'registering' }
  | { phase: 'starting' }
  | { phase: 'started'; teardowns: readonly { plugin: string; teardown: Teardown }[] }
  | { phase: 'stopping' }
  | { phase: 'stopped' }
  | { phase: 'failed'; error: HbiError };

export class PluginRegistry {
  #state: RegistryState = { phase: 'registering' };
  readonly #plugins = new Map<string, HbiPlugin>();
  readonly #taskOwners = new Map<string, string>();
  readonly #contexts = new Map<string, PluginContext>();
  #scoping: TaskScoping | undefined;

  get state(): RegistryState {
    return this.#state;
  }

  /** Plugins in registration order. */
  get plugins(): readonly HbiPlugin[] {
    return [...this.#plugins.values()];
  }

  /** Adds a plugin; only allowed before `start`. */
  register(plugin: unknown): this {
    if (this.#state.phase !== 'registering') {
      throw new HbiError(
        'PLUGIN_INVALID',
        `Cannot register plugins while the registry is ${this.#state.phase}`,
      );
    }
    if (!isPlugin(plugin)) {
      throw new HbiError('PLUGIN_INVALID', 'Not a plugin: build plugins with definePlugin({...})');
    }
    const existing = this.#plugins.get(plugin.name);
    if (existing === plugin) return this;
    if (existing) {
      throw new HbiError(
        'PLUGIN_INVALID',
        `Duplicate plugin name "${plugin.name}": two different plugins claim it`,
        {
          details: { plugin: plugin.name },
        },
      );
    }
    for (const kind of taskKinds(plugin)) {
      const owner = this.#taskOwners.get(kind);
      if (owner) {
        throw new HbiError(
          'PLUGIN_INVALID',
          `Task kind "${kind}" of plugin "${plugin.name}" is already handled by "${owner}"`,
          {
            details: { plugin: plugin.name, kind, owner },
          },
        );
      }
    }
    for (const kind of taskKinds(plugin)) this.#taskOwners.set(kind, plugin.name);
    this.#plugins.set(plugin.name, plugin);
    return this;
  }

  /** The handler, owning plugin and tenant-bound context of a task kind, once started. */
  taskHandler(kind: string): TaskRouteEntry | undefined {
    const name = this.#taskOwners.get(kind);
    const plugin = name === undefined ? undefined : this.#plugins.get(name);
    const context = name === undefined ? undefined : this.#contexts.get(name);
    const handler = plugin?.tasks?.find((task) => task.kind === kind);
    const scoping = this.#scoping;
    if (!plugin || !handler || !context || !scoping) return undefined;
    return {
      plugin,
      handler,
      context: (tenantId) => ({
        ...context,
        tenantId,
        segments: scoping.segments(tenantId),
        cache: scoping.cache(plugin.name, tenantId),
      }),
    };
  }

  /** A started plugin's context (what its `setup` received); undefined before start or for unknown names. */
  context(name: string): PluginContext | undefined {
    return this.#contexts.get(name);
  }

  /** Fails fast (MODEL_GRAPH_MISSING) listing every plugin whose required graphs the package lacks. */
  checkRequiredGraphs(available: Iterable<string>): void {
    const have = new Set(available);
    const missing = this.plugins.flatMap((plugin) =>
      (plugin.requiredGraphs ?? [])
        .filter((graph) => !have.has(graph))
        .map((graph) => `${plugin.name} needs "${graph}"`),
    );
    if (missing.length > 0) {
      throw new HbiError(
        'MODEL_GRAPH_MISSING',
        `The model package lacks graphs that plugins need: ${missing.join('; ')}`,
        {
          details: { missing, available: [...have] },
        },
      );
    }
  }

  /**
   * Validates every plugin's config, then runs each `setup` in registration order. `scoping` makes the
   * tenant-bound capabilities of task contexts; without it the plugins are set up but run no tasks.
   */
  async start(
    services: PluginServices,
    pluginConfig: Readonly<Record<string, unknown>> = {},
    scoping?: TaskScoping,
  ): Promise<void> {
    if (this.#state.phase !== 'registering') {
      throw new HbiError('PLUGIN_INVALID', `Cannot start a registry that is ${this.#state.phase}`);
    }
    this.#state = { phase: 'starting' };
    this.#scoping = scoping;
    const unknown = Object.keys(pluginConfig).filter((name) => !this.#plugins.has(name));
    if (unknown.length > 0) {
      services.logger.warn('HBI_PLUGIN_CONFIG names plugins that are not loaded', { unknown });
    }
    const teardowns: { plugin: string; teardown: Teardown }[] = [];
    try {
      for (const plugin of this.#plugins.values())
        this.#contexts.set(plugin.name, buildContext(plugin, services, pluginConfig));
      for (const plugin of this.#plugins.values()) {
        const teardown = await runSetup(plugin, this.#contexts.get(plugin.name)!);
        if (teardown) teardowns.push({ plugin: plugin.name, teardown });
      }
    } catch (error) {
      const failure = toHbiError(error, 'PLUGIN_INVALID');
      const cleanup = await runTeardowns(teardowns);
      if (cleanup.length > 0)
        services.logger.error('teardown after a failed start also failed', { errors: cleanup });
      this.#state = { phase: 'failed', error: failure };
      throw failure;
    }
    this.#state = { phase: 'started', teardowns };
  }

  /** Runs teardowns in reverse order; every one runs even if others fail, then failures are reported together. */
  async stop(): Promise<void> {
    const state = this.#state;
    switch (state.phase) {
      case 'registering':
      case 'failed':
      case 'stopped':
        this.#state = { phase: 'stopped' };
        return;
      case 'starting':
      case 'stopping':
        throw new HbiError('PLUGIN_INVALID', `Cannot stop a registry that is ${state.phase}`);
      case 'started': {
        this.#state = { phase: 'stopping' };
        const failures = await runTeardowns(state.teardowns);
        this.#state = { phase: 'stopped' };
        if (failures.length > 0) {
          throw new HbiError('INTERNAL', `Teardown failed for ${failures.map((f) => f.plugin).join(', ')}`, {
            cause: new AggregateError(failures.map((f) => f.error)),
          });
        }
        return;
      }
      default:
        throw new UnreachableCaseError(state);
    }
  }
}

function taskKinds(plugin: HbiPlugin): string[] {
  return (plugin.tasks ?? []).map((task) => task.kind);
}

function buildContext(
  plugin: HbiPlugin,
  services: PluginServices,
  pluginConfig: Readonly<Record<string, unknown>>,
): PluginContext {
  const raw = pluginConfig[plugin.name] ?? {};
  let config: unknown = raw;
  if (plugin.configSchema) {
    const parsed = plugin.configSchema.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
      );
      throw new HbiError(
        'CONFIG_INVALID',
        `Invalid config for plugin "${plugin.name}": ${problems.join('; ')}`,
        {
          details: { plugin: plugin.name, problems },
        },
      );
    }
    config = parsed.data;
  }
  return { ...services, logger: services.logger.child({ plugin: plugin.name }), config };
}

async function runSetup(plugin: HbiPlugin, context: PluginContext): Promise<Teardown | undefined> {
  try {
    const result = await plugin.setup?.(context);
    return typeof result === 'function' ? result : undefined;
  } catch (error) {
    throw new HbiError(
      'PLUGIN_INVALID',
      `Plugin "${plugin.name}" failed to set up: ${String((error as Error)?.message ?? error)}`,
      {
        cause: error,
        details: { plugin: plugin.name },
      },
    );
  }
}

async function runTeardowns(
  teardowns: readonly { plugin: string; teardown: Teardown }[],
): Promise<{ plugin: string; error: unknown }[]> {
  const failures: { plugin: string; error: unknown }[] = [];
  for (const { plugin, teardown } of [...teardowns].reverse()) {
    try {
      await teardown();
    } catch (error) {
      failures.push({ plugin, error });
    }
  }
  return failures;
}
