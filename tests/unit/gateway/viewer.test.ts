/**
 * `viewer`, which the web console reads at sign-in to know the key's role (a read key sees no upload,
 * delete or re-index controls): each key gets its own tenant and role; no key, a wrong key or a revoked
 * key gets no viewer.
 */
import 'reflect-metadata';

import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApiKeyStore } from '../../../src/core/auth/api-keys.js';
import { loadConfig } from '../../../src/core/config.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { Platform } from '../../../src/core/platform.js';
import { startPlatform } from '../../../src/core/platform.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/tenancy.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import { gatewayClient } from '../../helpers/gateway-client.js';
import { systemView } from '../../helpers/system-scope.js';

const VIEWER = '{ viewer { id kind role tenantId } }';

describe('viewer: the tenant and role of the calling key', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  const otherTenant = randomUUID();
  const keys: Record<string, { token: string; id: string }> = {};

  beforeAll(async () => {
    temp = await tempDir('hbi-viewer-');
    const config = loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: [] });
    const store = new ApiKeyStore(platform.kernel.db);
    await systemView(platform.kernel.db).prisma.tenant.create({ data: { id: otherTenant, name: 'other' } });
    for (const role of ['read', 'write', 'admin'] as const) {
      const created = await store.create({ tenantId: DEFAULT_TENANT_ID, name: role, role });
      keys[role] = { token: created.token, id: created.id };
    }
    const other = await store.create({ tenantId: otherTenant, name: 'other', role: 'read' });
    keys.other = { token: other.token, id: other.id };
    const revoked = await store.create({ tenantId: DEFAULT_TENANT_ID, name: 'gone', role: 'admin' });
    await store.revoke(DEFAULT_TENANT_ID, revoked.id);
    keys.revoked = { token: revoked.token, id: revoked.id };
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  const ask = (token?: string) => gatewayClient(platform.gateway.url, token).graphql(VIEWER);

  it('names the role and tenant of each key', async () => {
    for (const role of ['read', 'write', 'admin'] as const) {
      const answer = await ask(keys[role]!.token);
      expect(answer.body).toEqual({
        data: {
          viewer: { id: keys[role]!.id, kind: 'key', role: role.toUpperCase(), tenantId: DEFAULT_TENANT_ID },
        },
      });
    }
    expect((await ask(keys.other!.token)).body.data.viewer).toMatchObject({
      role: 'READ',
      tenantId: otherTenant,
    });
  });

  it('answers nothing without a key, with a wrong key or with a revoked key', async () => {
    const anonymous = await ask();
    expect(anonymous.body.data ?? null).toBeNull();
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    for (const token of ['hbik_not-a-key', keys.revoked!.token]) {
      const refused = await ask(token);
      expect(refused.status).toBe(401);
      expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });
});
