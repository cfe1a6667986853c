/**
 * The segment/vector store: the one place that knows how segment embeddings and frame tensors are
 * stored, for PGlite and PostgreSQL alike. Embeddings live in `segment_embeddings.embedding`
 * (dimensionless pgvector column, one partial HNSW index per model version on `embedding::vector(D)`:
 * pgvector's documented pattern for mixed dimensions), frame tokens, weights and masks as raw
 * little-endian float32 bytes (BYTEA). Prisma cannot express either, so this module is SQL.
 *
 * Plugins never see this class: they get `forTenant(tenantId)`, a `SegmentStore` bound to the request's
 * tenant and this process's model version, from their task context. Every read joins the segment's
 * video and filters on its tenant, so another tenant's id reads as "not found", never as data.
 */
import { randomUUID } from 'node:crypto';

import type { Database, Queryable } from '../db/port.js';
import { HbiError } from '../errors.js';
import { inOwnerScope, inTenantScope } from '../db/scope.js';
import { isUuid } from '../util/ids.js';
import type { Logger } from '../logger.js';
import type { FrameTensors } from './frame-cache.js';
import { FrameCache } from './frame-cache.js';
import { TableStatistics } from './table-statistics.js';
import { RepresentativeCache, assignGroups, ensureRepresentativeIndex } from './near-duplicates.js';

