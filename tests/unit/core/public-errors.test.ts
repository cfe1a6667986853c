import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';

import { HbiError, redactServerPaths, toPublicError } from '../../../src/core/errors.js';
import { toGraphQLError } from '../../../src/core/graphql-errors.js';
import { createMemoryLogger } from '../../../src/core/logger.js';

describe('errors shown to clients', () => {
  it('redact server filesystem paths, and nothing that only looks like one', () => {
    expect(
      redactServerPaths('/srv/hbi/data/objects/videos/ab.mp4: Invalid data found when processing input'),
    ).toBe('[path]: Invalid data found when processing input');
    expect(redactServerPaths("ENOENT: no such file or directory, open '/work/data/x.mp4'")).toBe(
      "ENOENT: no such file or directory, open '[path]'",
    );
    expect(redactServerPaths('cannot open ./data/db (C:\\hbi\\data\\x.mp4)')).toBe(
      'cannot open [path] ([path])',
    );
    for (const safe of [
      'fetch https://example.com/videos/a.mp4 failed',
      'Container mov/mp4/m4a is not accepted',
      'ratio 1/2, 10 / 20',
    ])
      expect(redactServerPaths(safe)).toBe(safe);
  });

  it('keep the code and the redacted message of typed errors, and mask everything else', () => {
    const unreadable = new HbiError(
      'VIDEO_UNREADABLE',
      'The file is not a readable video: /tmp/x/y.mp4: bad',
      {
        details: { reason: '/tmp/x/y.mp4: bad', sizes: ['/a/b', 3] },
      },
    );
    expect(toPublicError(unreadable)).toEqual({
      code: 'VIDEO_UNREADABLE',
      message: 'The file is not a readable video: [path]: bad',
      retriable: false,
      details: { reason: '[path]: bad', sizes: ['[path]', 3] },
    });
    expect(toPublicError(new Error('db password at /srv/secret'))).toEqual({
      code: 'INTERNAL',
      message: 'Internal server error',
      retriable: false,
    });
    expect(toPublicError(new Error('socket hang up'), 'UNAVAILABLE')).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('reach GraphQL clients without server paths', () => {
    const thrown = new HbiError('NOT_FOUND', 'Cannot read /home/hbi/videos/a.mp4', {
      details: { file: '/home/hbi/a' },
    });
    const result = toGraphQLError(
      new GraphQLError(thrown.message, { originalError: thrown }),
      createMemoryLogger(),
    );
    expect(result.message).toBe('Cannot read [path]');
    expect(result.extensions).toMatchObject({ code: 'NOT_FOUND', details: { file: '[path]' } });
  });
});
