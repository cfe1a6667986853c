/** The `caption` query: one segment or a whole video, captioned by the `captioning.caption` task. */
import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';

import type { GatewayContext } from 'hbi-platform';
import { Cost, Policy, numberArg, pluginSettings } from 'hbi-platform';

import type { CaptioningConfig } from './config.js';
import { Caption, Decoding, SegmentCaption } from './captioning.types.js';
import type { CaptionTaskInput } from './tasks.js';
import { captionTask } from './tasks.js';

@Resolver()
export class CaptioningResolver {
  @Policy('read')
  // Segments decoded (a whole video: up to maxVideoSegments) times the beam's width.
  @Cost(
    (args, context) =>
      (args.videoId ? (pluginSettings<CaptioningConfig>(context, 'captioning').maxVideoSegments ?? 200) : 1) *
      (String(args.decoding).toUpperCase() === 'BEAM' ? numberArg(args, 'beamSize', 3) : 1),
  )
  @Query(() => Caption, {
    description:
      'Captions one segment (segmentId) or a whole video (videoId, segment by segment); give exactly one of them.',
  })
  async caption(
    @Arg('segmentId', () => ID, { nullable: true }) segmentId: string | null | undefined,
    @Arg('videoId', () => ID, { nullable: true }) videoId: string | null | undefined,
    @Arg('decoding', () => Decoding, { nullable: true, defaultValue: Decoding.GREEDY })
    decoding: Decoding | null | undefined,
    @Arg('beamSize', () => Int, {
      nullable: true,
      defaultValue: 3,
      description: 'Beam width for BEAM, 1 to 8.',
    })
    beamSize: number | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<Caption> {
    const input: CaptionTaskInput = {
      segmentId: segmentId ?? null,
      videoId: videoId ?? null,
      decoding: decoding ?? Decoding.GREEDY,
      beamSize: beamSize ?? 3,
    };
    const result = await context.tasks.run(captionTask, input);
    return Object.assign(new Caption(), {
      ...result,
      decoding: result.decoding === 'BEAM' ? Decoding.BEAM : Decoding.GREEDY,
      segments: result.segments.map((segment) => Object.assign(new SegmentCaption(), segment)),
    });
  }
}
