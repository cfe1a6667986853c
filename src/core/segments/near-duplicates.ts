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
 * Representatives this process wrote or met lately, per tenant, with their embeddings: a camera's
 * segments meet the same few scenes again and again, and a bulk load meets the same groups in every
 * chunk, so most rows find their group here instead of by an HBI probe in the database (a few ms each
 * on the embedded database). Bounded; a hit is checked against the table before it is used (the
 * representative may have been deleted since).
 */
export class RepresentativeCache {
  readonly #perTenant: number;
  readonly #tenants = new Map<string, Map<string, Float32Array>>();

  /** `perTenant` representatives kept per tenant, the most recently used first out last. */
  constructor(perTenant = 4096) {
    this.#perTenant = Math.max(0, perTenant);
  }

  /** The cached representative most similar to `embedding`, at `similarity` or above. */
  match(tenantId: string, embedding: Float32Array, similarity: number): string | undefined {
    const cached = this.#tenants.get(tenantId);
    if (!cached) return undefined;
    let [best, found]: [number, string | undefined] = [-Infinity, undefined];
    for (const [id, vector] of cached) {
      const score = cosine(vector, embedding);
      if (score > best) [best, found] = [score, id];
    }
    return best >= similarity ? found : undefined;
  }

  remember(tenantId: string, segmentId: string, embedding: Float32Array): void {
    if (this.#perTenant === 0) return;
    let cached = this.#tenants.get(tenantId);
    if (!cached) this.#tenants.set(tenantId, (cached = new Map<string, Float32Array>()));
    cached.delete(segmentId);
    cached.set(segmentId, embedding);
    for (const oldest of cached.keys()) {
      if (cached.size <= this.#perTenant) break;
      cached.delete(oldest);
    }
  }

  forget(segmentId: string): void {
    for (const cached of this.#tenants.values()) cached.delete(segmentId);
  }
}

/**
 * The group each of `rows` joins (a representative's segment id) or null where it starts its own, in
 * order: against the cached representatives of its tenant (checked to still be representatives), else
 * the stored ones (one statement, an HNSW probe per row, same tenant only), then against the rows before
 * it in `rows` that started groups. Rows whose video is not visible get null (their insert will fail).
 */
export async function assignGroups(
  q: Queryable,
  model: { id: string; embedDim: number },
  rows: readonly GroupedRow[],
  similarity: number,
  cache: RepresentativeCache = new RepresentativeCache(0),
): Promise<(string | null)[]> {
  if (rows.length === 0) return [];
  if (!(similarity >= 0 && similarity <= 1)) return rows.map(() => null);
  if (!isUuid(model.id)) throw new HbiError('INTERNAL', `Not a model version id: ${model.id}`);
  const { rows: videos } = await q.query<{ id: string; tenant_id: string }>(
    `SELECT "id", "tenant_id" FROM "videos" WHERE "id" = ANY($1::uuid[])`,
    [[...new Set(rows.map((row) => row.videoId))]],
  );
  const tenantOf = new Map(videos.map((video) => [video.id, video.tenant_id]));
  const cached = rows.map((row) => {
    const tenantId = tenantOf.get(row.videoId);
    return tenantId === undefined ? undefined : cache.match(tenantId, row.embedding, similarity);
  });
  const live = await stillRepresentatives(q, model.id, cached, cache);
  const probed = await probeRepresentatives(
    q,
    model,
    rows.filter((row, i) => tenantOf.has(row.videoId) && !live.has(cached[i] ?? '')),
  );
  const fresh: { segmentId: string; tenantId: string; embedding: Float32Array }[] = [];
  return rows.map((row, i) => {
    const tenantId = tenantOf.get(row.videoId);
    if (tenantId === undefined) return null;
    const hit = cached[i];
    if (hit !== undefined && live.has(hit)) return hit;
    const stored = probed.get(row.segmentId);
    let [best, group] = stored ? [stored.similarity, stored.representative] : [-Infinity, null];
    for (const leader of fresh) {
      if (leader.tenantId !== tenantId) continue;
      const score = cosine(leader.embedding, row.embedding);
      if (score > best) [best, group] = [score, leader.segmentId];
    }
    if (group !== null && best >= similarity) {
      if (stored && group === stored.representative) cache.remember(tenantId, group, stored.embedding);
      return group;
    }
    fresh.push({ segmentId: row.segmentId, tenantId, embedding: row.embedding });
    cache.remember(tenantId, row.segmentId, row.embedding);
    return null;
  });
}

/** Which of the cached matches are still representatives of this model version (the rest are forgotten). */
async function stillRepresentatives(
  q: Queryable,
  modelVersionId: string,
  matches: readonly (string | undefined)[],
  cache: RepresentativeCache,
): Promise<Set<string>> {
  const ids = [...new Set(matches.filter((id): id is string => id !== undefined))];
  if (ids.length === 0) return new Set();
  const { rows } = await q.query<{ segment_id: string }>(
    `SELECT "segment_id" FROM "segment_embeddings"
     WHERE "segment_id" = ANY($1::uuid[]) AND "model_version_id" = $2 AND "duplicate_of" IS NULL`,
    [ids, modelVersionId],
  );
  const live = new Set(rows.map((row) => row.segment_id));
  for (const id of ids) if (!live.has(id)) cache.forget(id);
  return live;
}

/** The nearest stored representative of each row's tenant (an HNSW probe each), by segment id. */
async function probeRepresentatives(
  q: Queryable,
  model: { id: string; embedDim: number },
  rows: readonly GroupedRow[],
): Promise<Map<string, { representative: string; similarity: number; embedding: Float32Array }>> {
  if (rows.length === 0) return new Map();
  const vector = vectorExpression(model.embedDim);
  const distance = `${vector.replace('embedding', 'e."embedding"')} <=> q."v"::vector(${model.embedDim})`;
  // One nearest representative is enough, and an approximate one: a narrow HNSW search per row.
  await q.exec('SET LOCAL hnsw.ef_search = 20');
  const { rows: found } = await q.query<{
    segment_id: string;
    representative: string;
    similarity: number;
    embedding: string;
  }>(
    `SELECT q."segment_id", r."segment_id" AS "representative", r."similarity", r."embedding"::text AS "embedding"
     FROM unnest($1::text[], $2::uuid[], $3::uuid[]) AS q("v", "segment_id", "video_id")
     JOIN "videos" v ON v."id" = q."video_id"
     CROSS JOIN LATERAL (
       SELECT e."segment_id", e."embedding", 1 - (${distance}) AS "similarity" FROM "segment_embeddings" e
       WHERE e."model_version_id" = '${model.id}' AND e."duplicate_of" IS NULL
         AND e."tenant_id" = v."tenant_id" AND e."segment_id" <> q."segment_id"
       ORDER BY ${distance} LIMIT 1
     ) r`,
    [
      rows.map((row) => toVectorLiteral(row.embedding)),
      rows.map((row) => row.segmentId),
      rows.map((row) => row.videoId),
    ],
  );
  return new Map(
    found.map((row) => [
      row.segment_id,
      {
        representative: row.representative,
        similarity: Number(row.similarity),
        embedding: Float32Array.from(JSON.parse(row.embedding) as number[]),
      },
    ]),
  );
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
