/**
 * Query depth and complexity limits, measured on the parsed operation before anything executes, for
 * HTTP (an Apollo plugin) and WebSocket subscriptions alike. Cost model: every field costs 1; a field
 * with a `first` (or `last`) argument multiplies its selection's cost by that page size (the
 * configured maximum page size when the argument is absent), the usual estimate for Relay connections.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type {
  DocumentNode,
  FragmentDefinitionNode,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import { GraphQLError, Kind } from 'graphql';

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

/** Measures the selected operation (the only one, or the one named) of `document`. */
export function measureOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>>,
  defaultPageSize: number,
): OperationCost {
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations: OperationDefinitionNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  const operation = operationName ? operations.find((op) => op.name?.value === operationName) : operations[0];
  if (!operation) return { depth: 0, complexity: 0 };

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
  const walk = (set: SelectionSetNode, depth: number, visiting: ReadonlySet<string>): OperationCost => {
    let deepest = depth - 1;
    let complexity = 0;
    for (const selection of set.selections) {
      let inner: OperationCost;
      if (selection.kind === Kind.FIELD) {
        const page = selection.arguments?.find((argument) => PAGE_ARGUMENTS.has(argument.name.value));
        const child = selection.selectionSet
          ? walk(selection.selectionSet, depth + 1, visiting)
          : { depth, complexity: 0 };
        inner = {
          depth: Math.max(depth, child.depth),
          complexity: 1 + child.complexity * (page ? Math.max(1, pageSize(page.value)) : 1),
        };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = walk(selection.selectionSet, depth, visiting);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        inner = walk(fragment.selectionSet, depth, new Set([...visiting, name]));
      }
      deepest = Math.max(deepest, inner.depth);
      complexity += inner.complexity;
    }
    return { depth: deepest, complexity };
  };
  return walk(operation.selectionSet, 1, new Set());
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

/** The Apollo plugin that enforces the limits once the operation is parsed and validated. */
export function operationLimitsPlugin<T extends object>(limits: OperationLimits): ApolloServerPlugin<T> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ document, request }) {
          const cost = measureOperation(
            document,
            request.operationName,
            request.variables ?? {},
            limits.maxPageSize,
          );
          try {
            assertWithinLimits(cost, limits);
          } catch (error) {
            // Apollo reads `extensions.http` for the status and strips it from the response.
            const { message, extensions } = error as GraphQLError;
            throw new GraphQLError(message, { extensions: { ...extensions, http: { status: 400 } } });
          }
          return Promise.resolve();
        },
      });
    },
  };
}
