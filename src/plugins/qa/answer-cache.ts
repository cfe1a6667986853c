/**
 * The `answer_cache` table: answers are deterministic per (model version, scope, normalised question),
 * so each segment's and each video's answer distribution is stored once. `alternatives` holds the
 * whole ranked distribution ([{answer, confidence}] over the package's answer list, best first), so
 * any number of alternatives is served from one row; `answer` and `confidence` repeat its head for SQL
 * readers. Writes are upserts, so concurrent askers and redelivered tasks never duplicate a row.
 */
import { randomUUID } from 'node:crypto';

import { z } from 'zod';

import type { Queryable } from '../../core/db/port.js';

/** One answer with its probability. */
export interface RankedAnswer {
  answer: string;
  confidence: number;
}

const rankedSchema = z.array(z.object({ answer: z.string(), confidence: z.number() })).min(1);

export interface AnswerCacheKey {
  modelVersionId: string;
  questionSha256: string;
}

/** Stored distributions of `scopeKeys` for one question; a malformed row counts as absent. */
export async function readAnswers(
  db: Queryable,
  key: AnswerCacheKey,
  scopeKeys: readonly string[],
): Promise<Map<string, RankedAnswer[]>> {
  const found = new Map<string, RankedAnswer[]>();
  if (scopeKeys.length === 0) return found;
  const { rows } = await db.query<{ scope_key: string; alternatives: unknown }>(
    `SELECT "scope_key", "alternatives" FROM "answer_cache"
     WHERE "model_version_id" = $1 AND "question_sha256" = $2 AND "scope_key" = ANY($3::text[])`,
    [key.modelVersionId, key.questionSha256, [...scopeKeys]],
  );
  for (const row of rows) {
    const value = typeof row.alternatives === 'string' ? safeJson(row.alternatives) : row.alternatives;
    const parsed = rankedSchema.safeParse(value);
    if (parsed.success) found.set(row.scope_key, parsed.data);
  }
  return found;
}

/** Stores (or replaces) one distribution per scope key, in one statement. */
export async function writeAnswers(
  db: Queryable,
  key: AnswerCacheKey & { question: string },
  entries: readonly { scopeKey: string; ranked: readonly RankedAnswer[] }[],
): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [key.modelVersionId, key.questionSha256, key.question];
  const values = entries.map((entry) => {
    const head = entry.ranked[0]!;
    params.push(randomUUID(), entry.scopeKey, head.answer, head.confidence, JSON.stringify(entry.ranked));
    const at = params.length - 4;
    return `($${at}, $1, $${at + 1}, $2, $3, $${at + 2}, $${at + 3}, $${at + 4}::jsonb)`;
  });
  await db.query(
    `INSERT INTO "answer_cache" ("id", "model_version_id", "scope_key", "question_sha256", "question", "answer", "confidence", "alternatives")
     VALUES ${values.join(', ')}
     ON CONFLICT ("model_version_id", "scope_key", "question_sha256") DO UPDATE
       SET "answer" = EXCLUDED."answer", "confidence" = EXCLUDED."confidence", "alternatives" = EXCLUDED."alternatives"`,
    params,
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
