-- The answer and caption caches become one cache namespaced per tenant, plugin and model version.
-- Their rows are only caches (recomputed on demand), so the old tables are dropped, not copied.

-- DropForeignKey
ALTER TABLE "answer_cache" DROP CONSTRAINT "answer_cache_model_version_id_fkey";

-- DropForeignKey
ALTER TABLE "caption_cache" DROP CONSTRAINT "caption_cache_model_version_id_fkey";

-- DropTable
DROP TABLE "answer_cache";

-- DropTable
DROP TABLE "caption_cache";

-- CreateTable
CREATE TABLE "plugin_cache" (
    "tenant_id" UUID NOT NULL,
    "plugin" TEXT NOT NULL,
    "model_version_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "video_id" UUID,
    "value" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_cache_pkey" PRIMARY KEY ("tenant_id","plugin","model_version_id","key")
);

-- CreateIndex
CREATE INDEX "plugin_cache_video_id_idx" ON "plugin_cache"("video_id");

-- AddForeignKey
ALTER TABLE "plugin_cache" ADD CONSTRAINT "plugin_cache_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugin_cache" ADD CONSTRAINT "plugin_cache_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugin_cache" ADD CONSTRAINT "plugin_cache_video_id_fkey" FOREIGN KEY ("video_id") REFERENCES "videos"("id") ON DELETE CASCADE ON UPDATE CASCADE;
