/**
 * Near-duplicate groups of segments. Camera archives hold hours of nearly identical segments of one
 * static scene; the search corpus of `hbi bench search` holds dozens of noisy copies of each clip. A
 * plain top-100 by cosine then fills up with copies of one or two scenes and the segments the HBI
 * re-rank would put first never reach it (recall@10 0.20 at 200 000 segments, docs/benchmarks.md).
 *
 * So each segment written joins the group of the nearest existing representative of its tenant and model
 * version when their embeddings' cosine similarity is at least a threshold (HBI_NEAR_DUPLICATE_SIMILARITY),
 * or starts a group of its own (leader clustering, in write order). Search takes its candidates among the
 * representatives only (a partial HNSW index, `representativeIndexName`): one slot per scene, so the
 * candidate list is diverse; the plugin then re-ranks the members of the groups that can still reach its
 * top hits. The representative is the group's first segment; the migration's trigger hands the role on
 * when it is deleted.
 */
import type { Queryable } from '../db/port.js';
import { inOwnerScope } from '../db/scope.js';
import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';
import { toVectorLiteral, vectorExpression, vectorIndexName } from './vector-store.js';

/** A segment about to be written, for group assignment. */
export interface GroupedRow {
  segmentId: string;
  videoId: string;
  embedding: Float32Array;
}

/** The partial HNSW index over one model version's group representatives. */
export function representativeIndexName(modelVersionId: string): string {
  return vectorIndexName(modelVersionId).replace('segment_embeddings_hnsw_', 'segment_groups_hnsw_');
}

/** Creates the representatives' HNSW index for a model version when missing (the owner's work). */
export async function ensureRepresentativeIndex(
  db: Queryable,
  modelVersionId: string,
  dimension: number,
): Promise<void> {
  const sql = `CREATE INDEX IF NOT EXISTS "${representativeIndexName(modelVersionId)}" ON "segment_embeddings"
     USING hnsw (${vectorExpression(dimension)} vector_cosine_ops)
     WHERE "model_version_id" = '${modelVersionId}' AND "duplicate_of" IS NULL`;
  await inOwnerScope('vector index', () => db.exec(sql));
}

/**
 * The group each of `rows` joins (a representative's segment id) or null where it starts its own, in
 * order: first against the representatives already stored (one statement, an HNSW probe per row, same
 * tenant only), then against the rows before it in `rows` that started groups. `similarity` above 1
 * never groups.
 */
export async function assignGroups(
  q: Queryable,
  model: { id: string; embedDim: number },
  rows: readonly GroupedRow[],
  similarity: number,
): Promise<(string | null)[]> {
  if (rows.length === 0) return [];
  if (!(similarity >= 0 && similarity <= 1)) return rows.map(() => null);
  if (!isUuid(model.id)) throw new HbiError('INTERNAL', `Not a model version id: ${model.id}`);
  const vector = vectorExpression(model.embedDim);
  const distance = `${vector.replace('embedding', 'e."embedding"')} <=> q."v"::vector(${model.embedDim})`;
  // One nearest representative is enough, and an approximate one: a narrow HNSW search per row.
  await q.exec('SET LOCAL hnsw.ef_search = 20');
  const { rows: found } = await q.query<{
    i: number;
    tenant_id: string;
    representative: string | null;
    similarity: number | null;
  }>(
    `SELECT q."i"::int AS "i", v."tenant_id", r."segment_id" AS "representative", r."similarity"
     FROM unnest($1::text[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS q("v", "segment_id", "video_id", "i")
     JOIN "videos" v ON v."id" = q."video_id"
     LEFT JOIN LATERAL (
       SELECT e."segment_id", 1 - (${distance}) AS "similarity" FROM "segment_embeddings" e
       WHERE e."model_version_id" = '${model.id}' AND e."duplicate_of" IS NULL
         AND e."tenant_id" = v."tenant_id" AND e."segment_id" <> q."segment_id"
       ORDER BY ${distance} LIMIT 1
     ) r ON true`,
    [
      rows.map((row) => toVectorLiteral(row.embedding)),
      rows.map((row) => row.segmentId),
      rows.map((row) => row.videoId),
    ],
  );
  const stored = new Map(found.map((row) => [row.i - 1, row]));
  const fresh: { segmentId: string; tenantId: string; embedding: Float32Array }[] = [];
  return rows.map((row, i) => {
    const match = stored.get(i);
    if (!match) return null; // the video is not visible in this scope: the insert will say so
    let best = match.representative !== null ? Number(match.similarity) : -Infinity;
    let group = match.representative;
    for (const leader of fresh) {
      if (leader.tenantId !== match.tenant_id) continue;
      const score = cosine(leader.embedding, row.embedding);
      if (score > best) [best, group] = [score, leader.segmentId];
    }
    if (group !== null && best >= similarity) return group;
    fresh.push({ segmentId: row.segmentId, tenantId: match.tenant_id, embedding: row.embedding });
    return null;
  });
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(aa * bb) || 1);
}
