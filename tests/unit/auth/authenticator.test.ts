/**
 * Bearer tokens: API keys against the database, OIDC/JWT tokens against a JWKS file with the configured
 * issuer, audience and claims. Anything presented that does not verify is UNAUTHENTICATED.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApiKeyStore } from '../../../src/core/auth/api-keys.js';
import type { Authenticator, OidcSettings } from '../../../src/core/auth/authenticator.js';
import { createAuthenticator } from '../../../src/core/auth/authenticator.js';
import { migrate } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { MIGRATIONS_DIR } from '../../../src/core/kernel.js';
import { DEFAULT_TENANT_ID } from '../../../src/core/tenancy.js';
import { tempDir } from '../../helpers/fixtures.js';
import { systemView } from '../../helpers/system-scope.js';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'hbi-api';
const CLAIMS: Pick<OidcSettings, 'oidcTenantClaim' | 'oidcRoleClaim'> = {
  oidcTenantClaim: 'hbi_tenant',
  oidcRoleClaim: 'hbi_role',
};

describe('createAuthenticator', () => {
  let db: PgliteDatabase;
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let keys: ApiKeyStore;
  let auth: Authenticator;
  let sign: (
    claims: Record<string, unknown>,
    options?: { issuer?: string; audience?: string; expiresIn?: string },
  ) => Promise<string>;
  let foreign: (claims: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS_DIR);
    await systemView(db).prisma.tenant.create({ data: { id: DEFAULT_TENANT_ID, name: 'default' } });
    keys = new ApiKeyStore(db);
    temp = await tempDir('hbi-jwks-');
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const jwks = path.join(temp.dir, 'jwks.json');
    await writeFile(jwks, JSON.stringify({ keys: [jwk] }));
    sign = (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(options.issuer ?? ISSUER)
        .setAudience(options.audience ?? AUDIENCE)
        .setSubject('user-1')
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(privateKey);
    const other = await generateKeyPair('ES256');
    foreign = (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(other.privateKey);
    auth = await createAuthenticator(keys, {
      ...CLAIMS,
      oidcJwks: jwks,
      oidcIssuer: ISSUER,
      oidcAudience: AUDIENCE,
    });
  });
  afterAll(async () => {
    await db?.close();
    await temp?.cleanup();
  });

  const refused = (header: string) =>
    expect(auth.authenticate(header)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

  it('has no principal without a header, and refuses a malformed one', async () => {
    expect(await auth.authenticate(undefined)).toBeNull();
    await refused('Basic dXNlcjpwYXNz');
    await refused('Bearer');
  });

  it('takes a valid API key, and refuses a wrong, unknown, revoked or expired one', async () => {
    const created = await keys.create({ tenantId: DEFAULT_TENANT_ID, name: 'k', role: 'write' });
    expect(created.token).toMatch(/^hbik_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    expect(await auth.authenticate(`Bearer ${created.token}`)).toMatchObject({
      tenantId: DEFAULT_TENANT_ID,
      role: 'write',
      kind: 'key',
      id: created.id,
    });
    // Only the secret's hash is stored.
    const row = await systemView(db).prisma.apiKey.findUnique({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(created.token.slice(-43));
    const wrong = `${created.token.slice(0, -3)}${created.token.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    await refused(`Bearer ${wrong}`);
    await refused(`Bearer hbik_${randomUUID().replaceAll('-', '')}_${'A'.repeat(43)}`);
    await keys.revoke(DEFAULT_TENANT_ID, created.id);
    await refused(`Bearer ${created.token}`);
    const expiring = await keys.create({
      tenantId: DEFAULT_TENANT_ID,
      name: 'soon',
      role: 'read',
      expiresAt: new Date(Date.now() + 60_000),
    });
    await expect(keys.authenticate(expiring.token, Date.now() + 120_000)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('takes an OIDC token with the tenant and role claims', async () => {
    const token = await sign({ hbi_tenant: DEFAULT_TENANT_ID, hbi_role: 'admin' });
    expect(await auth.authenticate(`Bearer ${token}`)).toMatchObject({
      tenantId: DEFAULT_TENANT_ID,
      role: 'admin',
      kind: 'token',
      id: 'user-1',
    });
  });

  it('refuses tokens of another issuer, audience or key, expired ones, and bad claims', async () => {
    const claims = { hbi_tenant: DEFAULT_TENANT_ID, hbi_role: 'read' };
    await refused(`Bearer ${await sign(claims, { issuer: 'https://evil.example/' })}`);
    await refused(`Bearer ${await sign(claims, { audience: 'someone-else' })}`);
    await refused(`Bearer ${await sign(claims, { expiresIn: '-1m' })}`);
    await refused(`Bearer ${await foreign(claims)}`);
    await refused(`Bearer ${await sign({ hbi_tenant: 'not-a-uuid', hbi_role: 'read' })}`);
    await refused(`Bearer ${await sign({ hbi_tenant: DEFAULT_TENANT_ID, hbi_role: 'owner' })}`);
  });

  it('refuses tokens when no JWKS is configured', async () => {
    const keysOnly = await createAuthenticator(keys, {
      ...CLAIMS,
      oidcJwks: undefined,
      oidcIssuer: undefined,
      oidcAudience: undefined,
    });
    const token = await sign({ hbi_tenant: DEFAULT_TENANT_ID, hbi_role: 'read' });
    await expect(keysOnly.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
