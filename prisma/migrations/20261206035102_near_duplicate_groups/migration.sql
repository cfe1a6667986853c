-- Near-duplicate groups for search (src/core/segments/near-duplicates.ts): a segment whose embedding is
-- within the configured cosine similarity of an existing group's representative (same tenant and model
-- version) points at it; a representative has no "duplicate_of". Search takes its ANN candidates among the
-- representatives (a partial HNSW index per model version, made by the app like the full one) and then
-- re-ranks the members of the best groups, so a thousand copies of one static scene fill one slot, not all.
-- AlterTable
ALTER TABLE "segment_embeddings" ADD COLUMN     "duplicate_of" UUID;

-- CreateIndex
CREATE INDEX "segment_embeddings_duplicate_of_model_version_id_idx" ON "segment_embeddings"("duplicate_of", "model_version_id");

-- A group outlives its representative: when a representative's vectors are deleted (its video deleted or
-- re-segmented), its earliest remaining member takes its place and the others follow it. Rows deleted in
-- the same statement are already invisible here, so a whole group deleted at once leaves nothing behind.
CREATE FUNCTION "hbi_segment_group_promote"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  successor UUID;
BEGIN
  IF OLD."duplicate_of" IS NOT NULL THEN
    RETURN NULL;
  END IF;
  SELECT e."segment_id" INTO successor FROM "segment_embeddings" e
   WHERE e."duplicate_of" = OLD."segment_id" AND e."model_version_id" = OLD."model_version_id"
   ORDER BY e."created_at", e."segment_id" LIMIT 1;
  IF successor IS NOT NULL THEN
    UPDATE "segment_embeddings" SET "duplicate_of" = NULL
     WHERE "segment_id" = successor AND "model_version_id" = OLD."model_version_id";
    UPDATE "segment_embeddings" SET "duplicate_of" = successor
     WHERE "duplicate_of" = OLD."segment_id" AND "model_version_id" = OLD."model_version_id";
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER "segment_embeddings_group_promote" AFTER DELETE ON "segment_embeddings"
  FOR EACH ROW EXECUTE FUNCTION "hbi_segment_group_promote"();
