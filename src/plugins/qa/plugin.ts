/**
 * The `qa` plugin: video question answering over the shared encoder. The question goes through the
 * `text` graph, each segment's stored frame tokens and the question's word tokens through the `qa`
 * head; whole videos aggregate their segments (see answer.ts). Answers are cached in `answer_cache`.
 */
import { z } from 'zod';

import type { PluginContext } from '../../core/plugins/define-plugin.js';
import { definePlugin, defineTask, handleEach } from '../../core/plugins/define-plugin.js';
import type { AnswerResult } from './answer.js';
import { answerQuestion } from './answer.js';
import type { QaConfig } from './config.js';
import { qaConfigSchema } from './config.js';
import { PLUGIN_NAME } from './name.js';
import { QaResolver } from './qa.resolver.js';

/** `qa.answer` input: a question and exactly one of segmentId / videoId. */
export const answerTaskInput = z
  .object({
    question: z.string(),
    segmentId: z.string().nullish(),
    videoId: z.string().nullish(),
    /** Runner-up answers to return besides the answer. */
    alternatives: z.number().int().min(0).max(1000).default(3),
  })
  .refine((input) => (input.segmentId == null) !== (input.videoId == null), {
    message: 'give exactly one of segmentId or videoId',
  });
export type AnswerTaskInput = z.input<typeof answerTaskInput>;

export const qaPlugin = definePlugin<QaConfig>({
  name: PLUGIN_NAME,
  version: '0.1.0',
  resolvers: [QaResolver],
  requiredGraphs: ['text', 'qa'],
  configSchema: qaConfigSchema,
  tasks: {
    /** One question per item → AnswerResult; an unknown id or a bad question fails only its item. */
    'qa.answer': defineTask({
      input: answerTaskInput,
      maxBatchSize: 16,
      handle: (batch, context: PluginContext<QaConfig>) =>
        handleEach(batch, (input): Promise<AnswerResult> =>
          answerQuestion(context, {
            question: input.question,
            scope:
              input.segmentId != null
                ? { kind: 'segment', segmentId: input.segmentId }
                : { kind: 'video', videoId: input.videoId! },
            alternatives: input.alternatives,
          }),
        ),
    }),
  },
});
