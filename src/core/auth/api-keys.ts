/**
 * API keys: `hbik_<key id>_<secret>`, the secret 256 random bits (base64url). The key id (a UUID,
 * written without dashes) finds the row; only the SHA-256 of the secret is stored and it is compared in
 * constant time. A key belongs to one tenant with one role, may expire, is revoked by setting
 * `revoked_at` (never deleted, so the audit log keeps its meaning), and records when it was last used
 * (at most once a minute per key, so reads do not turn into writes).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

import type { RelationalDatabase } from '../db/relational.js';
import { ensureTenant } from '../db/relational.js';
import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';
import type { Principal, Role } from './principal.js';
import { ROLES } from './principal.js';
import { inSystemScope, inTenantScope } from '../db/scope.js';

export const KEY_PREFIX = 'hbik_';
const KEY_PATTERN = /^hbik_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
/** How often a key's `lastUsedAt` is written at most. */
const LAST_USED_EVERY_MS = 60_000;

/** A key as listed: never its secret. */
export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  /** The token's first characters (`hbik_1a2b3c4d`), to recognise it. */
  prefix: string;
  role: Role;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A new key: the token is shown once and never stored. */
export interface CreatedApiKey extends ApiKeyRecord {
  token: string;
}

export interface CreateKeyRequest {
  tenantId: string;
  name: string;
  role: Role;
  expiresAt?: Date | null;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function toRecord(row: {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  role: 'READ' | 'WRITE' | 'ADMIN';
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}): ApiKeyRecord {
  return { ...row, role: row.role.toLowerCase() as Role };
}

/** The `Role` enum value of the database. */
function dbRole(role: Role): 'READ' | 'WRITE' | 'ADMIN' {
  if (!ROLES.includes(role)) throw new HbiError('BAD_USER_INPUT', `Unknown role ${JSON.stringify(role)}`);
  return role.toUpperCase() as 'READ' | 'WRITE' | 'ADMIN';
}

/** Keys in the database: create, list, revoke, and turn a presented token into a principal. */
export class ApiKeyStore {
  readonly #db: RelationalDatabase;
  readonly #lastUsedWritten = new Map<string, number>();

  constructor(db: RelationalDatabase) {
    this.#db = db;
  }

  /** True when `token` is shaped like one of our keys (anything else may be a JWT). */
  static isKeyToken(token: string): boolean {
    return token.startsWith(KEY_PREFIX);
  }

