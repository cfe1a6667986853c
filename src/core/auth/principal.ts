/**
 * Who is calling: every request carries a principal, an API key or a verified bearer token, that names
 * one tenant and one role. Roles are ordered: `read` < `write` < `admin`; a field's policy names the
 * least role it needs (or `public`, for the probes' readiness only).
 */
import { HbiError } from '../errors.js';

export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A field's or route's policy: the least role it needs, or `public` (anyone, no credentials). */
export type Policy = Role | 'public';

export interface Principal {
  tenantId: string;
  role: Role;
  /** `key` for API keys, `token` for OIDC/JWT bearer tokens, `operator` for the hbi command on the server. */
  kind: 'key' | 'token' | 'operator';
  /** The key's id, the token's subject, or `operator`: the audit log's actor. */
  id: string;
  /** When the credential stops working (milliseconds since the epoch), if it expires. */
  expiresAt?: number;
}

/** The actor string the audit log records for a principal. */
export function actorOf(principal: Principal): string {
  return principal.kind === 'operator' ? 'operator' : `${principal.kind}:${principal.id}`;
}

/** True when `role` is at least `needed`. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/**
 * Throws unless `principal` satisfies `policy`: UNAUTHENTICATED without one, FORBIDDEN with too low a
 * role. `what` names the field or route in the message.
 */
export function authorize(principal: Principal | null, policy: Policy, what: string): void {
  if (policy === 'public') return;
  if (!principal) {
    throw new HbiError('UNAUTHENTICATED', `${what} needs credentials: send Authorization: Bearer <API key>`);
  }
  if (!roleAtLeast(principal.role, policy)) {
    throw new HbiError(
      'FORBIDDEN',
      `${what} needs the ${policy} role; this credential has ${principal.role}`,
      {
        details: { needed: policy, role: principal.role },
      },
    );
  }
}

/** The principal or UNAUTHENTICATED: for code that only runs for a signed-in caller. */
export function requirePrincipal(principal: Principal | null, what: string): Principal {
  authorize(principal, 'read', what);
  return principal!;
}
