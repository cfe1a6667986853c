/**
 * First-start indexing of the demo library (`examples/demo-library/library.json`): every clip is
 * ingested through the normal path, a few at a time so the encoder's batcher gets company. Already
 * indexed clips are skipped by the ingestor's idempotency, so a restart costs only the hashing. An
 * aborted signal stops it between clips (shutdown).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { z } from 'zod';

import { HbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { VideoIngestor } from './video-ingestor.js';

const librarySchema = z.looseObject({
  name: z.string(),
  clips: z.array(
    z.looseObject({
      id: z.string().min(1),
      file: z.string().min(1),
      captions: z.array(z.string()).default([]),
    }),
  ),
});
export type DemoLibrary = z.infer<typeof librarySchema>;

export interface DemoLibrarySummary {
  clips: number;
  indexed: number;
  skipped: number;
  failed: number;
}

/** Reads and validates a library file; BAD_USER_INPUT saying what is wrong. */
export async function readDemoLibrary(file: string): Promise<DemoLibrary> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new HbiError('BAD_USER_INPUT', `Cannot read ${file} as JSON`, { cause: error });
  }
  const parsed = librarySchema.safeParse(json);
  if (!parsed.success)
    throw new HbiError('BAD_USER_INPUT', `${file} is not a demo library: ${parsed.error.message}`);
  return parsed.data;
}

/** Ingests every clip (or the first `limit`); a bad clip is logged and counted, never fatal. */
export async function ingestDemoLibrary(
  ingestor: VideoIngestor,
  file: string,
  logger: Logger,
  options: { concurrency?: number; limit?: number; signal?: AbortSignal } = {},
): Promise<DemoLibrarySummary> {
  const library = await readDemoLibrary(file);
  const clips = library.clips.slice(0, options.limit ?? library.clips.length);
  const summary: DemoLibrarySummary = { clips: clips.length, indexed: 0, skipped: 0, failed: 0 };
  let next = 0;
  const worker = async () => {
    while (next < clips.length && !options.signal?.aborted) {
      const clip = clips[next++]!;
      try {
        const result = await ingestor.ingestFile({
          file: path.resolve(path.dirname(file), clip.file),
          title: clip.id,
          sourceUri: `demo-library:${clip.id}`,
        });
        if (result.alreadyIndexed) summary.skipped++;
        else summary.indexed++;
      } catch (error) {
        summary.failed++;
        logger.warn('demo clip failed to ingest', { clip: clip.id, error });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  logger.info('demo library ready', { library: library.name, ...summary });
  return summary;
}
