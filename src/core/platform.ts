/**
 * The whole embedded process in one call: kernel (shared services), plugin registry (built-ins plus
 * HBI_PLUGINS), GraphQL gateway. Start order is kernel → required graphs checked → plugins set up →
 * schema built → server listening; stop runs the reverse. Any failure stops what already started.
 */
import { randomUUID } from 'node:crypto';

import type { Config } from './config.js';
import { toHbiError } from './errors.js';
import type { Gateway } from './gateway/http-server.js';
import { startGateway } from './gateway/http-server.js';
import type { GatewayPubSub } from './gateway/schema.js';
import { buildGatewaySchema } from './gateway/schema.js';
import { forwardVideoEvents } from './gateway/video-events.resolver.js';
import type { Kernel } from './kernel.js';
import { bootKernel } from './kernel.js';
import type { Logger } from './logger.js';
import type { HbiPlugin } from './plugins/define-plugin.js';
import { loadPlugins } from './plugins/load-plugins.js';
import type { PluginRegistry } from './plugins/registry.js';

export interface PlatformOptions {
  /** Plugins shipped with the platform (src/plugins), registered before HBI_PLUGINS. */
  builtins: readonly HbiPlugin[];
}

export interface Platform {
  kernel: Kernel;
  registry: PluginRegistry;
  gateway: Gateway;
  pubSub: GatewayPubSub;
  /** Stops server, plugins and kernel, in that order; safe to call twice. */
  stop(): Promise<void>;
}

/** Boots everything `hbi serve` runs; throws the first typed failure after cleaning up. */
export async function startPlatform(
  config: Config,
  logger: Logger,
  options: PlatformOptions,
): Promise<Platform> {
  const kernel = await bootKernel(config, logger);
  let registry: PluginRegistry | undefined;
  try {
    registry = await loadPlugins({ builtins: options.builtins, external: config.plugins });
    registry.checkRequiredGraphs(kernel.modelPackage.graphs);
    await registry.start(
      {
        encoder: kernel.encoder,
        db: kernel.db,
        storage: kernel.storage,
        events: kernel.events,
        logger: logger.child({ component: 'plugins' }),
        model: kernel.modelPackage.manifest,
        modelVersion: kernel.modelVersion,
      },
      config.pluginConfig,
    );
    const started = registry;
    const { schema, pubSub } = await buildGatewaySchema(started.plugins);
    const forwarding = await forwardVideoEvents(kernel.events, pubSub, `gateway-${randomUUID()}`);
    const gateway = await startGateway({
      schema,
      host: config.host,
      port: config.port,
      services: {
        config,
        logger: logger.child({ component: 'gateway' }),
        encoder: kernel.encoder,
        modelPackage: kernel.modelPackage,
        plugins: started.plugins,
        pluginContext: (name) => started.context(name),
      },
    });
    let stopped: Promise<void> | undefined;
    return {
      kernel,
      registry: started,
      gateway,
      pubSub,
      stop: () =>
        (stopped ??= (async () => {
          await gateway.stop().catch((error: unknown) => logger.error('gateway stop failed', { error }));
          await forwarding.stop();
          await started.stop().catch((error: unknown) => logger.error('plugin stop failed', { error }));
          await kernel.stop();
        })()),
    };
  } catch (error) {
    await registry?.stop().catch(() => undefined);
    await kernel.stop();
    throw toHbiError(error);
  }
}
