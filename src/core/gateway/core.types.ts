/** GraphQL object types of the core queries: health, model and plugins. */
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

/** The encoder's lifecycle, as clients see it. */
export enum EncoderStatus {
  CREATED = 'created',
  LOADING = 'loading',
  WARMING = 'warming',
  READY = 'ready',
  FAILED = 'failed',
  CLOSED = 'closed',
}
registerEnumType(EncoderStatus, {
  name: 'EncoderStatus',
  description: 'Where the shared encoder is in its life; only READY serves inference.',
});

@ObjectType({ description: 'Liveness (the process answers) and readiness (it can serve inference).' })
export class Health {
  @Field(() => Boolean, { description: 'Always true when this answer arrives.' })
  live!: boolean;

  @Field(() => Boolean, {
    description:
      'True once the encoder is loaded and warm and, in cluster mode, the task bus (Kafka) answers.',
  })
  ready!: boolean;

  @Field(() => EncoderStatus)
  encoder!: EncoderStatus;

  @Field(() => [String], {
    description: 'Execution providers the encoder runs on, once warm (admins only; empty for others).',
  })
  providers!: string[];

  @Field(() => String, {
    nullable: true,
    description:
      'Cluster mode: "connected" or "unreachable" (the task bus, Kafka, as this gateway last saw it); null in one process, and for callers who are not admins.',
  })
  taskBus!: string | null;
}

@ObjectType({ description: 'Sizes the model works with.' })
export class ModelDims {
  @Field(() => Int, { description: 'Embedding dimension D.' })
  embed!: number;

  @Field(() => Int, { description: 'Frames sampled per segment (T).' })
  frames!: number;

  @Field(() => Int)
  height!: number;

  @Field(() => Int)
  width!: number;

  @Field(() => Int, { description: 'Longest text in tokens (L), including BOS and EOS.' })
  maxWords!: number;

  @Field(() => Int)
  vocab!: number;

  @Field(() => Int, { description: 'Size of the QA answer list.' })
  answers!: number;
}

@ObjectType({ description: 'The loaded model package.' })
export class ModelInfo {
  @Field(() => String, { description: '`name@version`, stored with every vector.' })
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String)
  architecture!: string;

  @Field(() => ModelDims)
  dims!: ModelDims;

  @Field(() => [String], { description: 'Graphs the package provides.' })
  graphs!: string[];

  @Field(() => GraphQLJSONObject, {
    description: 'Evaluation metrics the package reached (from its manifest).',
  })
  metrics!: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, {
    description:
      'How the package was made (command, seeds, commit); paths relative to the repository root, never the build machine’s.',
  })
  provenance!: Record<string, unknown>;
}

@ObjectType({ description: 'A loaded task plugin.' })
export class PluginInfo {
  @Field(() => String)
  name!: string;

  @Field(() => String)
  version!: string;

  @Field(() => [String], { description: 'Task kinds it handles.' })
  tasks!: string[];

  @Field(() => [String], { description: 'Model graphs it needs.' })
  requiredGraphs!: string[];
}
