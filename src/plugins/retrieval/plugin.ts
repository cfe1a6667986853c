/**
 * The `retrieval` plugin: text → segment search over the shared encoder's embeddings with HBI
 * re-ranking, and segment → text ranking. It needs the `text` graph (queries) and the `interaction`
 * graph (re-rank). Its work runs as tasks, so a cluster gateway can hand it to a worker.
 */
import { z } from 'zod';

import type { PluginContext } from '../../core/plugins/define-plugin.js';
import { definePlugin, defineTask, handleEach } from '../../core/plugins/define-plugin.js';
import type { RetrievalConfig } from './config.js';
import { retrievalConfigSchema } from './config.js';
import { PLUGIN_NAME } from './name.js';
import type { RankedTextResult } from './rank-texts.js';
import { rankTexts } from './rank-texts.js';
import { RetrievalResolver } from './retrieval.resolver.js';
import type { SearchOutcome } from './search.js';
import { searchSegments } from './search.js';

/** `retrieval.search` input: the text and the filters; times are ISO-8601 strings on the wire. */
export const searchTaskInput = z.object({
  text: z.string(),
  videoIds: z.array(z.string()).nullish(),
  cameraIds: z.array(z.string()).nullish(),
  recordedAfter: z.iso.datetime({ offset: true }).nullish(),
  recordedBefore: z.iso.datetime({ offset: true }).nullish(),
});
export type SearchTaskInput = z.input<typeof searchTaskInput>;

/** `retrieval.rankTexts` input: one segment and the texts to rank against it (the count limit is config). */
export const rankTextsTaskInput = z.object({
  segmentId: z.string(),
  texts: z.array(z.string()).min(1).max(1000),
});
export type RankTextsTaskInput = z.input<typeof rankTextsTaskInput>;

export const retrievalPlugin = definePlugin<RetrievalConfig>({
  name: PLUGIN_NAME,
  version: '0.2.0',
  resolvers: [RetrievalResolver],
  requiredGraphs: ['text', 'interaction'],
  configSchema: retrievalConfigSchema,
  tasks: {
    /** One search per item → SearchOutcome; items fail alone (an empty text fails only its own item). */
    'retrieval.search': defineTask({
      input: searchTaskInput,
      maxBatchSize: 16,
      handle: (batch, context: PluginContext<RetrievalConfig>) =>
        handleEach(batch, (input): Promise<SearchOutcome> =>
          searchSegments(context, input.text, {
            videoIds: input.videoIds ?? null,
            cameraIds: input.cameraIds ?? null,
            recordedAfter: input.recordedAfter ? new Date(input.recordedAfter) : null,
            recordedBefore: input.recordedBefore ? new Date(input.recordedBefore) : null,
          }),
        ),
    }),
    /** Texts ranked against one segment → RankedTextResult[], best first. */
    'retrieval.rankTexts': defineTask({
      input: rankTextsTaskInput,
      maxBatchSize: 8,
      handle: (batch, context: PluginContext<RetrievalConfig>) =>
        handleEach(batch, (input): Promise<RankedTextResult[]> =>
          rankTexts(context, input.segmentId, input.texts),
        ),
    }),
  },
});
