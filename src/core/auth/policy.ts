/**
 * Default deny for the GraphQL API. Every Query, Mutation and Subscription field declares who may use
 * it with `@Policy('read' | 'write' | 'admin' | 'public')` (stored in the field's schema extensions);
 * before an operation runs, over HTTP and over graphql-ws alike, each root field it selects is checked
 * against the caller's principal. A root field without a policy refuses everyone, so a new field that
 * forgets to declare one is closed, not open (and `undeclaredRootFields` lets a test fail on it).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type {
  DocumentNode,
  FragmentDefinitionNode,
  GraphQLObjectType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import { GraphQLError, Kind, OperationTypeNode } from 'graphql';
import { Extensions } from 'type-graphql';

import { HbiError } from '../errors.js';
import type { Policy as PolicyName, Principal } from './principal.js';
import { authorize } from './principal.js';

const POLICIES = new Set<PolicyName>(['public', 'read', 'write', 'admin']);

/** Declares who may use a root field (or any field): the least role, or `public`. */
export function Policy(policy: PolicyName): MethodDecorator & PropertyDecorator {
  if (!POLICIES.has(policy)) throw new HbiError('PLUGIN_INVALID', `Unknown policy ${JSON.stringify(policy)}`);
  return Extensions({ policy });
}

/** The declared policy of `type.field`, or undefined. */
export function policyOf(type: GraphQLObjectType, field: string): PolicyName | undefined {
  const value = type.getFields()[field]?.extensions?.policy;
  return typeof value === 'string' && POLICIES.has(value as PolicyName) ? (value as PolicyName) : undefined;
}

/** `Type.field` of every root field that declares no policy (these refuse everyone). */
export function undeclaredRootFields(schema: GraphQLSchema): string[] {
  return rootTypes(schema).flatMap((type) =>
    Object.keys(type.getFields())
      .filter((field) => policyOf(type, field) === undefined)
      .map((field) => `${type.name}.${field}`),
  );
}

/** Every root field of the schema with its policy (undefined: refuses everyone). */
export function rootFieldPolicies(
  schema: GraphQLSchema,
): { type: 'Query' | 'Mutation' | 'Subscription'; field: string; policy: PolicyName | undefined }[] {
  return rootTypes(schema).flatMap((type) =>
    Object.keys(type.getFields()).map((field) => ({
      type: type.name as 'Query' | 'Mutation' | 'Subscription',
      field,
      policy: policyOf(type, field),
    })),
  );
}

/**
 * Throws UNAUTHENTICATED / FORBIDDEN for the first root field of the operation that the principal may
 * not use (every selection counts, whatever @skip/@include say). `__typename` and the introspection
 * fields are not root fields of the API and pass (introspection itself is switched by config).
 */
export function authorizeOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  principal: Principal | null,
): void {
  const type =
    operation.operation === OperationTypeNode.QUERY
      ? schema.getQueryType()
      : operation.operation === OperationTypeNode.MUTATION
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!type) return;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  for (const field of rootFieldNames(operation.selectionSet, fragments, new Set())) {
    if (field.startsWith('__')) continue;
    const policy = policyOf(type, field);
    const what = `${type.name}.${field}`;
    if (policy === undefined) {
      throw new HbiError('FORBIDDEN', `${what} declares no policy, so nobody may use it`);
    }
    authorize(principal, policy, what);
  }
}

function rootFieldNames(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  seen: Set<string>,
): string[] {
  const names: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) names.push(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      names.push(...rootFieldNames(selection.selectionSet, fragments, seen));
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) names.push(...rootFieldNames(fragment.selectionSet, fragments, seen));
    }
  }
  return names;
}

function rootTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(
    (type): type is GraphQLObjectType => !!type,
  );
}

/**
 * The Apollo plugin that runs `authorizeOperation` once the operation is parsed and validated: a
 * refused operation answers 401 (no credentials) or 403 (too low a role, or no policy) and runs nothing.
 */
export function authorizationPlugin(): ApolloServerPlugin<{ principal: Principal | null }> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ document, operation, schema, contextValue }) {
          try {
            if (operation) authorizeOperation(schema, document, operation, contextValue.principal);
          } catch (error) {
            throw asHttpError(error);
          }
          return Promise.resolve();
        },
      });
    },
  };
}

/** An HbiError as the GraphQLError Apollo answers with its HTTP status. */
export function asHttpError(error: unknown): GraphQLError {
  if (!(error instanceof HbiError)) throw error;
  return new GraphQLError(error.message, {
    extensions: { code: error.code, retriable: error.retriable, http: { status: error.httpStatus } },
  });
}
