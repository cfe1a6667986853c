/**
 * The result cache a plugin gets in its task context: JSON values under the plugin's own keys, in the
 * `plugin_cache` table (through Prisma Client), namespaced by tenant, plugin and model version before the plugin sees it — a
 * plugin cannot read another plugin's, another tenant's or another model's entries, and a model change
 * never serves an old result. An entry may name the video it depends on; deleting the video deletes it.
 * Writes are upserts, so concurrent requests and redelivered tasks never duplicate an entry.
 */
import type { z } from 'zod';

import type { Prisma, RelationalDatabase } from '../db/relational.js';
import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';
import { inTenantScope } from '../db/scope.js';

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
export function bindResultCache(db: RelationalDatabase, namespace: CacheNamespace): ResultCache {
  if (!isUuid(namespace.tenantId) || !isUuid(namespace.modelVersionId)) {
    throw new HbiError('INTERNAL', 'A result cache needs a tenant id and a model version id');
  }
  const { tenantId, plugin, modelVersionId } = namespace;
  return Object.freeze({
    async read<T>(keys: readonly string[], schema: z.ZodType<T>): Promise<Map<string, T>> {
      const found = new Map<string, T>();
      if (keys.length === 0) return found;
      const rows = await inTenantScope(tenantId, () =>
        db.prisma.pluginCacheEntry.findMany({
          where: { tenantId, plugin, modelVersionId, key: { in: [...new Set(keys)] } },
          select: { key: true, value: true },
        }),
      );
      for (const row of rows) {
        const parsed = schema.safeParse(row.value);
        if (parsed.success) found.set(row.key, parsed.data);
      }
      return found;
    },
    async write(entries: readonly CacheEntry[]): Promise<void> {
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
      if (byKey.size === 0) return;
      const keys = [...byKey.keys()];
      // Replace in one transaction of two statements: delete the keys, insert the new values. Two
      // writers of one key both succeed (skipDuplicates); their values are the same computation's.
      try {
        await inTenantScope(tenantId, () =>
          db.prisma.$transaction([
            db.prisma.pluginCacheEntry.deleteMany({
              where: { tenantId, plugin, modelVersionId, key: { in: keys } },
            }),
            db.prisma.pluginCacheEntry.createMany({
              data: [...byKey.values()].map((entry) => ({
                tenantId,
                plugin,
                modelVersionId,
                key: entry.key,
                videoId: entry.videoId ?? null,
                value: entry.value as Prisma.InputJsonValue,
              })),
              skipDuplicates: true,
            }),
          ]),
        );
      } catch (error) {
        // A video deleted while its result was computed: nothing to cache (its entries would go with it).
        if (isForeignKeyViolation(error)) return;
        throw error;
      }
    },
  });
}

function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2003';
}
