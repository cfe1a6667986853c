/** GraphQL types of the `retrieval` plugin: search filters, hits, the Relay connection around them, ranked texts. */
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

import { PageInfo, QueryWarning } from 'hbi-platform';

export { PageInfo, QueryWarning, QueryWarningCode } from 'hbi-platform';

/** How search hits are grouped for people: ten hits of one static scene help no one. */
export enum SearchGrouping {
  SEGMENT = 'SEGMENT',
  VIDEO = 'VIDEO',
  CAMERA = 'CAMERA',
}
registerEnumType(SearchGrouping, {
  name: 'SearchGrouping',
  description: 'Every matching segment, or the best segment of each video or camera.',
  valuesConfig: {
    SEGMENT: { description: 'Every matching segment (the default).' },
    VIDEO: { description: 'Each video once, with its best segment; moreMatches counts its other matches.' },
    CAMERA: {
      description:
        'Each camera once, with its best segment; moreMatches counts its other matches. Videos without a camera are grouped by video.',
    },
  },
});

@InputType({ description: 'Restricts a search; every given filter must match.' })
export class SearchFilters {
  @Field(() => [ID], { nullable: true, description: 'Only segments of these videos.' })
  videoIds?: string[] | null;

  @Field(() => [ID], { nullable: true, description: 'Only videos recorded by these cameras.' })
  cameraIds?: string[] | null;

  @Field(() => GraphQLDateTime, {
    nullable: true,
    description: 'Only videos recorded at or after this time.',
  })
  recordedAfter?: Date | null;

  @Field(() => GraphQLDateTime, { nullable: true, description: 'Only videos recorded before this time.' })
  recordedBefore?: Date | null;
}

@ObjectType({ description: 'A time span of a video that matched a search.' })
export class SegmentHit {
  @Field(() => ID)
  segmentId!: string;

  @Field(() => ID)
  videoId!: string;

  @Field(() => Int, { description: '0-based position of the segment in its video.' })
  index!: number;

  @Field(() => Int)
  startMs!: number;

  @Field(() => Int)
  endMs!: number;

  @Field(() => String, { nullable: true })
  videoTitle!: string | null;

  @Field(() => String, { nullable: true, description: 'Where the video came from (path, URL, library id).' })
  sourceUri!: string | null;

  @Field(() => Float, { description: 'HBI interaction score; hits are ordered by it, highest first.' })
  score!: number;

  @Field(() => Float, { description: 'Cosine similarity of the embeddings (the ANN stage).' })
  similarity!: number;

  @Field(() => Int, { description: '1-based rank in the whole result.' })
  rank!: number;

  @Field(() => ID, { nullable: true, description: "The camera that recorded the segment's video." })
  cameraId!: string | null;

  @Field(() => Int, {
    description:
      'Other matching segments of the same video or camera (with groupBy), not listed; 0 otherwise.',
  })
  moreMatches!: number;

  @Field(() => String, {
    nullable: true,
    description:
      'A JPEG of the frame at the middle of the segment: a short-lived URL; null while the video has none.',
  })
  thumbnailUrl!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The video's playable URL with a media fragment `#t=<startSec>,<endSec>` (starts at the hit): short-lived; null while the video has none.",
  })
  playbackUrl!: string | null;
}

@ObjectType()
export class SegmentHitEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => SegmentHit)
  node!: SegmentHit;
}

@ObjectType({ description: 'A page of search hits, best first.' })
export class SegmentSearchConnection {
  @Field(() => [SegmentHitEdge])
  edges!: SegmentHitEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, {
    description: 'Hits (groups, with groupBy) in the whole result (at most the configured candidate count).',
  })
  totalCount!: number;

  @Field(() => [QueryWarning])
  warnings!: QueryWarning[];

  @Field(() => String, { description: 'The model (`name@version`) whose vectors were searched.' })
  model!: string;
}

@ObjectType({ description: 'One of the texts given to rankTexts, with its HBI score against the segment.' })
export class RankedText {
  @Field(() => String)
  text!: string;

  @Field(() => Float, { description: 'HBI interaction score; texts are ordered by it, highest first.' })
  score!: number;

  @Field(() => Int, { description: '1-based rank among the given texts.' })
  rank!: number;

  @Field(() => Int, { description: '0-based position of the text in the request.' })
  index!: number;

  @Field(() => [QueryWarning], { description: 'How this text was read (unknown words, cut tail).' })
  warnings!: QueryWarning[];
}
