-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "published_at" TIMESTAMPTZ(3),
ADD COLUMN     "request" JSONB,
ADD COLUMN     "request_sha256" TEXT;

-- CreateIndex
CREATE INDEX "jobs_status_published_at_idx" ON "jobs"("status", "published_at");
