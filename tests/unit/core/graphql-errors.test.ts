import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';

import { HbiError } from '../../../src/core/errors.js';
import { toGraphQLError } from '../../../src/core/graphql-errors.js';
import { createMemoryLogger } from '../../../src/core/logger.js';

describe('toGraphQLError', () => {
  it('turns an HbiError thrown in a resolver into extensions.code, keeping the path', () => {
    const logger = createMemoryLogger();
    const thrown = new HbiError('NOT_FOUND', 'Video v1 not found', { details: { id: 'v1' } });
    const wrapped = new GraphQLError(thrown.message, { path: ['video'], originalError: thrown });
    const result = toGraphQLError(wrapped, logger);
    expect(result.message).toBe('Video v1 not found');
    expect(result.path).toEqual(['video']);
    expect(result.extensions).toEqual({ code: 'NOT_FOUND', retriable: false, details: { id: 'v1' } });
    expect(logger.records).toHaveLength(0);
  });

  it('masks unknown errors for the client and logs them in full with an id', () => {
    const logger = createMemoryLogger();
    const secret = new Error('password=hunter2 at /srv/db.ts:42');
    const result = toGraphQLError(new GraphQLError(secret.message, { originalError: secret }), logger);
    expect(result.message).toBe('Internal server error');
    expect(JSON.stringify(result.toJSON())).not.toContain('hunter2');
    expect(result.extensions.code).toBe('INTERNAL');
    const record = logger.records[0]!;
    expect(record.level).toBe('error');
    expect(record.fields.error).toBe(secret);
    expect(record.fields.errorId).toBe(result.extensions.errorId);
  });

  it('masks HbiErrors with the INTERNAL code too', () => {
    const result = toGraphQLError(new HbiError('INTERNAL', 'invariant broken: x'), createMemoryLogger());
    expect(result.message).toBe('Internal server error');
  });

  it('passes graphql-js validation errors through unchanged', () => {
    const validation = new GraphQLError('Cannot query field "nope" on type "Query".', {
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    expect(toGraphQLError(validation, createMemoryLogger())).toBe(validation);
  });

  it('masks thrown non-errors', () => {
    expect(toGraphQLError('a string', createMemoryLogger()).extensions.code).toBe('INTERNAL');
  });
});
