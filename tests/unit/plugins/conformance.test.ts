/**
 * Every built-in plugin (read from src/plugins/builtins.ts, so new ones join by being listed there) and
 * the sample external plugin pass the conformance suite external authors run. Their tasks get a real
 * kernel: the bundled model package's shared encoder and a PGlite database with a few demo clips
 * indexed, since fakes would make "one outcome per item, in order" meaningless for model-backed tasks.
 * A task kind without samples below fails its "has conformance samples" check: add them here.
 */
import 'reflect-metadata';

import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll } from 'vitest';

import { momentLocalisationPlugin } from '../../../examples/plugins/moment-localisation/src/index.js';
import { loadConfig } from '../../../src/core/config.js';
import { readDemoLibrary } from '../../../src/core/ingest/demo-library.js';
import { VideoIngestor } from '../../../src/core/ingest/video-ingestor.js';
import type { Kernel } from '../../../src/core/kernel.js';
import { bootKernel } from '../../../src/core/kernel.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { PluginServices } from '../../../src/core/plugins/define-plugin.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import type { TaskSamples } from '../../../src/testing/conformance.js';
import { bindResultCache } from '../../../src/core/plugins/result-cache.js';
import { BUNDLED_MODEL_DIR, describePluginConformance } from '../../../src/testing/conformance.js';
import { tempDir } from '../../helpers/fixtures.js';
import { systemView } from '../../helpers/system-scope.js';

const LIBRARY = fileURLToPath(new URL('../../../examples/demo-library/library.json', import.meta.url));
/** Demo clips indexed for the tasks to work on. */
const CLIPS = 3;
/** A well-formed id that names nothing. */
const UNKNOWN_ID = '00000000-0000-4000-8000-00000000dead';

interface IndexedClip {
  videoId: string;
  segmentId: string;
  caption: string;
  question: string;
}

interface World {
  kernel: Kernel;
  services: PluginServices;
  clips: IndexedClip[];
  cleanup(): Promise<void>;
}

let world: Promise<World> | undefined;

/** Boots the kernel and indexes the clips once for every suite in this file. */
function useWorld(): Promise<World> {
  return (world ??= (async () => {
    const temp = await tempDir('hbi-conformance-');
    const config = loadConfig({
      HBI_MODEL_DIR: BUNDLED_MODEL_DIR,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
    });
    const logger = createMemoryLogger();
    const kernel = await bootKernel(config, logger);
    const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
    const library = await readDemoLibrary(LIBRARY);
    const clips: IndexedClip[] = [];
    for (const clip of library.clips.slice(0, CLIPS)) {
      const { videoId } = await ingestor.ingestFile({
        file: path.resolve(path.dirname(LIBRARY), clip.file),
        title: clip.id,
      });
      const { rows } = await systemView(kernel.db).query<{ id: string }>(
        `SELECT "id" FROM "segments" WHERE "video_id" = $1 ORDER BY "index" LIMIT 1`,
        [videoId],
      );
      const qa = (clip as { qa?: { question: string }[] }).qa ?? [];
      clips.push({
        videoId,
        segmentId: rows[0]!.id,
        caption: clip.captions[0]!,
        question: qa[0]?.question ?? 'what colour is the object?',
      });
    }
    const { encoder, modelVersion } = kernel;
    const services = { encoder, logger, model: kernel.modelPackage.manifest, modelVersion };
    return {
      kernel,
      services,
      clips,
      cleanup: async () => {
        await kernel.stop();
        await temp.cleanup();
      },
    };
  })());
}

afterAll(async () => (await world)?.cleanup(), 60_000);

/** Drops what legitimately differs between two runs of the same item (a cache hit on the second run). */
const withoutCacheFlag = (value: unknown) => ({ ...(value as Record<string, unknown>), cached: undefined });

const SAMPLES: Record<string, () => Promise<TaskSamples>> = {
  'retrieval.search': async () => {
    const [a, b, c] = (await useWorld()).clips;
    return {
      valid: [{ text: a!.caption }, { text: b!.caption }, { text: c!.caption, videoIds: [c!.videoId] }],
      invalid: [{ text: '' }, { text: a!.caption, videoIds: ['not-an-id'] }, { text: 42 }],
    };
  },
  'retrieval.rankTexts': async () => {
    const [a, b] = (await useWorld()).clips;
    return {
      valid: [
        { segmentId: a!.segmentId, texts: [a!.caption, b!.caption] },
        { segmentId: b!.segmentId, texts: [a!.caption, b!.caption] },
      ],
      invalid: [
        { segmentId: UNKNOWN_ID, texts: [a!.caption] },
        { segmentId: a!.segmentId, texts: [] },
      ],
    };
  },
  'qa.answer': async () => {
    const [a, b] = (await useWorld()).clips;
    return {
      valid: [
        { question: a!.question, segmentId: a!.segmentId },
        { question: b!.question, videoId: b!.videoId },
      ],
      invalid: [
        { question: a!.question, videoId: UNKNOWN_ID },
        { question: a!.question, segmentId: a!.segmentId, videoId: a!.videoId },
      ],
      comparable: withoutCacheFlag,
    };
  },
  'captioning.caption': async () => {
    const [a, b] = (await useWorld()).clips;
    return {
      valid: [
        { segmentId: a!.segmentId, decoding: 'GREEDY' },
        { videoId: b!.videoId, decoding: 'BEAM', beamSize: 2 },
      ],
      invalid: [{ segmentId: UNKNOWN_ID }, { videoId: b!.videoId, decoding: 'SAMPLING' }],
      comparable: withoutCacheFlag,
    };
  },
  'moment.localise': async () => {
    const [a, b] = (await useWorld()).clips;
    return {
      valid: [
        { videoId: a!.videoId, text: a!.caption },
        { videoId: b!.videoId, text: b!.caption, windowMs: 0 },
      ],
      invalid: [
        { videoId: UNKNOWN_ID, text: a!.caption },
        { videoId: a!.videoId, text: '   ' },
      ],
    };
  },
};

for (const plugin of [...BUILTIN_PLUGINS, momentLocalisationPlugin]) {
  describePluginConformance(plugin, {
    services: async () => (await useWorld()).services,
    // The kernel's own tenant-bound segment store and result cache, as the platform builds them.
    scoping: async () => {
      const { kernel } = await useWorld();
      return {
        segments: (tenantId) => kernel.vectors.forTenant(tenantId),
        cache: (plugin, tenantId) =>
          bindResultCache(kernel.db, { tenantId, plugin, modelVersionId: kernel.modelVersion.id }),
      };
    },
    samples: SAMPLES,
    alongside: BUILTIN_PLUGINS,
  });
}
