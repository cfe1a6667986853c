/** GraphQL types of the `qa` plugin: an answer, its alternatives, and the per-segment answers of a video. */
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

import { QueryWarning } from 'hbi-platform';

/** What a question was asked about. */
export enum AnswerScope {
  /** One segment (the `segmentId` argument). */
  SEGMENT = 'SEGMENT',
  /** Every segment of a video (the `videoId` argument). */
  VIDEO = 'VIDEO',
}
registerEnumType(AnswerScope, {
  name: 'AnswerScope',
  description: 'What a question was asked about: one segment, or a whole video.',
});

@ObjectType({ description: 'An answer from the model’s answer list with its probability.' })
export class AnswerAlternative {
  @Field(() => String)
  answer!: string;

  @Field(() => Float, { description: 'Probability in [0, 1] (softmax over the answer list).' })
  confidence!: number;
}

@ObjectType({ description: 'One segment’s own answer to the question.' })
export class SegmentAnswer {
  @Field(() => ID)
  segmentId!: string;

  @Field(() => Int, { description: '0-based position of the segment in its video.' })
  index!: number;

  @Field(() => Int)
  startMs!: number;

  @Field(() => Int)
  endMs!: number;

  @Field(() => String)
  answer!: string;

  @Field(() => Float)
  confidence!: number;
}

@ObjectType({ description: 'The model’s answer to a question about a segment or a whole video.' })
export class Answer {
  @Field(() => String, { description: 'The question as asked (trimmed).' })
  question!: string;

  @Field(() => String, { description: 'The most probable entry of the model’s answer list.' })
  answer!: string;

  @Field(() => Float, {
    description:
      'Probability of the answer; for a video, the mean over its segments of each segment’s probability.',
  })
  confidence!: number;

  @Field(() => [AnswerAlternative], { description: 'The next most probable answers, best first.' })
  alternatives!: AnswerAlternative[];

  @Field(() => AnswerScope)
  scope!: AnswerScope;

  @Field(() => ID)
  videoId!: string;

  @Field(() => ID, { nullable: true, description: 'The segment, when the scope is SEGMENT.' })
  segmentId!: string | null;

  @Field(() => [SegmentAnswer], {
    description: 'The segments the answer was computed from (one for SEGMENT), each with its own answer.',
  })
  segments!: SegmentAnswer[];

  @Field(() => [QueryWarning], { description: 'How the question was read (unknown words, cut tail).' })
  warnings!: QueryWarning[];

  @Field(() => Boolean, { description: 'True when the answer came from the cache.' })
  cached!: boolean;

  @Field(() => String, { description: 'The model (`name@version`) that answered.' })
  modelVersion!: string;
}
