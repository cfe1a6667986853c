/**
 * The one place where platform errors become GraphQL errors. HbiErrors keep their message (with server
 * filesystem paths, URL credentials and secret parameters redacted) and gain `extensions.code` (plus
 * `retriable` and safe `details`); errors graphql-js raises itself (syntax, validation) pass through;
 * anything else is logged in full and masked as INTERNAL with an id the operator can grep for, so stack
 * traces and internals never reach a client.
 */
import { randomUUID } from 'node:crypto';

import { GraphQLError } from 'graphql';

import { isHbiError, redact, redactDetails } from './errors.js';
import type { Logger } from './logger.js';

/** Converts anything a resolver threw (possibly wrapped by graphql-js) into the client-facing error. */
export function toGraphQLError(error: unknown, logger: Logger): GraphQLError {
  const wrapper = error instanceof GraphQLError ? error : undefined;
  const original = wrapper ? wrapper.originalError : error;
  const location = wrapper ? { nodes: wrapper.nodes, path: wrapper.path } : {};

  if (isHbiError(original)) {
    if (original.code === 'INTERNAL') return masked(original, logger, location);
    return new GraphQLError(redact(original.message), {
      ...location,
      extensions: {
        code: original.code,
        retriable: original.retriable,
        ...detailsOf(redactDetails(original.details)),
      },
    });
  }
  // No original error: graphql-js itself rejected the document or variables; its message is safe.
  if (wrapper && (original === undefined || original === null)) return wrapper;
  if (original instanceof GraphQLError) return original;
  return masked(original, logger, location);
}

function masked(
  error: unknown,
  logger: Logger,
  location: Pick<GraphQLError, 'nodes' | 'path'> | object,
): GraphQLError {
  const errorId = randomUUID();
  logger.error('unexpected error in a GraphQL operation', { errorId, error });
  return new GraphQLError('Internal server error', {
    ...location,
    extensions: { code: 'INTERNAL', retriable: false, errorId },
  });
}

function detailsOf(details: Readonly<Record<string, unknown>>): {
  details?: Readonly<Record<string, unknown>>;
} {
  return Object.keys(details).length > 0 ? { details } : {};
}
