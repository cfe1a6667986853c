/** Ingests a file through a started platform and returns its video id and segment ids in order. */
import { VideoIngestor } from '../../src/core/ingest/video-ingestor.js';
import type { Platform } from '../../src/core/platform.js';

export async function ingestWithSegments(
  platform: Platform,
  file: string,
): Promise<{ videoId: string; segmentIds: string[] }> {
  const { kernel } = platform;
  const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
  const { videoId } = await ingestor.ingestFile({ file });
  const { rows } = await kernel.db.query<{ id: string }>(
    `SELECT "id" FROM "segments" WHERE "video_id" = $1 ORDER BY "index"`,
    [videoId],
  );
  return { videoId, segmentIds: rows.map((row) => row.id) };
}
