/**
 * The `caption_cache` table: a caption is deterministic per (model version, segment or video,
 * decoding), so each is stored once. `decoding` is `greedy` or `beam:<width>` (with `:lp<exponent>`
 * when beam search runs with a length penalty other than 1); `score` is the caption's length-normalised
 * log-probability (for a video, the mean over its segments). Writes are upserts.
 */
import { randomUUID } from 'node:crypto';

import type { Queryable } from '../../core/db/port.js';

export interface StoredCaption {
  text: string;
  score: number | null;
}

/** Stored captions of `scopeKeys` for one decoding. */
export async function readCaptions(
  db: Queryable,
  modelVersionId: string,
  decoding: string,
  scopeKeys: readonly string[],
): Promise<Map<string, StoredCaption>> {
  const found = new Map<string, StoredCaption>();
  if (scopeKeys.length === 0) return found;
  const { rows } = await db.query<{ scope_key: string; text: string; score: number | null }>(
    `SELECT "scope_key", "text", "score" FROM "caption_cache"
     WHERE "model_version_id" = $1 AND "decoding" = $2 AND "scope_key" = ANY($3::text[])`,
    [modelVersionId, decoding, [...scopeKeys]],
  );
  for (const row of rows)
    found.set(row.scope_key, { text: row.text, score: row.score === null ? null : Number(row.score) });
  return found;
}

/** Stores (or replaces) one caption per scope key, in one statement. */
export async function writeCaptions(
  db: Queryable,
  modelVersionId: string,
  decoding: string,
  entries: readonly ({ scopeKey: string } & StoredCaption)[],
): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [modelVersionId, decoding];
  const values = entries.map((entry) => {
    params.push(randomUUID(), entry.scopeKey, entry.text, entry.score);
    const at = params.length - 3;
    return `($${at}, $1, $${at + 1}, $2, $${at + 2}, $${at + 3})`;
  });
  await db.query(
    `INSERT INTO "caption_cache" ("id", "model_version_id", "scope_key", "decoding", "text", "score")
     VALUES ${values.join(', ')}
     ON CONFLICT ("model_version_id", "scope_key", "decoding") DO UPDATE
       SET "text" = EXCLUDED."text", "score" = EXCLUDED."score"`,
    params,
  );
}
