/**
 * The `captioning` plugin: video captioning over the shared encoder's stored frame tokens with the
 * package's `caption` head; the decoding loop (greedy or beam) runs here in TypeScript. Captions are
 * cached in `caption_cache`.
 */
import { z } from 'zod';

import type { PluginContext } from '../../core/plugins/define-plugin.js';
import { definePlugin, defineTask, handleEach } from '../../core/plugins/define-plugin.js';
import type { CaptionResult } from './caption.js';
import { captionScope } from './caption.js';
import { CaptioningResolver } from './captioning.resolver.js';
import type { CaptioningConfig } from './config.js';
import { captioningConfigSchema } from './config.js';
import { PLUGIN_NAME } from './name.js';

/** `captioning.caption` input: exactly one of segmentId / videoId, and how to decode. */
export const captionTaskInput = z
  .object({
    segmentId: z.string().nullish(),
    videoId: z.string().nullish(),
    decoding: z.enum(['GREEDY', 'BEAM']).default('GREEDY'),
    /** Beam width (BEAM only). */
    beamSize: z.number().int().min(1).max(8).default(3),
    /** Most tokens per segment caption, [EOS] included; default the model's max words − 1 (cached). */
    maxTokens: z.number().int().min(1).nullish(),
  })
  .refine((input) => (input.segmentId == null) !== (input.videoId == null), {
    message: 'give exactly one of segmentId or videoId',
  });
export type CaptionTaskInput = z.input<typeof captionTaskInput>;

export const captioningPlugin = definePlugin<CaptioningConfig>({
  name: PLUGIN_NAME,
  version: '0.1.0',
  resolvers: [CaptioningResolver],
  requiredGraphs: ['caption'],
  configSchema: captioningConfigSchema,
  tasks: {
    /** One segment or video per item → CaptionResult; an unknown id fails only its item. */
    'captioning.caption': defineTask({
      input: captionTaskInput,
      maxBatchSize: 8,
      handle: (batch, context: PluginContext<CaptioningConfig>) =>
        handleEach(batch, (input): Promise<CaptionResult> =>
          captionScope(context, {
            scope:
              input.segmentId != null
                ? { kind: 'segment', segmentId: input.segmentId }
                : { kind: 'video', videoId: input.videoId! },
            decoding: input.decoding,
            beamSize: input.beamSize,
            maxTokens: input.maxTokens ?? null,
          }),
        ),
    }),
  },
});
