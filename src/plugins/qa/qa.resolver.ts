/** The `answer` query: a question about one segment or a whole video, answered by the `qa.answer` task. */
import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';

import type { GatewayContext } from 'hbi-platform';
import { Cost, Policy, pluginSettings, textWarnings } from 'hbi-platform';

import type { QaConfig } from './config.js';
import { Answer, AnswerAlternative, AnswerScope, SegmentAnswer } from './qa.types.js';
import type { AnswerTaskInput } from './tasks.js';
import { answerTask } from './tasks.js';

@Resolver()
export class QaResolver {
  @Policy('read')
  // A whole video is answered segment by segment, up to the plugin's maxVideoSegments.
  @Cost((args, context) =>
    args.videoId ? (pluginSettings<QaConfig>(context, 'qa').maxVideoSegments ?? 1000) : 1,
  )
  @Query(() => Answer, {
    description:
      'Answers a question about one segment (segmentId) or a whole video (videoId, from the mean of its segments’ answer probabilities); give exactly one of them.',
  })
  async answer(
    @Arg('question', () => String) question: string,
    @Arg('segmentId', () => ID, { nullable: true }) segmentId: string | null | undefined,
    @Arg('videoId', () => ID, { nullable: true }) videoId: string | null | undefined,
    @Arg('alternatives', () => Int, {
      nullable: true,
      defaultValue: 3,
      description: 'How many runner-up answers to return (0 or more).',
    })
    alternatives: number | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<Answer> {
    const input: AnswerTaskInput = {
      question,
      segmentId: segmentId ?? null,
      videoId: videoId ?? null,
      alternatives: alternatives ?? 3,
    };
    const result = await context.tasks.run(answerTask, input);
    return Object.assign(new Answer(), {
      question: result.question,
      answer: result.answer,
      confidence: result.confidence,
      alternatives: result.alternatives.map((entry) => Object.assign(new AnswerAlternative(), entry)),
      scope: result.scope === 'VIDEO' ? AnswerScope.VIDEO : AnswerScope.SEGMENT,
      videoId: result.videoId,
      segmentId: result.segmentId,
      segments: result.segments.map((segment) => Object.assign(new SegmentAnswer(), segment)),
      warnings: textWarnings(result),
      cached: result.cached,
      modelVersion: result.modelVersion,
    });
  }
}
