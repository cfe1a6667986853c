/** The core queries every deployment has, whatever plugins are loaded: `health`, `model`, `plugins`. */
import { Ctx, Query, Resolver } from 'type-graphql';

import { Policy } from '../auth/policy.js';
import { redactRecord } from '../util/redact.js';
import { readiness } from './context.js';
import type { GatewayContext } from './context.js';
import { EncoderStatus, Health, ModelDims, ModelInfo, PluginInfo } from './core.types.js';

@Resolver()
export class CoreResolver {
  @Policy('public')
  @Query(() => Health, {
    description: 'Liveness and readiness; readiness means the encoder is warm and the task bus answers.',
  })
  health(@Ctx() { services, principal }: GatewayContext): Health {
    const state = services.encoder.state;
    const ready = readiness(services);
    // Anyone may ask whether the server is ready; how it runs (providers, the task bus) is for admins.
    const details = principal?.role === 'admin';
    return Object.assign(new Health(), {
      live: true,
      ready: ready.ready,
      taskBus: details ? ready.taskBus : null,
      encoder: state.status as EncoderStatus,
      providers: details && 'providers' in state ? [...state.providers] : [],
    });
  }

  @Policy('read')
  @Query(() => ModelInfo, { description: 'The loaded model package: identity, sizes and reached metrics.' })
  model(@Ctx() { services }: GatewayContext): ModelInfo {
    const { manifest, id, graphs } = services.modelPackage;
    const dims = Object.assign(new ModelDims(), {
      embed: manifest.dims.embed,
      frames: manifest.dims.frames,
      height: manifest.dims.height,
      width: manifest.dims.width,
      maxWords: manifest.dims.max_words,
      vocab: manifest.dims.vocab,
      answers: manifest.dims.answers,
    });
    return Object.assign(new ModelInfo(), {
      id,
      name: manifest.name,
      version: manifest.version,
      architecture: manifest.architecture,
      dims,
      graphs: [...graphs],
      metrics: { ...manifest.metrics },
      // The manifest names the build machine's folders: shown from the repository root (or base names).
      provenance: redactRecord(manifest.provenance ?? {}, { paths: 'repository' }),
    });
  }

  @Policy('read')
  @Query(() => [PluginInfo], { description: 'Task plugins loaded in this process, in registration order.' })
  plugins(@Ctx() { services }: GatewayContext): PluginInfo[] {
    return services.plugins.map((plugin) =>
      Object.assign(new PluginInfo(), {
        name: plugin.name,
        version: plugin.version,
        tasks: (plugin.tasks ?? []).map((task) => task.kind),
        requiredGraphs: [...(plugin.requiredGraphs ?? [])],
      }),
    );
  }
}
