/** In-process fakes of the services plugins receive, for tests that need a PluginServices object. */
import type { Logger } from '../../src/core/logger.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { PluginServices } from '../../src/core/plugins/define-plugin.js';
import type { TaskScoping } from '../../src/core/plugins/registry.js';

/** Services whose encoder and model throw if used: registry tests only need them to exist. */
export function fakeServices(logger: Logger = createMemoryLogger()): PluginServices {
  const unused = (what: string) =>
    new Proxy({} as never, {
      get: (_target, property) => {
        if (property === 'then') return undefined;
        throw new Error(`${what}.${String(property)} is not available in this test`);
      },
    });
  return {
    encoder: unused('encoder'),
    logger,
    model: unused('model'),
    modelVersion: unused('modelVersion'),
  };
}

/** Task-context capabilities that throw if used (registry tests run handlers that read nothing). */
export function fakeScoping(): TaskScoping {
  const unused = (what: string) =>
    new Proxy({} as never, {
      get: (_target, property) => {
        if (property === 'then') return undefined;
        throw new Error(`${what}.${String(property)} is not available in this test`);
      },
    });
  return { segments: () => unused('segments'), cache: () => unused('cache') };
}
