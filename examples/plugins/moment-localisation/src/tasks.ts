/** The plugin's task, `moment.localise`: a typed handle the resolver runs with `context.tasks.run`. */
import type { TaskContext } from 'hbi-platform';
import { defineTask, handleEach } from 'hbi-platform';
import { z } from 'zod';

import type { MomentConfig } from './config.js';
import type { MomentResult } from './localise.js';
import { localiseMoment } from './localise.js';
import { LOCALISE_TASK } from './name.js';

/** `moment.localise` input: a video, a text and an optional smoothing width. */
export const localiseTaskInput = z.object({
  videoId: z.string(),
  text: z.string(),
  windowMs: z.number().int().min(0).max(3_600_000).nullish(),
});

/** One text and video per item; an unknown video or an empty text fails only its item. */
export const localiseTask = defineTask({
  kind: LOCALISE_TASK,
  input: localiseTaskInput,
  maxBatchSize: 8,
  handle: (batch, context: TaskContext<MomentConfig>) =>
    handleEach(batch, (input): Promise<MomentResult> => localiseMoment(context, input)),
});
