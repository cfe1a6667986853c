/** In-process fakes of the services plugins receive, for tests that need a PluginServices object. */
import type { Principal } from '../../src/core/auth/principal.js';
import { HbiError } from '../../src/core/errors.js';
import type { GatewayServices } from '../../src/core/gateway/context.js';
import type { Logger } from '../../src/core/logger.js';
import { DEFAULT_TENANT_ID } from '../../src/core/tenancy.js';
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

/** The one key the fake gateway auth accepts: an admin of the default tenant. */
export const FAKE_ADMIN_KEY = 'hbik_fake-admin-key';

/**
 * Gateway auth services for in-process gateway tests: `FAKE_ADMIN_KEY` is an admin of the default
 * tenant, no header is no principal, anything else is refused. Keys and audit are not used.
 */
export function fakeGatewayAuth(): Pick<GatewayServices, 'authenticate' | 'keys' | 'audit'> {
  const admin: Principal = { tenantId: DEFAULT_TENANT_ID, role: 'admin', kind: 'key', id: 'fake-admin' };
  return {
    authenticate: (authorization) => {
      if (authorization === undefined) return Promise.resolve(null);
      if (authorization === `Bearer ${FAKE_ADMIN_KEY}`) return Promise.resolve(admin);
      return Promise.reject(new HbiError('UNAUTHENTICATED', 'The API key is not valid'));
    },
    keys: { isActive: () => Promise.resolve(true) } as unknown as GatewayServices['keys'],
    audit: { record: () => Promise.resolve(), list: () => Promise.resolve([]) },
  };
}
