/**
 * Data scopes: which tenant's rows a database statement may see. The second line of tenant isolation,
 * behind the explicit tenant filters of every port (the segment store, the catalog, the job store):
 * PostgreSQL row-level security on every tenant table (migration `row_level_security`) admits a row
 * only when the transaction's settings name its tenant, and both database adapters run every
 * statement in a transaction that first sets them from the scope of the async flow that sent it.
 *
 * - `inTenantScope(tenantId, work)`: rows of that tenant only. Gateway requests (their principal's
 *   tenant, NO_TENANT without credentials), workers handling a tenant's message, the ports' methods
 *   that take a tenant id.
 * - `inSystemScope(reason, work)`: every tenant's rows, still as the application's role. Work that
 *   spans tenants by design and says why: authenticating a key (its tenant is not known yet),
 *   watching all jobs, the operator's CLI, start-up.
 * - `inOwnerScope(reason, work)`: the connecting role itself, for schema changes and maintenance
 *   (migrations, index builds, ANALYZE).
 *
 * A statement outside any scope is refused by the adapter (INTERNAL, naming this file), and would see
 * no rows if it reached the database: the settings are per transaction and default to nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';

export type DataScope =
  | { readonly kind: 'tenant'; readonly tenantId: string }
  | { readonly kind: 'system'; readonly reason: string }
  | { readonly kind: 'owner'; readonly reason: string };

/** The role statements run as when the connecting role would bypass row-level security. */
export const APP_ROLE = 'hbi_app';

/** The transaction settings the row-level security policies read. */
export const TENANT_SETTING = 'hbi.tenant_id';
export const SYSTEM_SETTING = 'hbi.system';

const storage = new AsyncLocalStorage<DataScope>();

/** The scope of the current async flow, if any. */
export function currentScope(): DataScope | undefined {
  return storage.getStore();
}

/**
 * Runs `work` with the rows of `tenantId` only. Inside another tenant's scope this is a bug (a flow
 * acting for one tenant reaching for another's data) and throws; inside a system or owner scope it
 * narrows.
 */
export function inTenantScope<T>(tenantId: string, work: () => T): T {
  if (!isUuid(tenantId)) throw new HbiError('INTERNAL', `Not a tenant id: ${JSON.stringify(tenantId)}`);
  const outer = storage.getStore();
  if (outer?.kind === 'tenant') {
    if (outer.tenantId === tenantId.toLowerCase()) return work();
    throw new HbiError(
      'INTERNAL',
      `A flow acting for tenant ${outer.tenantId} asked for tenant ${tenantId}'s data; nothing was read`,
    );
  }
  return runIn({ kind: 'tenant', tenantId: tenantId.toLowerCase() }, work);
}

/** Runs `work` over every tenant's rows; `reason` says why (it names the scope in errors and logs). */
export function inSystemScope<T>(reason: string, work: () => T): T {
  return runIn({ kind: 'system', reason }, work);
}

/** Runs `work` as the connecting role: migrations, index builds, ANALYZE. */
export function inOwnerScope<T>(reason: string, work: () => T): T {
  return runIn({ kind: 'owner', reason }, work);
}

/**
 * Runs `work` in `scope`. A thenable it returns is subscribed to inside the scope: Prisma's queries
 * are lazy and start when first awaited, which would otherwise happen in the caller's scope.
 */
function runIn<T>(scope: DataScope, work: () => T): T {
  return storage.run(scope, () => {
    const result = work();
    if (isThenable(result)) return result.then((value) => value) as T;
    return result;
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The scope of the current flow, or an error naming the fix. */
export function requireScope(what: string): DataScope {
  const scope = storage.getStore();
  if (scope) return scope;
  throw new HbiError(
    'INTERNAL',
    `${what} ran outside any data scope, so row-level security would show it no rows. Run the caller ` +
      `in inTenantScope(tenantId, …), or inSystemScope(reason, …) for work across tenants ` +
      `(src/core/db/scope.ts).`,
  );
}

/**
 * The statement that opens a transaction's scope: `SELECT set_config(…)` with positional parameters.
 * `restrictRole` is the role to run as (set when the connecting role is a superuser or has BYPASSRLS,
 * which row-level security would not apply to); the owner scope keeps the connecting role.
 */
export function scopeStatement(
  scope: DataScope,
  restrictRole: string | undefined,
): { sql: string; params: string[] } {
  const settings: [string, string][] = [
    [TENANT_SETTING, scope.kind === 'tenant' ? scope.tenantId : ''],
    [SYSTEM_SETTING, scope.kind === 'tenant' ? '' : 'on'],
  ];
  if (restrictRole && scope.kind !== 'owner') settings.unshift(['role', restrictRole]);
  const params: string[] = [];
  const calls = settings.map(([name, value]) => {
    params.push(name, value);
    return `set_config($${params.length - 1}, $${params.length}, true)`;
  });
  return { sql: `SELECT ${calls.join(', ')}`, params };
}

/**
 * The same statement with its values inlined as literals, for the simple query protocol (one round
 * trip with BEGIN). Values are a UUID, `on`, empty or the role name: nothing to escape but quotes.
 */
export function inlineScopeStatement(scope: DataScope, restrictRole: string | undefined): string {
  const { sql, params } = scopeStatement(scope, restrictRole);
  return sql.replace(/\$(\d+)/g, (_, n: string) => `'${params[Number(n) - 1]!.replaceAll("'", "''")}'`);
}
