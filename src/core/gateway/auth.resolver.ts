/**
 * Who is calling (`viewer`), the tenant's API keys (admins create and revoke them) and the audit log.
 * Every field acts on the caller's own tenant; there is no tenant argument.
 */
import { GraphQLDateTime } from 'graphql-scalars';
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';

import type { ApiKeyRecord } from '../auth/api-keys.js';
import { Policy } from '../auth/policy.js';
import { requirePrincipal } from '../auth/principal.js';
import { HbiError } from '../errors.js';
import { ApiKey, AuditEvent, CreatedApiKey, RoleName, Viewer } from './auth.types.js';
import type { GatewayContext } from './context.js';

const MAX_AUDIT_PAGE = 500;

@Resolver()
export class AuthResolver {
  @Policy('read')
  @Query(() => Viewer, { description: 'The tenant and role of the credential this request carries.' })
  viewer(@Ctx() context: GatewayContext): Viewer {
    const principal = requirePrincipal(context.principal, 'Query.viewer');
    return Object.assign(new Viewer(), {
      tenantId: principal.tenantId,
      role: principal.role as RoleName,
      kind: principal.kind,
      id: principal.id,
    });
  }

  @Policy('admin')
  @Query(() => [ApiKey], { description: "The tenant's API keys, newest first (revoked ones included)." })
  async apiKeys(@Ctx() context: GatewayContext): Promise<ApiKey[]> {
    return (await context.services.keys.list(context.tenantId)).map(toApiKey);
  }

  @Policy('admin')
  @Mutation(() => CreatedApiKey, { description: 'A new API key of the tenant; its token is shown only now.' })
  async createApiKey(
    @Arg('name', () => String) name: string,
    @Arg('role', () => RoleName) role: RoleName,
    @Arg('expiresAt', () => GraphQLDateTime, { nullable: true }) expiresAt: Date | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<CreatedApiKey> {
    const principal = requirePrincipal(context.principal, 'Mutation.createApiKey');
    const created = await context.services.keys.create({
      tenantId: context.tenantId,
      name,
      role,
      expiresAt: expiresAt ?? null,
    });
    await context.services.audit.record(principal, {
      tenantId: context.tenantId,
      action: 'key.create',
      target: created.id,
      source: sourceOf(context),
      details: { name: created.name, role: created.role, prefix: created.prefix },
    });
    return Object.assign(new CreatedApiKey(), { key: toApiKey(created), token: created.token });
  }

  @Policy('admin')
  @Mutation(() => ApiKey, {
    description:
      "Revokes one of the tenant's keys: requests with it fail at once, its open WebSockets close within 15 s.",
  })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() context: GatewayContext): Promise<ApiKey> {
    const principal = requirePrincipal(context.principal, 'Mutation.revokeApiKey');
    const revoked = await context.services.keys.revoke(context.tenantId, id);
    await context.services.audit.record(principal, {
      tenantId: context.tenantId,
      action: 'key.revoke',
      target: id,
      source: sourceOf(context),
    });
    return toApiKey(revoked);
  }

  @Policy('admin')
  @Query(() => [AuditEvent], { description: "The tenant's audited changes, newest first." })
  async auditEvents(
    @Arg('first', () => Int, { defaultValue: 50, description: `At most ${MAX_AUDIT_PAGE}.` }) first: number,
    @Ctx() context: GatewayContext,
  ): Promise<AuditEvent[]> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_AUDIT_PAGE) {
      throw new HbiError('LIMIT_EXCEEDED', `first must be between 1 and ${MAX_AUDIT_PAGE}`);
    }
    return (await context.services.audit.list(context.tenantId, first)).map((event) =>
      Object.assign(new AuditEvent(), event),
    );
  }
}

/** Where a request came from, for the audit log: its client address (and browser Origin). */
export function sourceOf(context: GatewayContext): string | null {
  return context.source ?? null;
}

function toApiKey(record: ApiKeyRecord): ApiKey {
  return Object.assign(new ApiKey(), {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    role: record.role as RoleName,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    lastUsedAt: record.lastUsedAt,
    revokedAt: record.revokedAt,
  });
}
