-- AlterTable
ALTER TABLE "videos" ADD COLUMN     "media" JSONB;
