/**
 * Turns an `Authorization: Bearer …` value into a principal: an API key (`hbik_…`, looked up in the
 * database) or, when OIDC is configured, a JWT verified with `jose` against the identity provider's
 * JWKS (a file or a URL), with the configured issuer and audience and the claims that carry the tenant
 * and the role. No header: no principal. A header that does not verify: UNAUTHENTICATED, never a
 * silent fall-back to anonymous.
 */
import { readFile } from 'node:fs/promises';

import type { JWTVerifyGetKey } from 'jose';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';

import type { Config } from '../config.js';
import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';
import { ApiKeyStore } from './api-keys.js';
import type { Principal, Role } from './principal.js';
import { ROLES } from './principal.js';

export type OidcSettings = Pick<
  Config,
  'oidcJwks' | 'oidcIssuer' | 'oidcAudience' | 'oidcTenantClaim' | 'oidcRoleClaim'
>;

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal | null>;
}

/** The authenticator of a gateway: keys always, OIDC tokens when `oidcJwks` is set. */
export async function createAuthenticator(keys: ApiKeyStore, oidc: OidcSettings): Promise<Authenticator> {
  const verifyToken = oidc.oidcJwks ? await tokenVerifier(oidc) : undefined;
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization.trim() === '') return null;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) {
        throw new HbiError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <API key or token>"');
      }
      const token = match[1]!;
      if (ApiKeyStore.isKeyToken(token)) return keys.authenticate(token);
      if (!verifyToken) {
        throw new HbiError(
          'UNAUTHENTICATED',
          'Not an API key, and this server accepts no other tokens (HBI_OIDC_JWKS)',
        );
      }
      return verifyToken(token);
    },
  };
}

async function tokenVerifier(oidc: OidcSettings): Promise<(token: string) => Promise<Principal>> {
  const source = oidc.oidcJwks!;
  let keySet: JWTVerifyGetKey;
  if (/^https?:\/\//.test(source)) {
    keySet = createRemoteJWKSet(new URL(source));
  } else {
    let jwks: unknown;
    try {
      jwks = JSON.parse(await readFile(source, 'utf8'));
    } catch (error) {
      throw new HbiError(
        'CONFIG_INVALID',
        `HBI_OIDC_JWKS=${source} is not a readable JWKS file: ${(error as Error).message}`,
      );
    }
    keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
  }
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        ...(oidc.oidcIssuer ? { issuer: oidc.oidcIssuer } : {}),
        ...(oidc.oidcAudience ? { audience: oidc.oidcAudience } : {}),
      }));
    } catch (error) {
      throw new HbiError('UNAUTHENTICATED', `The bearer token does not verify: ${(error as Error).message}`);
    }
    const tenantId = payload[oidc.oidcTenantClaim];
    const role = payload[oidc.oidcRoleClaim];
    if (typeof tenantId !== 'string' || !isUuid(tenantId)) {
      throw new HbiError('UNAUTHENTICATED', `The token's ${oidc.oidcTenantClaim} claim is not a tenant id`);
    }
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) {
      throw new HbiError(
        'UNAUTHENTICATED',
        `The token's ${oidc.oidcRoleClaim} claim is not one of ${ROLES.join(', ')}`,
      );
    }
    const expiry = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
    return {
      tenantId,
      role: role as Role,
      kind: 'token',
      id: typeof payload.sub === 'string' ? payload.sub : 'unknown',
      ...(expiry ? { expiresAt: expiry } : {}),
    };
  };
}
