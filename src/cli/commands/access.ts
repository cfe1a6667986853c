/**
 * `hbi tenants …` and `hbi keys …`: the operator's commands, run on the server against its database
 * (PostgreSQL at DATABASE_URL, else the embedded PGlite in <HBI_DATA_DIR>/db, which a running embedded
 * server holds: stop it first, or manage keys over GraphQL with an admin key). Every change is written
 * to the tenant's audit log with the actor `operator`.
 */
import { randomUUID } from 'node:crypto';

import { ApiKeyStore } from '../../core/auth/api-keys.js';
import type { ApiKeyRecord } from '../../core/auth/api-keys.js';
import type { AuditEntry } from '../../core/auth/audit-log.js';
import { AuditLog } from '../../core/auth/audit-log.js';
import type { Role } from '../../core/auth/principal.js';
import { ROLES } from '../../core/auth/principal.js';
import { migrateDatabase, openDatabase } from '../../core/adapters.js';
import { loadConfig } from '../../core/config.js';
import type { RelationalDatabase } from '../../core/db/relational.js';
import { MIGRATIONS_DIR } from '../../core/kernel.js';
import { createLogger } from '../../core/logger.js';
import { DEFAULT_TENANT_ID } from '../../core/tenancy.js';
import { isUuid } from '../../core/util/ids.js';
import type { Command, ParsedArgs } from '../args.js';
import { UsageError, stringOption } from '../args.js';
import type { CliIo } from '../io.js';
import { writeJson } from '../io.js';
import { inSystemScope } from '../../core/db/scope.js';

const JSON_OPTION = { json: { type: 'boolean', description: 'Print the result as JSON' } } as const;
const TENANT_OPTION = {
  tenant: {
    type: 'string',
    value: '<id or name>',
    description: 'The tenant (default: the default tenant)',
  },
} as const;
const DATABASE_DETAILS =
  "Runs against the server's database: PostgreSQL at DATABASE_URL, else the embedded PGlite in\n" +
  '<HBI_DATA_DIR>/db (stop an embedded `hbi serve` first: it holds that folder). Changes are audited.';

/** Opens the configured database (migrated), runs `work`, closes it. */
async function withDatabase<T>(io: CliIo, work: (db: RelationalDatabase) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const db = await openDatabase(config, logger);
  try {
    await migrateDatabase(db, MIGRATIONS_DIR, logger);
    // The operator's commands span tenants (they create them and their first keys).
    return await inSystemScope('operator command', () => work(db));
  } finally {
    await db.close();
  }
}

/** Writes one audit event by the operator (the hbi command on the server). */
function recordOperator(db: RelationalDatabase, entry: AuditEntry): Promise<void> {
  return new AuditLog(db, createLogger('error')).record('operator', entry);
}

/** The tenant named by --tenant (an id or a unique name), else the default one (created when missing). */
async function tenantOf(db: RelationalDatabase, args: ParsedArgs): Promise<string> {
  const given = stringOption(args, 'tenant');
  if (given === undefined) {
    await db.prisma.tenant.createMany({
      data: [{ id: DEFAULT_TENANT_ID, name: 'default' }],
      skipDuplicates: true,
    });
    return DEFAULT_TENANT_ID;
  }
  const found = await db.prisma.tenant.findMany({
    where: isUuid(given) ? { id: given } : { name: given },
    select: { id: true },
  });
  if (found.length === 0)
    throw new UsageError(`No tenant ${JSON.stringify(given)}: see \`hbi tenants list\``);
  if (found.length > 1)
    throw new UsageError(`Several tenants are named ${JSON.stringify(given)}: give its id`);
  return found[0]!.id;
}

function keyLine(key: ApiKeyRecord): string {
  const state = key.revokedAt
    ? 'revoked'
    : key.expiresAt && key.expiresAt.getTime() <= Date.now()
      ? 'expired'
      : 'active';
  return `${key.id}  ${key.prefix}…  ${key.role.padEnd(5)}  ${state.padEnd(7)}  ${key.name}\n`;
}

export const tenantsListCommand: Command = {
  name: 'tenants list',
  summary: 'List the tenants',
  usage: 'hbi tenants list [--json]',
  details: DATABASE_DETAILS,
  options: JSON_OPTION,
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    return withDatabase(io, async (db) => {
      const tenants = await db.prisma.tenant.findMany({ orderBy: { createdAt: 'asc' } });
      if (args.values.json) writeJson(io.stdout, tenants);
      else for (const tenant of tenants) io.stdout.write(`${tenant.id}  ${tenant.name}\n`);
      return 0;
    });
  },
};

