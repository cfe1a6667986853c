/** GraphQL types of the `captioning` plugin: a caption, how it was decoded, and its segments' captions. */
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

/** How a caption is decoded from the caption head. */
export enum Decoding {
  /** The most probable token at every step (the model's own evaluation uses this). */
  GREEDY = 'GREEDY',
  /** Beam search over `beamSize` prefixes, finished captions compared by length-normalised log-probability. */
  BEAM = 'BEAM',
}
registerEnumType(Decoding, {
  name: 'Decoding',
  description: 'How a caption is decoded: greedy, or beam search with length normalisation.',
});

@ObjectType({ description: 'One segment’s own caption.' })
export class SegmentCaption {
  @Field(() => ID)
  segmentId!: string;

  @Field(() => Int, { description: '0-based position of the segment in its video.' })
  index!: number;

  @Field(() => Int)
  startMs!: number;

  @Field(() => Int)
  endMs!: number;

  @Field(() => String)
  text!: string;

  @Field(() => Float, { nullable: true, description: 'Mean log-probability per token (length-normalised).' })
  score!: number | null;
}

@ObjectType({ description: 'A caption of one segment or of a whole video.' })
export class Caption {
  @Field(() => String, {
    description:
      'The caption; for a video, its segments’ captions in order (repeats of the previous one skipped), joined with "; ".',
  })
  text!: string;

  @Field(() => Float, {
    nullable: true,
    description: 'Length-normalised log-probability (for a video, the mean over its segments).',
  })
  score!: number | null;

  @Field(() => Decoding)
  decoding!: Decoding;

  @Field(() => Int, { nullable: true, description: 'The beam width used (null for GREEDY).' })
  beamSize!: number | null;

  @Field(() => Boolean, { description: 'True when the caption came from the cache.' })
  cached!: boolean;

  @Field(() => String, { description: 'The model (`name@version`) that captioned.' })
  modelVersion!: string;

  @Field(() => ID)
  videoId!: string;

  @Field(() => ID, { nullable: true, description: 'The segment, when one segment was captioned.' })
  segmentId!: string | null;

  @Field(() => [SegmentCaption], {
    description: 'The segments captioned (one for a segment), in video order.',
  })
  segments!: SegmentCaption[];
}
