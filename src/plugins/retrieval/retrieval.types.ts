/** GraphQL types of the `retrieval` plugin: search filters, hits, and the Relay connection around them. */
import { GraphQLDateTime } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

/** Why a response carries a warning. */
export enum QueryWarningCode {
  /** Words the model's vocabulary lacks; they were encoded as the unknown token. */
  UNKNOWN_WORDS = 'UNKNOWN_WORDS',
  /** The text was longer than the model reads; its tail was ignored. */
  TEXT_TRUNCATED = 'TEXT_TRUNCATED',
}
registerEnumType(QueryWarningCode, {
  name: 'QueryWarningCode',
  description: 'Why a response carries a warning.',
});

@ObjectType({
  description: 'Something the client should know about how its text was read; the request still succeeded.',
})
export class QueryWarning {
  @Field(() => QueryWarningCode)
  code!: QueryWarningCode;

  @Field(() => String)
  message!: string;

  @Field(() => [String], { description: 'The words concerned (for UNKNOWN_WORDS).' })
  words!: string[];
}

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
}

@ObjectType()
export class SegmentHitEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => SegmentHit)
  node!: SegmentHit;
}

@ObjectType({ description: 'Relay page information.' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType({ description: 'A page of search hits, best first.' })
export class SegmentSearchConnection {
  @Field(() => [SegmentHitEdge])
  edges!: SegmentHitEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'Hits in the whole result (at most the configured candidate count).' })
  totalCount!: number;

  @Field(() => [QueryWarning])
  warnings!: QueryWarning[];

  @Field(() => String, { description: 'The model (`name@version`) whose vectors were searched.' })
  model!: string;
}
