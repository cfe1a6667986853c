/**
 * The result cache a plugin gets in its task context: JSON values under the plugin's own keys, in the
 * `plugin_cache` table, namespaced by tenant, plugin and model version before the plugin sees it — a
 * plugin cannot read another plugin's, another tenant's or another model's entries, and a model change
 * never serves an old result. An entry may name the video it depends on; deleting the video deletes it.
 * Writes are upserts, so concurrent requests and redelivered tasks never duplicate an entry.
 */
import type { z } from 'zod';

import type { Database, Queryable } from '../db/port.js';
import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';

/** One value to store. */
export interface CacheEntry {
  key: string;
  /** Plain JSON. */
  value: unknown;
  /** The video the value was computed from: the entry goes when the video is deleted. */
  videoId?: string | null;
}

/** A plugin's cache, already bound to the request's tenant, the plugin and the model version. */
export interface ResultCache {
  /**
   * The stored values of `keys` that `schema` accepts; a key with no entry, or with one the schema
   * refuses (written by an older plugin version), is absent from the map.
   */
  read<T>(keys: readonly string[], schema: z.ZodType<T>): Promise<Map<string, T>>;
  /** Stores (or replaces) the entries in one statement. */
  write(entries: readonly CacheEntry[]): Promise<void>;
}

/** Keys longer than this are refused (hash long inputs into the key instead). */
export const MAX_CACHE_KEY_LENGTH = 512;

/** Where a bound cache points. */
export interface CacheNamespace {
  tenantId: string;
  plugin: string;
  modelVersionId: string;
}

/** A `ResultCache` bound to one namespace. */
export function bindResultCache(db: Database, namespace: CacheNamespace): ResultCache {
  if (!isUuid(namespace.tenantId) || !isUuid(namespace.modelVersionId)) {
    throw new HbiError('INTERNAL', 'A result cache needs a tenant id and a model version id');
  }
  const scope = [namespace.tenantId, namespace.plugin, namespace.modelVersionId];
  return Object.freeze({
    async read<T>(keys: readonly string[], schema: z.ZodType<T>): Promise<Map<string, T>> {
      const found = new Map<string, T>();
      if (keys.length === 0) return found;
      const { rows } = await db.query<{ key: string; value: unknown }>(
        `SELECT "key", "value" FROM "plugin_cache"
         WHERE "tenant_id" = $1 AND "plugin" = $2 AND "model_version_id" = $3 AND "key" = ANY($4::text[])`,
        [...scope, [...new Set(keys)]],
      );
      for (const row of rows) {
        const value = typeof row.value === 'string' ? safeJson(row.value) : row.value;
        const parsed = schema.safeParse(value);
        if (parsed.success) found.set(row.key, parsed.data);
      }
      return found;
    },
    async write(entries: readonly CacheEntry[]): Promise<void> {
      if (entries.length === 0) return;
      try {
        await writeEntries(db, scope, entries);
      } catch (error) {
        // A video deleted while its result was computed: nothing to cache (its entries would go with it).
        if (isForeignKeyViolation(error)) return;
        throw error;
      }
    },
  });
}

async function writeEntries(db: Queryable, scope: readonly string[], entries: readonly CacheEntry[]) {
  // The last write of a key wins, as a sequence of single writes would.
  const byKey = new Map<string, CacheEntry>();
  for (const entry of entries) {
    if (entry.key.length === 0 || entry.key.length > MAX_CACHE_KEY_LENGTH) {
      throw new HbiError('INTERNAL', `A cache key must have 1 to ${MAX_CACHE_KEY_LENGTH} characters`);
    }
    if (entry.videoId != null && !isUuid(entry.videoId)) {
      throw new HbiError('INTERNAL', `Not a video id: ${JSON.stringify(entry.videoId)}`);
    }
    byKey.set(entry.key, entry);
  }
  const params: unknown[] = [...scope];
  const values = [...byKey.values()].map((entry) => {
    params.push(entry.key, entry.videoId ?? null, JSON.stringify(entry.value));
    const at = params.length - 2;
    return `($1, $2, $3, $${at}, $${at + 1}::uuid, $${at + 2}::jsonb)`;
  });
  await db.query(
    `INSERT INTO "plugin_cache" ("tenant_id", "plugin", "model_version_id", "key", "video_id", "value")
     VALUES ${values.join(', ')}
     ON CONFLICT ("tenant_id", "plugin", "model_version_id", "key") DO UPDATE
       SET "value" = EXCLUDED."value", "video_id" = EXCLUDED."video_id", "created_at" = now()`,
    params,
  );
}

function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code;
  return code === '23503' || (error as { cause?: { code?: unknown } } | null)?.cause?.code === '23503';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
