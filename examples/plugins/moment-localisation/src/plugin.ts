/**
 * The `moment-localisation` plugin, written as an outside package would write it: it imports only the
 * public API (`hbi-platform`), and reaches the shared encoder and the database through its context.
 * It needs the `text` graph (the query) and the `interaction` graph (per-segment scores).
 */
import type { PluginContext } from 'hbi-platform';
import { definePlugin, defineTask, handleEach } from 'hbi-platform';
import { z } from 'zod';

import type { MomentConfig } from './config.js';
import { momentConfigSchema } from './config.js';
import type { MomentResult } from './localise.js';
import { localiseMoment } from './localise.js';
import { MomentResolver } from './moment.resolver.js';
import { LOCALISE_TASK, PLUGIN_NAME } from './name.js';

/** `moment.localise` input: a video, a text and an optional smoothing width. */
export const localiseTaskInput = z.object({
  videoId: z.string(),
  text: z.string(),
  windowMs: z.number().int().min(0).max(3_600_000).nullish(),
});

export const momentLocalisationPlugin = definePlugin<MomentConfig>({
  name: PLUGIN_NAME,
  version: '0.1.0',
  resolvers: [MomentResolver],
  requiredGraphs: ['text', 'interaction'],
  configSchema: momentConfigSchema,
  tasks: {
    /** One text and video per item; an unknown video or an empty text fails only its item. */
    [LOCALISE_TASK]: defineTask({
      input: localiseTaskInput,
      maxBatchSize: 8,
      handle: (batch, context: PluginContext<MomentConfig>) =>
        handleEach(batch, (input): Promise<MomentResult> => localiseMoment(context, input)),
    }),
  },
});
