/** In-process fakes of the services plugins receive, for tests that need a PluginServices object. */
import type { Database } from '../../src/core/db/port.js';
import { createMemoryEventBus } from '../../src/core/events/memory.js';
import type { Logger } from '../../src/core/logger.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { PluginServices } from '../../src/core/plugins/define-plugin.js';

/** Services whose encoder, database and store throw if used: registry tests only need them to exist. */
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
    db: unused('db') as Database,
    storage: unused('storage'),
    events: createMemoryEventBus(),
    logger,
    model: unused('model'),
    modelVersion: unused('modelVersion'),
  };
}
