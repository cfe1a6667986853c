/** Platforms with ingested clips for plugin tests. */
import path from 'node:path';

import { loadConfig } from '../../src/core/config.js';
import { VideoIngestor } from '../../src/core/ingest/video-ingestor.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { Platform } from '../../src/core/platform.js';
import { startPlatform } from '../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtins.js';
import { TINY_PACKAGE, tempDir } from './fixtures.js';
import { makeColorMp4, makeMp4 } from './videos.js';
import { systemView } from './system-scope.js';

/** Ingests a file through a started platform and returns its video id and segment ids in order. */
export async function ingestWithSegments(
  platform: Platform,
  file: string,
): Promise<{ videoId: string; segmentIds: string[] }> {
  const { kernel } = platform;
  const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
  const { videoId } = await ingestor.ingestFile({ file });
  const { rows } = await systemView(kernel.db).query<{ id: string }>(
    `SELECT "id" FROM "segments" WHERE "video_id" = $1 ORDER BY "index"`,
    [videoId],
  );
  return { videoId, segmentIds: rows.map((row) => row.id) };
}

export interface ClipPlatform {
  platform: Platform;
  /** The 2 s test pattern, cut into 3 segments of 800 ms. */
  longVideo: { videoId: string; segmentIds: string[] };
  /** A solid-colour clip. */
  colourVideo: { videoId: string; segmentIds: string[] };
  /** POSTs one GraphQL operation to the platform; the JSON body. */
  graphql(query: string, variables?: Record<string, unknown>): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

/**
 * An embedded platform on the fixture model with 800 ms segments, holding the test pattern and one
 * solid `colour` clip: what the qa and captioning plugin tests ask and caption.
 */
export async function startClipPlatform(prefix: string, colour: string): Promise<ClipPlatform> {
  const temp = await tempDir(prefix);
  const config = loadConfig({
    HBI_MODEL_DIR: TINY_PACKAGE,
    HBI_DATA_DIR: path.join(temp.dir, 'data'),
    HBI_PORT: '0',
    HBI_SEGMENT_WINDOW_MS: '800',
    HBI_SEGMENT_OVERLAP_MS: '0',
  });
  const platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
  const stop = async () => {
    await platform.stop();
    await temp.cleanup();
  };
  try {
    const { ffmpeg } = platform.kernel;
    const longVideo = await ingestWithSegments(platform, await makeMp4(ffmpeg, temp.dir));
    const colourVideo = await ingestWithSegments(platform, await makeColorMp4(ffmpeg, temp.dir, colour));
    const graphql = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(platform.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.adminKey}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as Record<string, any>;
    };
    return { platform, longVideo, colourVideo, graphql, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
