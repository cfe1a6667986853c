/**
 * The audit log: who changed what, when and from where. Key changes, deletes and re-indexes are
 * recorded by the resolvers that make them (and tenant changes by `hbi tenants`); admins read their own
 * tenant's events, newest first. A failed write is logged and does not fail the change it records.
 */
import { randomUUID } from 'node:crypto';

import type { RelationalDatabase } from '../db/relational.js';
import { toJson } from '../db/relational.js';
import type { Logger } from '../logger.js';
import type { Principal } from './principal.js';
import { actorOf } from './principal.js';
import { inTenantScope } from '../db/scope.js';

export interface AuditEventRecord {
  id: string;
  tenantId: string;
  actor: string;
  action: string;
  target: string | null;
  source: string | null;
  details: Record<string, unknown> | null;
  at: Date;
}

export interface AuditEntry {
  tenantId: string;
  action: string;
  target?: string | null;
  /** The client's address (and Origin), for "from where". */
  source?: string | null;
  details?: Record<string, unknown> | null;
}

export class AuditLog {
  constructor(
    private readonly db: RelationalDatabase,
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  /** Records one event by `principal` (or the operator). */
  async record(principal: Principal | 'operator', entry: AuditEntry): Promise<void> {
    const actor = principal === 'operator' ? 'operator' : actorOf(principal);
    try {
      await inTenantScope(entry.tenantId, () =>
        this.db.prisma.auditEvent.create({
          data: {
            id: randomUUID(),
            tenantId: entry.tenantId,
            actor,
            action: entry.action,
            target: entry.target ?? null,
            source: entry.source ?? null,
            ...(entry.details ? { details: toJson(entry.details) } : {}),
          },
        }),
      );
    } catch (error) {
      this.logger.error('audit event not recorded', { action: entry.action, actor, error });
    }
  }

  /** The tenant's events, newest first, at most `limit`. */
  async list(tenantId: string, limit: number): Promise<AuditEventRecord[]> {
    const rows = await inTenantScope(tenantId, () =>
      this.db.prisma.auditEvent.findMany({
        where: { tenantId },
        orderBy: [{ at: 'desc' }, { id: 'desc' }],
        take: limit,
      }),
    );
    return rows.map((row) => ({ ...row, details: (row.details as Record<string, unknown> | null) ?? null }));
  }
}
