/**
 * Query depth and complexity limits, measured on the parsed operation before anything executes, for
 * HTTP (an Apollo plugin) and WebSocket subscriptions alike. Cost model: a field costs what it declares
 * with `@Cost` (cost.ts: from its arguments, e.g. an answer over a whole video by the segments it may
 * read), else 1; a field with a `first` (or `last`) argument multiplies its selection's cost by that page
 * size (the configured maximum page size when the argument is absent), the usual estimate for Relay
 * connections. The same total is what a request is charged against its rate limits.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLCompositeType,
  GraphQLField,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isCompositeType,
  isObjectType,
} from 'graphql';

import { ERROR_CODES, HbiError } from '../errors.js';
import type { GatewayContext } from './context.js';
import { declaredCost } from './cost.js';

export interface OperationLimits {
  maxQueryDepth: number;
  maxQueryComplexity: number;
  maxPageSize: number;
}

export interface OperationCost {
  /** Deepest field nesting (a top-level field has depth 1). */
  depth: number;
  /** Estimated fields resolved, with page sizes multiplied in. */
  complexity: number;
}

const PAGE_ARGUMENTS = new Set(['first', 'last']);

/** With the schema (and the request's context), fields' declared costs count; without, every field costs 1. */
export interface MeasureOptions {
  schema?: GraphQLSchema;
  context?: GatewayContext;
}

/** Measures the selected operation (the only one, or the one named) of `document`. */
export function measureOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>>,
  defaultPageSize: number,
  options: MeasureOptions = {},
): OperationCost {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const operation = operationName ? operations.find((op) => op.name?.value === operationName) : operations[0];
  if (!operation) return { depth: 0, complexity: 0 };
  const { schema, context } = options;
  // Arguments as the resolvers will see them (defaults applied, variables coerced), for cost functions.
  let coerced: Record<string, unknown> = { ...variables };
  if (schema) {
    const result = getVariableValues(schema, operation.variableDefinitions ?? [], { ...variables });
    if (result.coerced) coerced = result.coerced;
  }
  const ownCost = (field: GraphQLField<unknown, unknown> | undefined, node: FieldNode): number => {
    if (!field) return 1;
    let args: Record<string, unknown> = {};
    try {
      args = getArgumentValues(field, node, coerced);
    } catch {
      // Invalid arguments fail validation; measured as given until then.
    }
    return declaredCost(field.extensions, args, context) ?? 1;
  };
  const rootType = (): GraphQLCompositeType | undefined => {
    if (!schema) return undefined;
    if (operation.operation === OperationTypeNode.QUERY) return schema.getQueryType() ?? undefined;
    if (operation.operation === OperationTypeNode.MUTATION) return schema.getMutationType() ?? undefined;
    return schema.getSubscriptionType() ?? undefined;
  };
  const typeNamed = (name: string | undefined, fallback: GraphQLCompositeType | undefined) => {
    const found = name && schema ? schema.getType(name) : undefined;
    return found && isCompositeType(found) ? found : fallback;
  };

  const pageSize = (value: ValueNode): number => {
    const resolved =
      value.kind === Kind.VARIABLE
        ? variables[value.name.value]
        : value.kind === Kind.INT
          ? Number(value.value)
          : undefined;
    return typeof resolved === 'number' && Number.isFinite(resolved) && resolved >= 0
      ? resolved
      : defaultPageSize;
  };
  // `visiting` breaks fragment cycles (graphql validation rejects them, but measuring runs first on WebSocket).
  const walk = (
    set: SelectionSetNode,
    type: GraphQLCompositeType | undefined,
    depth: number,
    visiting: ReadonlySet<string>,
  ): OperationCost => {
    let deepest = depth - 1;
    let complexity = 0;
    for (const selection of set.selections) {
      let inner: OperationCost;
      if (selection.kind === Kind.FIELD) {
        const field = type && isObjectType(type) ? type.getFields()[selection.name.value] : undefined;
        const fieldType = field ? getNamedType(field.type) : undefined;
        const page = selection.arguments?.find((argument) => PAGE_ARGUMENTS.has(argument.name.value));
        const child = selection.selectionSet
          ? walk(
              selection.selectionSet,
              fieldType && isCompositeType(fieldType) ? fieldType : undefined,
              depth + 1,
              visiting,
            )
          : { depth, complexity: 0 };
        inner = {
          depth: Math.max(depth, child.depth),
          complexity:
            ownCost(field, selection) + child.complexity * (page ? Math.max(1, pageSize(page.value)) : 1),
        };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = walk(
          selection.selectionSet,
          typeNamed(selection.typeCondition?.name.value, type),
          depth,
          visiting,
        );
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        inner = walk(
          fragment.selectionSet,
          typeNamed(fragment.typeCondition.name.value, type),
          depth,
          new Set([...visiting, name]),
        );
      }
      deepest = Math.max(deepest, inner.depth);
      complexity += inner.complexity;
    }
    return { depth: deepest, complexity };
  };
  return walk(operation.selectionSet, rootType(), 1, new Set());
}

