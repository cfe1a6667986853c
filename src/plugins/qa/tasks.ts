/**
 * The `qa` plugin's task: `qa.answer`, a question about one segment or a whole video. A typed handle:
 * the resolver runs it with `context.tasks.run(answerTask, input)`.
 */
import type { TaskContext } from 'hbi-platform';
import { defineTask, handleEach, scopeOf } from 'hbi-platform';
import { z } from 'zod';

import type { AnswerResult } from './answer.js';
import { answerQuestion } from './answer.js';
import type { QaConfig } from './config.js';

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

/** One question per item → AnswerResult; an unknown id or a bad question fails only its item. */
export const answerTask = defineTask({
  kind: 'qa.answer',
  input: answerTaskInput,
  maxBatchSize: 16,
  handle: (batch, context: TaskContext<QaConfig>) =>
    handleEach(batch, (input): Promise<AnswerResult> =>
      answerQuestion(context, {
        question: input.question,
        scope: scopeOf(input),
        alternatives: input.alternatives,
      }),
    ),
});
