// GraphQL documents typed from schema/schema.graphql: `graphql(\`…\`)` returns a document whose result
// and variables types gql.tada infers from src/graphql-env.d.ts (regenerate it with `npm run web:types`).
import { initGraphQLTada } from 'gql.tada';

import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  // Fragments (the media fields, src/media.ts) read as plain fields of the result.
  disableMasking: true;
  scalars: { DateTime: string; SafeInt: number; JSONObject: Record<string, unknown> };
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';