export const tenantsCreateCommand: Command = {
  name: 'tenants create',
  summary: 'Create a tenant (then give it an admin key with `hbi keys create --tenant <name>`)',
  usage: 'hbi tenants create <name> [--json]',
  details: DATABASE_DETAILS,
  options: JSON_OPTION,
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    const name = args.positionals[0]!.trim();
    if (name.length === 0 || name.length > 200) throw new UsageError('A tenant name has 1 to 200 characters');
    return withDatabase(io, async (db) => {
      if ((await db.prisma.tenant.count({ where: { name } })) > 0) {
        throw new UsageError(`A tenant named ${JSON.stringify(name)} exists already`);
      }
      const tenant = await db.prisma.tenant.create({ data: { id: randomUUID(), name } });
      await recordOperator(db, {
        tenantId: tenant.id,
        action: 'tenant.create',
        target: tenant.id,
        details: { name },
      });
      if (args.values.json) writeJson(io.stdout, tenant);
      else io.stdout.write(`${tenant.id}  ${tenant.name}\n`);
      return 0;
    });
  },
};

export const keysListCommand: Command = {
  name: 'keys list',
  summary: "List a tenant's API keys (never their secrets)",
  usage: 'hbi keys list [--tenant <id or name>] [--json]',
  details: DATABASE_DETAILS,
  options: { ...TENANT_OPTION, ...JSON_OPTION },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    return withDatabase(io, async (db) => {
      const keys = await new ApiKeyStore(db).list(await tenantOf(db, args));
      if (args.values.json) writeJson(io.stdout, keys);
      else for (const key of keys) io.stdout.write(keyLine(key));
      return 0;
    });
  },
};

export const keysCreateCommand: Command = {
  name: 'keys create',
  summary: 'Create an API key for a tenant; prints its token once',
  usage:
    'hbi keys create --name <name> --role read|write|admin [--tenant <id or name>] [--expires <ISO time>] [--json]',
  details: `${DATABASE_DETAILS}\nThe token is printed once and stored only as a hash: keep it now.`,
  options: {
    name: { type: 'string', value: '<name>', description: 'What the key is for (shown in lists)' },
    role: { type: 'string', value: '<role>', description: `One of ${ROLES.join(', ')}` },
    expires: {
      type: 'string',
      value: '<ISO time>',
      description: 'When the key stops working (default: never)',
    },
    ...TENANT_OPTION,
    ...JSON_OPTION,
  },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const name = stringOption(args, 'name');
    const role = stringOption(args, 'role');
    if (!name) throw new UsageError('Give the key a --name');
    if (!role || !ROLES.includes(role as Role))
      throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const expires = stringOption(args, 'expires');
    const expiresAt = expires === undefined ? null : new Date(expires);
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new UsageError('--expires must be an ISO time');
    return withDatabase(io, async (db) => {
      const tenantId = await tenantOf(db, args);
      const created = await new ApiKeyStore(db).create({ tenantId, name, role: role as Role, expiresAt });
      await recordOperator(db, {
        tenantId,
        action: 'key.create',
        target: created.id,
        details: { name: created.name, role: created.role, prefix: created.prefix },
      });
      if (args.values.json) writeJson(io.stdout, created);
      else io.stdout.write(`${created.token}\n`);
      return 0;
    });
  },
};

export const keysRevokeCommand: Command = {
  name: 'keys revoke',
  summary: 'Revoke an API key: requests with it fail at once',
  usage: 'hbi keys revoke <key id> [--tenant <id or name>] [--json]',
  details: DATABASE_DETAILS,
  options: { ...TENANT_OPTION, ...JSON_OPTION },
  positionals: { min: 1, max: 1 },
  async run(args, io) {
    return withDatabase(io, async (db) => {
      const tenantId = await tenantOf(db, args);
      const revoked = await new ApiKeyStore(db).revoke(tenantId, args.positionals[0]!);
      await recordOperator(db, {
        tenantId,
        action: 'key.revoke',
        target: revoked.id,
      });
      if (args.values.json) writeJson(io.stdout, revoked);
      else io.stdout.write(keyLine(revoked));
      return 0;
    });
  },
};

export const ACCESS_COMMANDS: readonly Command[] = [
  tenantsListCommand,
  tenantsCreateCommand,
  keysListCommand,
  keysCreateCommand,
  keysRevokeCommand,
];
