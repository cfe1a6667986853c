/**
 * The root fields (`Query.search`, `Mutation.ingest`, …) a plugin's resolver classes add, read from
 * type-graphql's metadata: two resolvers defining the same root field do not fail the schema build,
 * the last one silently wins, so clashes have to be found by name.
 */
import type { GraphQLSchema } from 'graphql';
import { getMetadataStorage } from 'type-graphql';

import type { HbiPlugin } from '../core/plugins/define-plugin.js';

/** `Type.field` for every root field declared by the plugin's resolvers (and their base classes). */
export function rootFieldsOf(plugin: HbiPlugin): string[] {
  const classes = new Set<unknown>();
  for (const resolver of plugin.resolvers ?? []) {
    for (let target: unknown = resolver; typeof target === 'function' && target !== Function.prototype;) {
      classes.add(target);
      target = Object.getPrototypeOf(target);
    }
  }
  const storage = getMetadataStorage();
  const declared = (type: string, handlers: readonly { target: unknown; schemaName: string }[]) =>
    handlers
      .filter((handler) => classes.has(handler.target))
      .map((handler) => `${type}.${handler.schemaName}`);
  return [
    ...declared('Query', storage.queries),
    ...declared('Mutation', storage.mutations),
    ...declared('Subscription', storage.subscriptions),
  ];
}

/** `Type.field` for every root field of a built schema. */
export function rootFieldsOfSchema(schema: GraphQLSchema): string[] {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
    type ? Object.keys(type.getFields()).map((field) => `${type.name}.${field}`) : [],
  );
}
