/** The `localiseMoment` query: a text → the time span of one video that best matches it. */
import type { GatewayContext } from 'hbi-platform';
import { Cost, Policy, textWarnings } from 'hbi-platform';
import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';

import type { LocaliseInput } from './localise.js';
import { MomentCurvePoint, MomentLocalisation } from './moment.types.js';
import { localiseTask } from './tasks.js';

@Resolver()
export class MomentResolver {
  @Policy('read')
  // Scores every segment of the video against the text.
  @Cost(100)
  @Query(() => MomentLocalisation, {
    description: 'The time span of a video that best matches a text, with every segment’s score.',
  })
  async localiseMoment(
    @Arg('videoId', () => ID) videoId: string,
    @Arg('text', () => String) text: string,
    @Arg('windowMs', () => Int, {
      nullable: true,
      description: 'Smoothing width over neighbouring segments in ms (0 = none; default: the plugin’s).',
    })
    windowMs: number | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<MomentLocalisation> {
    const input: LocaliseInput = { videoId, text, windowMs: windowMs ?? null };
    const result = await context.tasks.run(localiseTask, input);
    return Object.assign(new MomentLocalisation(), {
      ...result,
      curve: result.curve.map((point) => Object.assign(new MomentCurvePoint(), point)),
      warnings: textWarnings(result),
      model: result.modelVersion,
    });
  }
}