/** One indexed segment with its stored frame tensors: [T,D], [T], [T]. */
export interface SegmentFrames {
  segmentId: string;
  videoId: string;
  /** 0-based position in the video. */
  index: number;
  startMs: number;
  endMs: number;
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

/** One segment, or every segment of one video in order. */
export type SegmentScope = { kind: 'segment'; segmentId: string } | { kind: 'video'; videoId: string };

/** The scope named by exactly one of `segmentId` / `videoId` (task inputs carry both fields); BAD_USER_INPUT otherwise. */
export function scopeOf(ids: { segmentId?: string | null; videoId?: string | null }): SegmentScope {
  if (ids.segmentId != null && ids.videoId == null) return { kind: 'segment', segmentId: ids.segmentId };
  if (ids.videoId != null && ids.segmentId == null) return { kind: 'video', videoId: ids.videoId };
  throw new HbiError('BAD_USER_INPUT', 'Give exactly one of segmentId or videoId');
}

/** Filters of a nearest-neighbour query; absent or empty means no filter. */
export interface SegmentFilters {
  videoIds?: readonly string[] | null;
  cameraIds?: readonly string[] | null;
  recordedAfter?: Date | null;
  recordedBefore?: Date | null;
}

export interface NearestQuery {
  /** The query embedding (L2-normalised, the model's dimension). */
  embedding: Float32Array;
  /** How many candidates to return at most. */
  k: number;
  /** HNSW search breadth (`hnsw.ef_search`); at least `k` is used. */
  efSearch?: number;
  filters?: SegmentFilters;
}

/** A nearest-neighbour candidate: the segment, its frame tensors, its video's title and source. */
export interface SegmentCandidate extends SegmentFrames {
  /** The camera that recorded the segment's video, if any. */
  cameraId: string | null;
  videoTitle: string | null;
  sourceUri: string | null;
  /** Cosine similarity of the embeddings. */
  similarity: number;
}

/** A near-duplicate group's representative as a candidate (near-duplicates.ts). */
export interface GroupCandidate extends SegmentCandidate {
  /** Other segments in its group (0: it stands alone). */
  members: number;
  /**
   * False when the representative itself is not a hit (its video is being re-indexed): its score still
   * stands for the group, but it must not be shown.
   */
  hit: boolean;
}

/** A member of a near-duplicate group, with the group's representative. */
export interface GroupMember extends SegmentCandidate {
  groupId: string;
}

export interface GroupMembersQuery {
  /** The query embedding, for the members' similarity (and their order). */
  embedding: Float32Array;
  /** Representatives' segment ids (`GroupCandidate.segmentId`). */
  groupIds: readonly string[];
  /** Most members returned, the most similar first. */
  limit: number;
}

/** What a plugin reads of indexed segments: bound to one tenant and the loaded model version. */
export interface SegmentStore {
  /** The tenant every read is scoped to (for logs and cache keys; it cannot be changed). */
  readonly tenantId: string;
  /**
   * Up to `k` indexed segments nearest to `embedding` by cosine similarity (HNSW), best first, with
   * their frame tensors. BAD_USER_INPUT for a malformed filter id.
   */
  nearest(query: NearestQuery): Promise<SegmentCandidate[]>;
  /**
   * Up to `k` near-duplicate groups nearest to `embedding`, each as its representative (one per scene:
   * diverse candidates), best first, with frame tensors and member counts. Filters are not applied
   * here (a group's members may lie in other videos than its representative): filtered searches use
   * `nearest`.
   */
  nearestGroups(query: Omit<NearestQuery, 'filters'>): Promise<GroupCandidate[]>;
  /** Indexed members of the given groups (not the representatives), with frame tensors. */
  groupMembers(query: GroupMembersQuery): Promise<GroupMember[]>;
  /**
   * The segments of `scope` with this model version's frame tensors, in video order. NOT_FOUND for an
   * id that names nothing of this tenant (malformed ids included), a deleted or failed video, or a
   * segment this model version has not encoded; UNAVAILABLE (retriable) while the video is indexing.
   */
  frames(scope: SegmentScope): Promise<SegmentFrames[]>;
}

/** The model version whose vectors are read and written. */
export interface VectorModel {
  id: string;
  /** `name@version`, for messages. */
  modelId: string;
  embedDim: number;
}

/** What the encoder made of one segment, as stored. */
export interface SegmentVectors {
  embedding: Float32Array;
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

/** A segment row and its vectors, for `writeSegment`. */
export interface SegmentWrite {
  videoId: string;
  index: number;
  startMs: number;
  endMs: number;
  vectors: SegmentVectors;
}

/** Rows for a bulk load (`insertBulk`): segments with ids chosen by the caller. */
export interface BulkSegment {
  segmentId: string;
  videoId: string;
  index: number;
  startMs: number;
  endMs: number;
  vectors: SegmentVectors;
}

const SEGMENT_COLUMNS = `s."id" AS "segment_id", s."video_id", s."index", s."start_ms", s."end_ms"`;
const FRAME_COLUMNS = `${SEGMENT_COLUMNS}, e."frame_tokens", e."frame_weights", e."frame_mask"`;

interface FrameRow {
  segment_id: string;
  video_id: string;
  index: number;
  start_ms: number;
  end_ms: number;
  frame_tokens?: Uint8Array | null;
  frame_weights?: Uint8Array | null;
  frame_mask?: Uint8Array | null;
  /** Decoded tensors, when they came from the frame cache or were read apart. */
  tensors?: FrameTensors;
}

interface CandidateRow extends FrameRow {
  camera_id: string | null;
  title: string | null;
  source_uri: string | null;
  similarity: number;
}

/** The process's vector store for one model version; `forTenant` hands out the scoped views. */
export class VectorStore {
  readonly #db: Database;
  readonly #model: VectorModel;
  readonly #statistics: TableStatistics;
  readonly #frameCache: FrameCache;

  readonly #nearDuplicateSimilarity: number;
  readonly #representatives = new RepresentativeCache();

  /**
   * `frameCacheBytes`: decoded frame tensors kept for search (default 256 MiB; 0: none).
   * `nearDuplicateSimilarity`: cosine at which a written segment joins a near-duplicate group (0.99).
   */
  constructor(
    db: Database,
    model: VectorModel,
    options: { logger?: Logger; frameCacheBytes?: number; nearDuplicateSimilarity?: number } = {},
  ) {
    vectorIndexName(model.id);
    vectorExpression(model.embedDim);
    this.#db = db;
    this.#model = model;
    this.#statistics = new TableStatistics(db, options.logger);
    this.#frameCache = new FrameCache(options.frameCacheBytes ?? 256 * 1024 ** 2);
    this.#nearDuplicateSimilarity = options.nearDuplicateSimilarity ?? 0.99;
  }

