/**
 * The `captioning` plugin's task: `captioning.caption`, one segment or a whole video. A typed handle:
 * the resolver runs it with `context.tasks.run(captionTask, input)`.
 */
import type { TaskContext } from 'hbi-platform';
import { defineTask, handleEach, scopeOf } from 'hbi-platform';
import { z } from 'zod';

import type { CaptionResult } from './caption.js';
import { captionScope } from './caption.js';
import type { CaptioningConfig } from './config.js';

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

/** One segment or video per item → CaptionResult; an unknown id fails only its item. */
export const captionTask = defineTask({
  kind: 'captioning.caption',
  input: captionTaskInput,
  maxBatchSize: 8,
  handle: (batch, context: TaskContext<CaptioningConfig>) =>
    handleEach(batch, (input): Promise<CaptionResult> =>
      captionScope(context, {
        scope: scopeOf(input),
        decoding: input.decoding,
        beamSize: input.beamSize,
        maxTokens: input.maxTokens ?? null,
      }),
    ),
});