  async create(request: CreateKeyRequest): Promise<CreatedApiKey> {
    return inTenantScope(request.tenantId, async () => {
      if (!isUuid(request.tenantId)) throw new HbiError('BAD_USER_INPUT', 'Not a tenant id');
      const name = request.name.trim();
      if (name.length === 0 || name.length > 200) {
        throw new HbiError('BAD_USER_INPUT', 'A key needs a name of 1 to 200 characters');
      }
      if (request.expiresAt && request.expiresAt.getTime() <= Date.now()) {
        throw new HbiError('BAD_USER_INPUT', 'expiresAt is in the past');
      }
      const tenant = await this.#db.prisma.tenant.findFirst({ where: { id: request.tenantId } });
      if (!tenant) throw new HbiError('NOT_FOUND', `No tenant ${request.tenantId}`);
      const id = randomUUID();
      const secret = randomBytes(32).toString('base64url');
      const token = `${KEY_PREFIX}${id.replaceAll('-', '')}_${secret}`;
      const row = await this.#db.prisma.apiKey.create({
        data: {
          id,
          tenantId: request.tenantId,
          name,
          prefix: token.slice(0, KEY_PREFIX.length + 8),
          secretHash: sha256(secret).toString('hex'),
          role: dbRole(request.role),
          expiresAt: request.expiresAt ?? null,
        },
        omit: { secretHash: true },
      });
      return { ...toRecord(row), token };
    });
  }

  /** The tenant's keys, newest first (revoked ones included, marked). */
  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    return inTenantScope(tenantId, async () => {
      const rows = await this.#db.prisma.apiKey.findMany({
        where: { tenantId },
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        omit: { secretHash: true },
      });
      return rows.map(toRecord);
    });
  }

  /** Revokes the tenant's key `id`; NOT_FOUND for another tenant's key or an unknown id. */
  async revoke(tenantId: string, id: string): Promise<ApiKeyRecord> {
    return inTenantScope(tenantId, async () => {
      if (!isUuid(id)) throw new HbiError('NOT_FOUND', `No key ${JSON.stringify(id)}`);
      const found = await this.#db.prisma.apiKey.findFirst({
        where: { id, tenantId },
        omit: { secretHash: true },
      });
      if (!found) throw new HbiError('NOT_FOUND', `No key ${id}`);
      if (found.revokedAt) return toRecord(found);
      const row = await this.#db.prisma.apiKey.update({
        where: { id },
        data: { revokedAt: new Date() },
        omit: { secretHash: true },
      });
      return toRecord(row);
    });
  }

  /** True when some key of `tenantId` (any, when absent) was ever created. */
  async any(tenantId?: string): Promise<boolean> {
    const count = () => this.#db.prisma.apiKey.count({ where: tenantId ? { tenantId } : {} });
    return (
      (tenantId ? await inTenantScope(tenantId, count) : await inSystemScope('any key at all', count)) > 0
    );
  }

  /**
   * The principal of a presented key; UNAUTHENTICATED (one message for every reason, so a caller
   * learns nothing about which keys exist) when it is malformed, unknown, wrong, revoked or expired.
   */
  async authenticate(token: string, now = Date.now()): Promise<Principal> {
    return inSystemScope('authenticating a key (its tenant is not known yet)', async () => {
      const refused = new HbiError(
        'UNAUTHENTICATED',
        'The API key is not valid (unknown, revoked or expired)',
      );
      const match = KEY_PATTERN.exec(token);
      if (!match) throw refused;
      const hex = match[1]!;
      const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      const row = await this.#db.prisma.apiKey.findUnique({ where: { id } });
      const presented = sha256(match[2]!);
      // Compare even when there is no row, so an unknown id costs the same as a wrong secret.
      const stored = row ? Buffer.from(row.secretHash, 'hex') : Buffer.alloc(presented.length);
      const same = stored.length === presented.length && timingSafeEqual(stored, presented);
      if (!row || !same || row.revokedAt || (row.expiresAt && row.expiresAt.getTime() <= now)) throw refused;
      this.#touch(id, now);
      return {
        tenantId: row.tenantId,
        role: row.role.toLowerCase() as Role,
        kind: 'key',
        id,
        ...(row.expiresAt ? { expiresAt: row.expiresAt.getTime() } : {}),
      };
    });
  }

  /** Whether key `id` still works (sockets opened with it are closed once it does not). */
  async isActive(id: string, now = Date.now()): Promise<boolean> {
    return inSystemScope('checking a key', async () => {
      const row = await this.#db.prisma.apiKey.findUnique({
        where: { id },
        select: { revokedAt: true, expiresAt: true },
      });
      return !!row && !row.revokedAt && !(row.expiresAt && row.expiresAt.getTime() <= now);
    });
  }

  /** Records the last use, at most once a minute per key; a failure only costs the timestamp. */
  #touch(id: string, now: number): void {
    const last = this.#lastUsedWritten.get(id) ?? 0;
    if (now - last < LAST_USED_EVERY_MS) return;
    this.#lastUsedWritten.set(id, now);
    void inSystemScope('key last used', () =>
      this.#db.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: new Date(now) } }),
    ).catch(() => this.#lastUsedWritten.delete(id));
  }
}

/**
 * The first start of an installation: the default tenant exists and, when no key was ever made for it,
 * an admin key is created and returned (to be shown once and written beside the data). Undefined when
 * keys exist already.
 */
export async function bootstrapAdminKey(
  db: RelationalDatabase,
  keys: ApiKeyStore,
  tenantId: string,
): Promise<CreatedApiKey | undefined> {
  return inTenantScope(tenantId, async () => {
    await ensureTenant(db.prisma, tenantId);
    if (await keys.any(tenantId)) return undefined;
    return keys.create({ tenantId, name: 'admin (created at first start)', role: 'admin' });
  });
}