  /** The frame cache's counters. */
  get frameCacheStats(): FrameCache['stats'] {
    return this.#frameCache.stats;
  }

  /** Resolves once no statistics refresh is running or scheduled (tests, shutdown). */
  statisticsSettled(): Promise<void> {
    return this.#statistics.settled();
  }

  /** Stops the statistics timer (the kernel's shutdown). */
  close(): Promise<void> {
    return this.#statistics.close();
  }

  /** The reads a plugin may make, bound to `tenantId`. */
  forTenant(tenantId: string): SegmentStore {
    if (!isUuid(tenantId)) throw new HbiError('INTERNAL', `Not a tenant id: ${JSON.stringify(tenantId)}`);
    return Object.freeze({
      tenantId,
      nearest: (query: NearestQuery) => inTenantScope(tenantId, () => this.#nearest(tenantId, query)),
      nearestGroups: (query: Omit<NearestQuery, 'filters'>) =>
        inTenantScope(tenantId, () => this.#nearestGroups(tenantId, query)),
      groupMembers: (query: GroupMembersQuery) =>
        inTenantScope(tenantId, () => this.#groupMembers(tenantId, query)),
      frames: (scope: SegmentScope) => inTenantScope(tenantId, () => this.#frames(tenantId, scope)),
    });
  }

  /** Creates this model version's HNSW index when missing; safe to call at every start. */
  async ensureIndex(db: Queryable = this.#db): Promise<void> {
    await ensureVectorIndex(db, this.#model.id, this.#model.embedDim);
    await ensureRepresentativeIndex(db, this.#model.id, this.#model.embedDim);
    // Tables loaded by an earlier process (or restored from a backup) may never have been analysed.
    if (db === this.#db) this.#statistics.refreshSoon();
  }

  /**
   * Writes one segment row (upserted on (video, index), so a redelivered ingest never duplicates it)
   * and its vectors for this model version, in `tx` or one transaction of its own.
   */
  async writeSegment(write: SegmentWrite, tx?: Queryable): Promise<{ id: string; createdAt: Date }> {
    const run = async (q: Queryable) => {
      const { rows } = await q.query<{ id: string; created_at: Date }>(
        `INSERT INTO "segments" ("id", "video_id", "index", "start_ms", "end_ms") VALUES ($5, $1, $2, $3, $4)
         ON CONFLICT ("video_id", "index") DO UPDATE SET "start_ms" = EXCLUDED."start_ms", "end_ms" = EXCLUDED."end_ms"
         RETURNING "id", "created_at"`,
        [write.videoId, write.index, write.startMs, write.endMs, randomUUID()],
      );
      const id = rows[0]!.id;
      const [group] = await assignGroups(
        q,
        this.#model,
        [{ segmentId: id, videoId: write.videoId, embedding: write.vectors.embedding }],
        this.#nearDuplicateSimilarity,
        this.#representatives,
      );
      // A rewrite keeps the segment's group: its members may point at it.
      await q.query(
        `INSERT INTO "segment_embeddings" ("segment_id", "model_version_id", "embedding", "frame_tokens", "frame_weights", "frame_mask", "duplicate_of")
         VALUES ($1, $2, $3::vector, $4, $5, $6, $7)
         ON CONFLICT ("segment_id", "model_version_id") DO UPDATE SET "embedding" = EXCLUDED."embedding",
           "frame_tokens" = EXCLUDED."frame_tokens", "frame_weights" = EXCLUDED."frame_weights", "frame_mask" = EXCLUDED."frame_mask"`,
        [id, this.#model.id, ...vectorParams(write.vectors), group ?? null],
      );
      return { id, createdAt: rows[0]!.created_at };
    };
    const written = await (tx ? run(tx) : this.#db.transaction(run));
    this.#frameCache.delete(written.id);
    this.#statistics.wrote(1);
    return written;
  }

  /** Inserts many new segments and their vectors in multi-row statements (benchmarks, bulk loads). */
  async insertBulk(segments: readonly BulkSegment[], tx: Queryable): Promise<void> {
    if (segments.length === 0) return;
    await insertRows(
      tx,
      `INSERT INTO "segments" ("id", "video_id", "index", "start_ms", "end_ms")`,
      segments.map((s) => [s.segmentId, s.videoId, s.index, s.startMs, s.endMs]),
    );
    const groups = await assignGroups(
      tx,
      this.#model,
      segments.map((s) => ({ segmentId: s.segmentId, videoId: s.videoId, embedding: s.vectors.embedding })),
      this.#nearDuplicateSimilarity,
      this.#representatives,
    );
    await insertRows(
      tx,
      `INSERT INTO "segment_embeddings" ("segment_id", "model_version_id", "embedding", "frame_tokens", "frame_weights", "frame_mask", "duplicate_of")`,
      segments.map((s, i) => [s.segmentId, this.#model.id, ...vectorParams(s.vectors), groups[i] ?? null]),
      (p) => `(${p[0]}, ${p[1]}, ${p[2]}::vector, ${p[3]}, ${p[4]}, ${p[5]}, ${p[6]}::uuid)`,
    );
    for (const segment of segments) this.#frameCache.delete(segment.segmentId);
    this.#statistics.wrote(segments.length);
  }

  /**
   * Segment count of a video when every segment has this model version's vectors; undefined when
   * any is missing (or it has none): the ingest's "already indexed" check.
   */
  async completeSegments(videoId: string): Promise<number | undefined> {
    const { rows } = await this.#db.query<{ segments: number; embedded: number }>(
      `SELECT count(*)::int AS "segments", count(e."segment_id")::int AS "embedded"
       FROM "segments" s LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id" AND e."model_version_id" = $2
       WHERE s."video_id" = $1`,
      [videoId, this.#model.id],
    );
    const row = rows[0]!;
    return row.segments > 0 && row.segments === row.embedded ? row.segments : undefined;
  }

  /** Per video of a tenant: its status, segment count and how many have this model version's vectors. */
  async coverage(
    tenantId: string,
  ): Promise<{ id: string; status: string; segments: number; embedded: number }[]> {
    const { rows } = await inTenantScope(tenantId, () =>
      this.#db.query<{ id: string; segments: number; embedded: number; status: string }>(
        `SELECT v."id", v."status", count(s."id")::int AS "segments", count(e."segment_id")::int AS "embedded"
       FROM "videos" v LEFT JOIN "segments" s ON s."video_id" = v."id"
       LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id" AND e."model_version_id" = $2
       WHERE v."tenant_id" = $1 GROUP BY v."id" ORDER BY v."created_at", v."id"`,
        [tenantId, this.#model.id],
      ),
    );
    return rows;
  }

  async #nearest(tenantId: string, query: NearestQuery): Promise<SegmentCandidate[]> {
    const cached = this.#frameCache.enabled;
    const { sql, params, efSearch } = this.#nearestSql(tenantId, query, !cached);
    const rows = await this.#db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL hnsw.ef_search = ${efSearch}`);
      const found = (await tx.query<CandidateRow>(sql, params)).rows;
      if (cached) await this.#fillFrames(tx, found);
      return found;
    });
    return rows.map((row) => ({
      ...toFrames(row, this.#model),
      cameraId: row.camera_id,
      videoTitle: row.title,
      sourceUri: row.source_uri,
      similarity: Number(row.similarity),
    }));
  }

  /**
   * Puts each candidate's frame tensors on its row: from the cache, the rest read in one statement by id
   * (and cached). The candidate query returned only ids and scores, so the tensors of the segments
   * searched most often are not read from the database again.
   */
  async #fillFrames(tx: Queryable, rows: CandidateRow[]): Promise<void> {
    const missing: CandidateRow[] = [];
    for (const row of rows) {
      const tensors = this.#frameCache.get(row.segment_id);
      if (tensors) Object.assign(row, { tensors });
      else missing.push(row);
    }
    if (missing.length === 0) return;
    const { rows: read } = await tx.query<StoredTensorRow>(
      `SELECT ${STORED_TENSOR_COLUMNS} FROM "segment_embeddings"
       WHERE "model_version_id" = $1 AND "segment_id" = ANY($2::uuid[])`,
      [this.#model.id, missing.map((row) => row.segment_id)],
    );
    const byId = new Map(read.map((row) => [row.segment_id, row]));
    for (const row of missing) {
      const stored = byId.get(row.segment_id);
      if (!stored) continue;
      const tensors = storedTensors(stored);
      this.#frameCache.set(row.segment_id, tensors);
      Object.assign(row, { tensors });
    }
  }

  async #nearestGroups(tenantId: string, query: Omit<NearestQuery, 'filters'>): Promise<GroupCandidate[]> {
    const { id: modelVersionId, embedDim } = this.#model;
    const efSearch = checkedEfSearch(query);
    const distance = `${vectorExpression(embedDim).replace('embedding', 'e."embedding"')} <=> $1::vector(${embedDim})`;
    // The predicate matches the representatives' partial index (near-duplicates.ts) exactly.
    const sql = `SELECT ${SEGMENT_COLUMNS}, v."camera_id", v."title", v."source_uri", 1 - (${distance}) AS "similarity",
         v."status" = 'INDEXED' AS "hit",
         (SELECT count(*)::int FROM "segment_embeddings" m
           WHERE m."duplicate_of" = e."segment_id" AND m."model_version_id" = e."model_version_id") AS "members"
       FROM "segment_embeddings" e
       JOIN "segments" s ON s."id" = e."segment_id"
       JOIN "videos" v ON v."id" = s."video_id"
       WHERE e."model_version_id" = '${modelVersionId}' AND e."duplicate_of" IS NULL AND e."tenant_id" = $3
       ORDER BY ${distance}
       LIMIT $2`;
    const rows = await this.#candidateRows<CandidateRow & { hit: boolean; members: number }>(efSearch, sql, [
      toVectorLiteral(query.embedding),
      query.k,
      tenantId,
    ]);
    return rows.map((row) => ({ ...this.#toCandidate(row), hit: row.hit, members: row.members }));
  }

  async #groupMembers(tenantId: string, query: GroupMembersQuery): Promise<GroupMember[]> {
    if (query.groupIds.length === 0 || query.limit < 1) return [];
    for (const id of query.groupIds) {
      if (!isUuid(id)) throw new HbiError('BAD_USER_INPUT', `Not a group id: ${JSON.stringify(id)}`);
    }
    const { id: modelVersionId, embedDim } = this.#model;
    const distance = `${vectorExpression(embedDim).replace('embedding', 'e."embedding"')} <=> $1::vector(${embedDim})`;
    // Ordered by similarity, not distance: the members come from the btree on duplicate_of, never from
    // an HNSW scan that would stop after ef_search rows.
    const sql = `SELECT ${SEGMENT_COLUMNS}, v."camera_id", v."title", v."source_uri", 1 - (${distance}) AS "similarity",
         e."duplicate_of" AS "group_id"
       FROM "segment_embeddings" e
       JOIN "segments" s ON s."id" = e."segment_id"
       JOIN "videos" v ON v."id" = s."video_id"
       WHERE e."model_version_id" = '${modelVersionId}' AND e."duplicate_of" = ANY($4::uuid[])
         AND v."tenant_id" = $3 AND v."status" = 'INDEXED'
       ORDER BY "similarity" DESC, s."id"
       LIMIT $2`;
    const rows = await this.#candidateRows<CandidateRow & { group_id: string }>(undefined, sql, [
      toVectorLiteral(query.embedding),
      Math.min(query.limit, 100_000),
      tenantId,
      [...query.groupIds],
    ]);
    return rows.map((row) => ({ ...this.#toCandidate(row), groupId: row.group_id }));
  }

  /** Runs a candidate query (ids and scores) and fills in the frame tensors from the cache or by id. */
  async #candidateRows<R extends CandidateRow>(
    efSearch: number | undefined,
    sql: string,
    params: unknown[],
  ): Promise<R[]> {
    return this.#db.transaction(async (tx) => {
      if (efSearch !== undefined) await tx.exec(`SET LOCAL hnsw.ef_search = ${efSearch}`);
      const found = (await tx.query<R>(sql, params)).rows;
      await this.#fillFrames(tx, found);
      return found;
    });
  }

  #toCandidate(row: CandidateRow): SegmentCandidate {
    return {
      ...toFrames(row, this.#model),
      cameraId: row.camera_id,
      videoTitle: row.title,
      sourceUri: row.source_uri,
      similarity: Number(row.similarity),
    };
  }

  /** The plan the database would run `query` with, for `tenantId` (diagnostics and tests). */
  explainNearest(tenantId: string, query: NearestQuery): Promise<string> {
    return inTenantScope(tenantId, async () => {
      const { sql, params, efSearch } = this.#nearestSql(tenantId, query);
      const { rows } = await this.#db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL hnsw.ef_search = ${efSearch}`);
        return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
      });
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
  }

  #nearestSql(
    tenantId: string,
    query: NearestQuery,
    withFrames = true,
  ): { sql: string; params: unknown[]; efSearch: number } {
    const filters = query.filters ?? {};
    for (const id of [...(filters.videoIds ?? []), ...(filters.cameraIds ?? [])]) {
      if (!isUuid(id))
        throw new HbiError('BAD_USER_INPUT', `Not an id: ${JSON.stringify(id)}`, { details: { id } });
    }
    const { id: modelVersionId, embedDim } = this.#model;
    const distance = `${vectorExpression(embedDim).replace('embedding', 'e."embedding"')} <=> $1::vector(${embedDim})`;
    const params: unknown[] = [toVectorLiteral(query.embedding), query.k, tenantId];
    // The model version is a literal (validated in the constructor): the partial HNSW index only
    // applies when the predicate matches its WHERE clause exactly.
    const where = [
      `e."model_version_id" = '${modelVersionId}'`,
      `v."tenant_id" = $3`,
      `v."status" = 'INDEXED'`,
    ];
    if (filters.videoIds?.length) {
      params.push([...filters.videoIds]);
      where.push(`v."id" = ANY($${params.length}::uuid[])`);
    }
    if (filters.cameraIds?.length) {
      params.push([...filters.cameraIds]);
      where.push(`v."camera_id" = ANY($${params.length}::uuid[])`);
    }
    if (filters.recordedAfter) {
      params.push(filters.recordedAfter);
      where.push(`v."recorded_at" >= $${params.length}`);
    }
    if (filters.recordedBefore) {
      params.push(filters.recordedBefore);
      where.push(`v."recorded_at" < $${params.length}`);
    }
    const efSearch = checkedEfSearch(query);
    const columns = withFrames ? FRAME_COLUMNS : SEGMENT_COLUMNS;
    const sql = `SELECT ${columns}, v."camera_id", v."title", v."source_uri", 1 - (${distance}) AS "similarity"
       FROM "segment_embeddings" e
       JOIN "segments" s ON s."id" = e."segment_id"
       JOIN "videos" v ON v."id" = s."video_id"
       WHERE ${where.join(' AND ')}
       ORDER BY ${distance}
       LIMIT $2`;
    return { sql, params, efSearch };
  }

  async #frames(tenantId: string, scope: SegmentScope): Promise<SegmentFrames[]> {
    const db = this.#db;
    if (scope.kind === 'segment') {
      const id = scope.segmentId;
      if (!isUuid(id)) throw notFound('segment', id);
      const { rows } = await db.query<FrameRow & { status: string }>(
        `SELECT ${FRAME_COLUMNS}, v."status" FROM "segments" s
         JOIN "videos" v ON v."id" = s."video_id"
         LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id" AND e."model_version_id" = $2
         WHERE s."id" = $1 AND v."tenant_id" = $3`,
        [id, this.#model.id, tenantId],
      );
      const row = rows[0];
      if (!row || row.status === 'DELETED') throw notFound('segment', id);
      return [toFrames(row, this.#model)];
    }
    const videoId = scope.videoId;
    if (!isUuid(videoId)) throw notFound('video', videoId);
    const { rows: videos } = await db.query<{ status: string }>(
      `SELECT "status" FROM "videos" WHERE "id" = $1 AND "tenant_id" = $2`,
      [videoId, tenantId],
    );
    const status = videos[0]?.status;
    if (status === 'PENDING' || status === 'INDEXING') {
      throw new HbiError('UNAVAILABLE', `Video ${videoId} is still being indexed; retry shortly`, {
        details: { videoId, status },
      });
    }
    if (status !== 'INDEXED') {
      throw notFound('video', videoId, status === 'FAILED' ? 'it failed to index' : undefined);
    }
    const { rows } = await db.query<FrameRow>(
      `SELECT ${FRAME_COLUMNS} FROM "segments" s
       LEFT JOIN "segment_embeddings" e ON e."segment_id" = s."id" AND e."model_version_id" = $2
       WHERE s."video_id" = $1 ORDER BY s."index"`,
      [videoId, this.#model.id],
    );
    if (rows.length === 0) throw notFound('video', videoId, 'it has no segments');
    return rows.map((row) => toFrames(row, this.#model));
  }
}

/** `hnsw.ef_search` for a query: its own, at least `k`; BAD_USER_INPUT outside 1..10 000. */
function checkedEfSearch(query: { k: number; efSearch?: number }): number {
  const efSearch = Math.max(query.efSearch ?? 0, query.k);
  if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > 10_000) {
    throw new HbiError('BAD_USER_INPUT', `Unsupported candidate count ${efSearch}`);
  }
  return efSearch;
}

/** The index name for a model version (identifiers cannot be parameters, so the id is validated). */
export function vectorIndexName(modelVersionId: string): string {
  if (!isUuid(modelVersionId))
    throw new HbiError('BAD_USER_INPUT', `Not a model version id: ${modelVersionId}`);
  return `segment_embeddings_hnsw_${modelVersionId.toLowerCase().replaceAll('-', '')}`;
}

/**
 * The SQL expression a query must use for the index to apply: ORDER BY <expr> <=> $1::vector(D).
 * Cosine distance: embeddings are L2-normalised, so it ranks like the dot product.
 */
export function vectorExpression(dimension: number): string {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) {
    throw new HbiError('BAD_USER_INPUT', `Unsupported embedding dimension ${dimension}`);
  }
  return `(embedding::vector(${dimension}))`;
}

/** Creates the model version's HNSW index when missing; safe to call at every start. */
export async function ensureVectorIndex(
  db: Queryable,
  modelVersionId: string,
  dimension: number,
  options: { buildMemoryMb?: number } = {},
): Promise<void> {
  // A build whose graph outgrows maintenance_work_mem goes on much slower (pgvector says so in a
  // notice); a bulk load's caller may give it more for this statement alone (SET LOCAL, one implicit
  // transaction with the CREATE INDEX).
  const memory = options.buildMemoryMb;
  const setting =
    memory !== undefined && Number.isInteger(memory) && memory > 0
      ? `SET LOCAL maintenance_work_mem = '${memory}MB';\n`
      : '';
  const sql = `${setting}CREATE INDEX IF NOT EXISTS "${vectorIndexName(modelVersionId)}" ON "segment_embeddings"
     USING hnsw (${vectorExpression(dimension)} vector_cosine_ops)
     WHERE "model_version_id" = '${modelVersionId}'`;
  // Index builds are the owner's work (db/scope.ts).
  await inOwnerScope('vector index', () => db.exec(sql));
}

/** A segment's frame tensors as stored (BYTEA columns), by segment id. */
export interface StoredTensorRow {
  segment_id: string;
  frame_tokens: Uint8Array;
  frame_weights: Uint8Array;
  frame_mask: Uint8Array;
}

/** The columns of a `StoredTensorRow`, for a SELECT from "segment_embeddings". */
export const STORED_TENSOR_COLUMNS = `"segment_id", "frame_tokens", "frame_weights", "frame_mask"`;

/** The decoded tensors of a stored row. */
export function storedTensors(row: StoredTensorRow): FrameTensors {
  return {
    frameTokens: bytesToFloat32(row.frame_tokens),
    frameWeights: bytesToFloat32(row.frame_weights),
    frameMask: bytesToFloat32(row.frame_mask),
  };
}

/** `[0.1,0.2,…]`, the literal pgvector parses from a `$n::vector` parameter. */
export function toVectorLiteral(values: Float32Array): string {
  return `[${Array.from(values, (value) => (Number.isFinite(value) ? value : 0)).join(',')}]`;
}

/** Float32 values as bytes (the platform runs on little-endian hosts, as ONNX Runtime does). */
export function float32ToBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Bytes from a BYTEA column back to float32 values; INTERNAL when the length is not a multiple of 4. */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new HbiError('INTERNAL', `Stored tensor has ${bytes.byteLength} bytes, not float32`);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/** The SQL parameters of one segment's vectors: embedding literal, then the three tensors' bytes. */
function vectorParams(vectors: SegmentVectors): unknown[] {
  return [
    toVectorLiteral(vectors.embedding),
    float32ToBytes(vectors.frameTokens),
    float32ToBytes(vectors.frameWeights),
    float32ToBytes(vectors.frameMask),
  ];
}

/** One multi-row INSERT: `head` VALUES (…), (…) with positional parameters. */
export async function insertRows(
  tx: Queryable,
  head: string,
  rows: readonly unknown[][],
  tuple: (placeholders: string[]) => string = (p) => `(${p.join(', ')})`,
): Promise<void> {
  const params: unknown[] = [];
  const values = rows.map((row) => tuple(row.map((value) => `$${params.push(value)}`)));
  await tx.query(`${head} VALUES ${values.join(', ')}`, params);
}

function toFrames(row: FrameRow, model: VectorModel): SegmentFrames {
  if (row.tensors) {
    return {
      segmentId: row.segment_id,
      videoId: row.video_id,
      index: row.index,
      startMs: row.start_ms,
      endMs: row.end_ms,
      ...row.tensors,
    };
  }
  if (!row.frame_tokens || !row.frame_weights || !row.frame_mask) {
    throw new HbiError('NOT_FOUND', `Segment ${row.segment_id} is not indexed with model ${model.modelId}`, {
      details: { segmentId: row.segment_id, model: model.modelId },
    });
  }
  return {
    segmentId: row.segment_id,
    videoId: row.video_id,
    index: row.index,
    startMs: row.start_ms,
    endMs: row.end_ms,
    frameTokens: bytesToFloat32(row.frame_tokens),
    frameWeights: bytesToFloat32(row.frame_weights),
    frameMask: bytesToFloat32(row.frame_mask),
  };
}

function notFound(what: 'segment' | 'video', id: string, why?: string): HbiError {
  return new HbiError('NOT_FOUND', `No ${what} ${JSON.stringify(id)}${why ? `: ${why}` : ''}`, {
    details: { [`${what}Id`]: id },
  });
}
