/** GraphQL types of the `moment-localisation` plugin: the best span of a video and its score curve. */
import { QueryWarning } from 'hbi-platform';
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'One segment of a video scored against the text, in video order.' })
export class MomentCurvePoint {
  @Field(() => ID)
  segmentId!: string;

  @Field(() => Int, { description: '0-based position of the segment in its video.' })
  index!: number;

  @Field(() => Int)
  startMs!: number;

  @Field(() => Int)
  endMs!: number;

  @Field(() => Float, { description: "The segment's own HBI score against the text." })
  score!: number;

  @Field(() => Float, { description: 'The score smoothed over neighbouring segments.' })
  smoothed!: number;
}

@ObjectType({ description: 'The time span of a video that best matches a text.' })
export class MomentLocalisation {
  @Field(() => ID)
  videoId!: string;

  @Field(() => String, { description: 'The text as read (trimmed).' })
  text!: string;

  @Field(() => Int, { description: 'Start of the best span (its first segment’s start).' })
  startMs!: number;

  @Field(() => Int, { description: 'End of the best span (its last segment’s end).' })
  endMs!: number;

  @Field(() => Float, { description: 'Smoothed HBI score at the span’s peak.' })
  score!: number;

  @Field(() => ID, { description: 'The segment with the highest smoothed score.' })
  peakSegmentId!: string;

  @Field(() => Int, { description: 'Smoothing width used, in ms (0 = none).' })
  windowMs!: number;

  @Field(() => [MomentCurvePoint], { description: 'Every segment of the video with its score.' })
  curve!: MomentCurvePoint[];

  @Field(() => [QueryWarning])
  warnings!: QueryWarning[];

  @Field(() => String, { description: 'The model (`name@version`) that scored the segments.' })
  model!: string;
}
