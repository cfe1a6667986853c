/**
 * The `retrieval` plugin: text → segment search over the shared encoder's embeddings with HBI
 * re-ranking. It needs the `text` graph (queries) and the `interaction` graph (re-rank).
 */
import { z } from 'zod';

import { HbiError, toHbiError } from '../../core/errors.js';
import { definePlugin } from '../../core/plugins/define-plugin.js';
import type { RetrievalConfig } from './config.js';
import { retrievalConfigSchema } from './config.js';
import { PLUGIN_NAME } from './name.js';
import { RetrievalResolver } from './retrieval.resolver.js';
import type { SearchOutcome } from './search.js';
import { searchSegments } from './search.js';

const searchInput = z.object({ text: z.string(), videoIds: z.array(z.string()).optional() });

export const retrievalPlugin = definePlugin<RetrievalConfig>({
  name: PLUGIN_NAME,
  version: '0.1.0',
  resolvers: [RetrievalResolver],
  requiredGraphs: ['text', 'interaction'],
  configSchema: retrievalConfigSchema,
  tasks: {
    /** One search per item; items fail alone (an empty text fails only its own item). */
    'retrieval.search': {
      maxBatchSize: 16,
      async handle(batch, context) {
        return Promise.all(
          batch.map(async (item) => {
            try {
              const parsed = searchInput.safeParse(item.input);
              if (!parsed.success)
                throw new HbiError('BAD_USER_INPUT', `Invalid search task: ${parsed.error.message}`);
              const input = parsed.data;
              const value: SearchOutcome = await searchSegments(context, input.text, {
                videoIds: input.videoIds ?? null,
              });
              return { ok: true as const, value };
            } catch (error) {
              return { ok: false as const, error: toHbiError(error) };
            }
          }),
        );
      },
    },
  },
});