/** Throws LIMIT_EXCEEDED naming the limit when the operation is too deep or too costly. */
export function assertWithinLimits(cost: OperationCost, limits: OperationLimits): void {
  const fail = (what: string, value: number, limit: number): never => {
    throw new GraphQLError(`Query ${what} ${value} exceeds the limit of ${limit}`, {
      extensions: { code: 'LIMIT_EXCEEDED', retriable: false, details: { [what]: value, limit } },
    });
  };
  if (cost.depth > limits.maxQueryDepth) fail('depth', cost.depth, limits.maxQueryDepth);
  if (cost.complexity > limits.maxQueryComplexity)
    fail('complexity', cost.complexity, limits.maxQueryComplexity);
}

/**
 * The Apollo plugins that enforce the limits once the operation is parsed and validated, and then —
 * after the authorization plugin, so a caller without the right is refused before paying — charge its
 * cost to the caller's rate limits (`charge` throws RATE_LIMITED: HTTP 429 with Retry-After). Put the
 * authorization plugin between them.
 */
export function operationLimitsPlugins(
  limits: OperationLimits,
  schema: GraphQLSchema,
  charge: (context: GatewayContext, cost: number) => void,
): { measure: ApolloServerPlugin<GatewayContext>; charge: ApolloServerPlugin<GatewayContext> } {
  const costs = new WeakMap<GatewayContext, number>();
  return {
    measure: {
      requestDidStart() {
        return Promise.resolve({
          didResolveOperation({ document, request, contextValue }) {
            const cost = measureOperation(
              document,
              request.operationName,
              request.variables ?? {},
              limits.maxPageSize,
              { schema, context: contextValue },
            );
            try {
              assertWithinLimits(cost, limits);
            } catch (error) {
              // Apollo reads `extensions.http` for the status and strips it from the response.
              const { message, extensions } = error as GraphQLError;
              throw new GraphQLError(message, { extensions: { ...extensions, http: { status: 400 } } });
            }
            costs.set(contextValue, cost.complexity);
            return Promise.resolve();
          },
        });
      },
    },
    charge: {
      requestDidStart() {
        return Promise.resolve({
          didResolveOperation({ contextValue }) {
            try {
              charge(contextValue, costs.get(contextValue) ?? 1);
            } catch (error) {
              if (!(error instanceof HbiError)) throw error;
              const retryAfter = error.details.retryAfterSeconds;
              const headers = new HeaderMap();
              if (typeof retryAfter === 'number') headers.set('retry-after', String(retryAfter));
              throw new GraphQLError(error.message, {
                extensions: {
                  code: error.code,
                  retriable: error.retriable,
                  details: error.details,
                  http: { status: ERROR_CODES[error.code].httpStatus, headers },
                },
              });
            }
            return Promise.resolve();
          },
        });
      },
    },
  };
}
