/**
 * HNSW indexes for segment embeddings, one per model version. Prisma cannot express them, and the
 * dimension depends on the model, so the `embedding` column is dimensionless and each model version
 * gets a partial expression index on `embedding::vector(D)` (pgvector's documented pattern for mixed
 * dimensions). Old and new versions stay searchable side by side during a re-index.
 */
import { HbiError } from '../errors.js';
import type { Queryable } from './port.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The index name for a model version (identifiers cannot be parameters, so the id is validated). */
export function vectorIndexName(modelVersionId: string): string {
  if (!UUID.test(modelVersionId))
    throw new HbiError('BAD_USER_INPUT', `Not a model version id: ${modelVersionId}`);
  return `segment_embeddings_hnsw_${modelVersionId.replaceAll('-', '')}`;
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
): Promise<void> {
  await db.exec(
    `CREATE INDEX IF NOT EXISTS "${vectorIndexName(modelVersionId)}" ON "segment_embeddings"
     USING hnsw (${vectorExpression(dimension)} vector_cosine_ops)
     WHERE "model_version_id" = '${modelVersionId}'`,
  );
}
