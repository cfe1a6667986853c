-- Row-level security: defence in depth behind every port's explicit tenant filter. Each tenant table
-- admits a row only when the transaction's settings name its tenant (`hbi.tenant_id`) or open every
-- tenant (`hbi.system` = 'on', the platform's explicitly named cross-tenant work). Both settings are
-- set per transaction by the database adapters from the caller's data scope (src/core/db/scope.ts); a
-- transaction that sets neither sees no rows and may write none. FORCE binds the tables' owner too;
-- superusers are never bound, so the adapters run as the role `hbi_app` when connected as one
-- (src/core/db/row-security.ts).

-- Segments and their vectors carry their video's tenant, so the policy is a column test (no join in
-- the search's hot path). The database fills it on insert from the parent row.
ALTER TABLE "segments" ADD COLUMN "tenant_id" UUID;
UPDATE "segments" s SET "tenant_id" = v."tenant_id" FROM "videos" v WHERE v."id" = s."video_id";
ALTER TABLE "segments" ALTER COLUMN "tenant_id" SET NOT NULL;

ALTER TABLE "segment_embeddings" ADD COLUMN "tenant_id" UUID;
UPDATE "segment_embeddings" e SET "tenant_id" = s."tenant_id" FROM "segments" s WHERE s."id" = e."segment_id";
ALTER TABLE "segment_embeddings" ALTER COLUMN "tenant_id" SET NOT NULL;

CREATE FUNCTION "hbi_segment_tenant"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."tenant_id" := (SELECT v."tenant_id" FROM "videos" v WHERE v."id" = NEW."video_id");
  IF NEW."tenant_id" IS NULL THEN
    RAISE EXCEPTION 'video % is not visible in this data scope', NEW."video_id" USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "segments_tenant" BEFORE INSERT OR UPDATE OF "video_id" ON "segments"
  FOR EACH ROW EXECUTE FUNCTION "hbi_segment_tenant"();

CREATE FUNCTION "hbi_segment_embedding_tenant"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."tenant_id" := (SELECT s."tenant_id" FROM "segments" s WHERE s."id" = NEW."segment_id");
  IF NEW."tenant_id" IS NULL THEN
    RAISE EXCEPTION 'segment % is not visible in this data scope', NEW."segment_id" USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "segment_embeddings_tenant" BEFORE INSERT OR UPDATE OF "segment_id" ON "segment_embeddings"
  FOR EACH ROW EXECUTE FUNCTION "hbi_segment_embedding_tenant"();

-- True when the current transaction may see rows of tenant `t`. A plain SQL expression (inlined by the
-- planner); an unset or empty setting matches nothing.
CREATE FUNCTION "hbi_tenant_visible"(t UUID) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('hbi.system', true), '') = 'on'
      OR t = nullif(current_setting('hbi.tenant_id', true), '')::uuid
$$;

ALTER TABLE "tenants" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tenants" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "tenants"
  USING ("hbi_tenant_visible"("id")) WITH CHECK ("hbi_tenant_visible"("id"));

ALTER TABLE "api_keys" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "api_keys" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "api_keys"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));

ALTER TABLE "audit_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "audit_events" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "audit_events"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));

ALTER TABLE "cameras" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "cameras" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "cameras"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));

ALTER TABLE "videos" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "videos" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "videos"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));

ALTER TABLE "segments" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "segments" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "segments"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));

ALTER TABLE "segment_embeddings" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "segment_embeddings" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "segment_embeddings"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));

ALTER TABLE "jobs" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "jobs" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "jobs"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));

ALTER TABLE "plugin_cache" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "plugin_cache" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tenant_isolation" ON "plugin_cache"
  USING ("hbi_tenant_visible"("tenant_id")) WITH CHECK ("hbi_tenant_visible"("tenant_id"));
