/**
 * Builds the one GraphQL schema from the core resolvers plus every plugin's, and prints it as the SDL
 * committed in `schema/schema.graphql` (sorted, so the file changes only when the API does).
 */
import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import { lexicographicSortSchema, printSchema } from 'graphql';
import type { NonEmptyArray } from 'type-graphql';
import { buildSchema } from 'type-graphql';
import type { MiddlewareFn } from 'type-graphql';

import { inTenantScope } from '../db/scope.js';

import type { HbiPlugin, ResolverClass } from '../plugins/define-plugin.js';
import { AuthResolver } from './auth.resolver.js';
import type { GatewayContext } from './context.js';
import { CameraMutationResolver } from './cameras.resolver.js';
import { CoreResolver } from './core.resolver.js';
import { DeadLetterResolver } from './dead-letters.resolver.js';
import { IngestResolver } from './ingest.resolver.js';
import { JobResolver } from './jobs.resolver.js';
import { CameraResolver, SegmentResolver, VideoResolver } from './library.resolver.js';
import { VideoEventsResolver } from './video-events.resolver.js';

/** The publish/subscribe channel subscriptions read from (in-process; one per gateway). */
export type GatewayPubSub = ReturnType<typeof createPubSub>;

export interface GatewaySchema {
  schema: GraphQLSchema;
  pubSub: GatewayPubSub;
}

/** Builds the schema; throws (at boot) when a plugin's resolvers do not form a valid schema. */
export async function buildGatewaySchema(plugins: readonly HbiPlugin[]): Promise<GatewaySchema> {
  const pubSub = createPubSub();
  const resolvers: ResolverClass[] = [
    CoreResolver,
    AuthResolver,
    VideoResolver,
    SegmentResolver,
    CameraResolver,
    CameraMutationResolver,
    JobResolver,
    DeadLetterResolver,
    IngestResolver,
    VideoEventsResolver,
    ...plugins.flatMap((plugin) => plugin.resolvers ?? []),
  ];
  const schema = await buildSchema({
    resolvers: resolvers as unknown as NonEmptyArray<ResolverClass>,
    pubSub,
    // Input checks live in each resolver (zod / explicit limits), with coded errors.
    validate: false,
    globalMiddlewares: [inRequestTenantScope],
  });
  return { schema, pubSub };
}

/**
 * Every resolver runs in its request's tenant scope (db/scope.ts): row-level security then shows it
 * that tenant's rows only, whatever a resolver's own filters say (NO_TENANT, which owns nothing,
 * without credentials). The ports scope themselves too; this covers what they would miss.
 */
const inRequestTenantScope: MiddlewareFn<GatewayContext> = ({ context }, next) =>
  inTenantScope(context.tenantId, next);

/** The SDL as committed: types sorted by name, so only real API changes show up as a diff. */
export function printGatewaySchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
