/** `hbi tenants …` and `hbi keys …` on an embedded database, as an operator runs them on the server. */
import 'reflect-metadata';

import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../../src/cli/run.js';
import { EXIT_CODES } from '../../../src/cli/exit-codes.js';
import { ApiKeyStore } from '../../../src/core/auth/api-keys.js';
import { loadConfig } from '../../../src/core/config.js';
import { openDatabase } from '../../../src/core/adapters.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { captureIo } from '../../helpers/cli-io.js';
import { tempDir } from '../../helpers/fixtures.js';
import { systemView } from '../../helpers/system-scope.js';

describe('hbi tenants / hbi keys', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    temp = await tempDir('hbi-access-');
    env = { HBI_DATA_DIR: path.join(temp.dir, 'data'), HBI_LOG_LEVEL: 'error' };
  });
  afterAll(() => temp?.cleanup());

  const hbi = async (...argv: string[]) => {
    const captured = captureIo(env);
    const code = await runCli(argv, captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it('creates a tenant and keys for it, lists them without secrets, revokes one, and audits each change', async () => {
    const created = await hbi('tenants', 'create', 'acme', '--json');
    expect(created.code).toBe(EXIT_CODES.OK);
    const tenant = JSON.parse(created.stdout) as { id: string; name: string };
    expect(tenant.name).toBe('acme');
    expect((await hbi('tenants', 'create', 'acme')).code).toBe(EXIT_CODES.USAGE);

    const key = await hbi(
      'keys',
      'create',
      '--tenant',
      'acme',
      '--role',
      'write',
      '--name',
      'camera-7',
      '--json',
    );
    expect(key.code).toBe(EXIT_CODES.OK);
    const { id, token, role } = JSON.parse(key.stdout) as { id: string; token: string; role: string };
    expect(role).toBe('write');
    expect(token).toMatch(/^hbik_/);
    expect((await hbi('keys', 'create', '--role', 'owner', '--name', 'x')).code).toBe(EXIT_CODES.USAGE);

    const listed = JSON.parse((await hbi('keys', 'list', '--tenant', tenant.id, '--json')).stdout) as Record<
      string,
      unknown
    >[];
    expect(listed.map((entry) => entry.id)).toEqual([id]);
    expect(JSON.stringify(listed)).not.toContain(token.slice(-43));

    // The key works until it is revoked.
    const db = await openDatabase(loadConfig(env), createMemoryLogger());
    try {
      const store = new ApiKeyStore(db);
      expect(await store.authenticate(token)).toMatchObject({ tenantId: tenant.id, role: 'write' });
    } finally {
      await db.close();
    }
    expect((await hbi('keys', 'revoke', id, '--tenant', 'acme')).code).toBe(EXIT_CODES.OK);
    const after = await openDatabase(loadConfig(env), createMemoryLogger());
    try {
      await expect(new ApiKeyStore(after).authenticate(token)).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
      });
      const audited = await systemView(after).prisma.auditEvent.findMany({
        where: { tenantId: tenant.id },
        orderBy: { at: 'asc' },
      });
      expect(audited.map((event) => [event.actor, event.action])).toEqual([
        ['operator', 'tenant.create'],
        ['operator', 'key.create'],
        ['operator', 'key.revoke'],
      ]);
    } finally {
      await after.close();
    }
    expect((await hbi('keys', 'list', '--tenant', 'nobody')).code).toBe(EXIT_CODES.USAGE);
  });
});
