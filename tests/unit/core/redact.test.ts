import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';

import { HbiError, toPublicError } from '../../../src/core/errors.js';
import { toGraphQLError } from '../../../src/core/graphql-errors.js';
import { SourceSecrets } from '../../../src/core/ingest/source-secrets.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { hasUrlSecrets, redact, redactValue, stripUrlSecrets } from '../../../src/core/util/redact.js';

describe('redact: what may cross to a client', () => {
  it('masks URL credentials as scheme://***@host, keeping the rest of the URL', () => {
    expect(redact('cannot reach rtsp://admin:hunter2@10.0.0.5:554/stream1 now')).toBe(
      'cannot reach rtsp://***@10.0.0.5:554/stream1 now',
    );
    expect(redact('postgres://hbi:pw@db.internal:5432/hbi')).toBe('postgres://***@db.internal:5432/hbi');
    expect(redact('https://token-only@example.com/a.mp4')).toBe('https://***@example.com/a.mp4');
  });

  it('masks secret query parameters (token, key, secret, signature, password, X-Amz-*) and keeps the others', () => {
    expect(
      redact(
        'GET https://bucket.s3.example.com/v.mp4?X-Amz-Algorithm=AWS4&X-Amz-Credential=AK%2F1&X-Amz-Signature=abc&part=2',
      ),
    ).toBe(
      'GET https://bucket.s3.example.com/v.mp4?X-Amz-Algorithm=***&X-Amz-Credential=***&X-Amz-Signature=***&part=2',
    );
    expect(redact('https://cdn.example.com/a.mp4?access_token=zz&api_key=1&password=p&secret=s&v=3#t')).toBe(
      'https://cdn.example.com/a.mp4?access_token=***&api_key=***&password=***&secret=***&v=3#t',
    );
    expect(redact('retry with token=abc; sig=def')).toBe('retry with token=***; sig=***');
  });

  it('replaces absolute server paths with [path] and leaves URLs and words alone', () => {
    expect(redact("ENOENT: open '/srv/hbi/data/objects/videos/ab.mp4'")).toBe("ENOENT: open '[path]'");
    expect(redact('fetch https://user:pw@example.com/videos/a.mp4 failed: /tmp/x.part')).toBe(
      'fetch https://***@example.com/videos/a.mp4 failed: [path]',
    );
    for (const safe of ['Container mov/mp4/m4a is not accepted', 'ratio 1/2', 'job 42 failed: TIMEOUT'])
      expect(redact(safe)).toBe(safe);
  });

  it('shows build paths from the repository root (or as base names) when asked to', () => {
    expect(
      redact(
        'python -m hbi.train.train --data /work/main/model/.data/synthclips --out /home/ci/x/model/runs/a',
        {
          paths: 'repository',
        },
      ),
    ).toBe('python -m hbi.train.train --data model/.data/synthclips --out model/runs/a');
    expect(redact('--init /mnt/checkpoints/best.pt --cfg ./configs/a.yaml', { paths: 'repository' })).toBe(
      '--init best.pt --cfg ./configs/a.yaml',
    );
  });

  it('walks JSON values: every string redacted, fields named like secrets masked', () => {
    expect(
      redactValue({
        source: { kind: 'url', url: 'http://u:p@h.example/x.mp4?token=1' },
        file: '/srv/ingest/a.mp4',
        password: 'hunter2',
        apiKey: 'k',
        objectKey: 'uploads/a.mp4',
        list: ['/a/b', 3, null],
        nested: [{ token: 't' }],
      }),
    ).toEqual({
      source: { kind: 'url', url: 'http://***@h.example/x.mp4?token=***' },
      file: '[path]',
      password: '***',
      apiKey: '***',
      objectKey: 'uploads/a.mp4',
      list: ['[path]', 3, null],
      nested: [{ token: '***' }],
    });
  });

  it('strips URLs for storage: no user:pass@, no secret parameters, nothing else changed', () => {
    expect(stripUrlSecrets('https://u:p@h.example.com/x.mp4?token=1&v=2&X-Amz-Date=3&Signature=9')).toBe(
      'https://h.example.com/x.mp4?v=2',
    );
    expect(stripUrlSecrets('rtsp://admin:admin@cam.local:554/s1')).toBe('rtsp://cam.local:554/s1');
    expect(stripUrlSecrets('https://example.com/a.mp4')).toBe('https://example.com/a.mp4');
    for (const notUrl of ['/dev/video0', 'clip.mp4', 'C:\\videos\\a.mp4'])
      expect(stripUrlSecrets(notUrl)).toBe(notUrl);
    expect(hasUrlSecrets('https://u@h.example/x')).toBe(true);
    expect(hasUrlSecrets('https://h.example/x?key=1')).toBe(true);
    expect(hasUrlSecrets('https://h.example/x?v=1')).toBe(false);
  });

  it('is applied to public errors and GraphQL errors (message and details)', () => {
    const failure = new HbiError('UNAVAILABLE', 'Cannot reach https://u:pw@store.example/v.mp4?sig=abc', {
      details: { url: 'https://u:pw@store.example/v.mp4', file: '/srv/a.mp4' },
    });
    expect(toPublicError(failure)).toMatchObject({
      message: 'Cannot reach https://***@store.example/v.mp4?sig=***',
      details: { url: 'https://***@store.example/v.mp4', file: '[path]' },
    });
    const graphql = toGraphQLError(
      new GraphQLError(failure.message, { originalError: failure }),
      createMemoryLogger(),
    );
    expect(graphql.message).toBe('Cannot reach https://***@store.example/v.mp4?sig=***');
    expect(JSON.stringify(graphql.toJSON())).not.toMatch(/pw|abc|\/srv/);
  });
});

describe('sealed ingest URLs', () => {
  it('open only under the key that sealed them', () => {
    const url = 'https://u:p@h.example/x.mp4?token=1';
    const shared = new SourceSecrets('a'.repeat(32));
    const sealed = shared.seal(url);
    expect(sealed).not.toContain('token');
    expect(new SourceSecrets('a'.repeat(32)).open(sealed)).toBe(url);
    expect(() => new SourceSecrets('b'.repeat(32)).open(sealed)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => new SourceSecrets().open('garbage')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
