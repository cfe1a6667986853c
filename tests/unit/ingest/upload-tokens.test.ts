import { describe, expect, it } from 'vitest';

import type { UploadGrant } from '../../../src/core/ingest/upload-tokens.js';
import { UploadTokens } from '../../../src/core/ingest/upload-tokens.js';

const grant: UploadGrant = {
  uploadId: '3b0c6f5e-8a43-4c8e-9a55-2a1f0f1e9d10',
  tenantId: '00000000-0000-4000-8000-000000000000',
  objectKey: 'uploads/3b0c6f5e-8a43-4c8e-9a55-2a1f0f1e9d10.mp4',
  filename: 'clip.mp4',
  contentType: 'video/mp4',
  maxBytes: 1234,
  expiresAt: Date.UTC(2030, 0, 1),
  title: 'A clip',
  cameraId: null,
};

describe('UploadTokens', () => {
  const tokens = new UploadTokens('a shared key of at least 32 characters!');

  it('gives back the grant it signed, from a token safe in a URL path', () => {
    const token = tokens.sign(grant);
    expect(token).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(tokens.verify(token, Date.UTC(2029, 0, 1))).toEqual(grant);
    expect(new UploadTokens('a shared key of at least 32 characters!').verify(token, 0)).toEqual(grant);
  });

  it('refuses tampered, foreign and malformed tokens with UNAUTHENTICATED', () => {
    const token = tokens.sign(grant);
    const [, signature] = token.split('.');
    const bigger = Buffer.from(JSON.stringify({ ...grant, maxBytes: 10 ** 9 })).toString('base64url');
    for (const bad of [
      `${bigger}.${signature}`,
      new UploadTokens().sign(grant),
      'not-a-token',
      `${token}.extra`,
      `${Buffer.from('[1,2]').toString('base64url')}.${signature}`,
    ]) {
      expect(() => tokens.verify(bad, 0), bad).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    }
  });

  it('refuses an expired token with UPLOAD_EXPIRED', () => {
    expect(() => tokens.verify(tokens.sign(grant), grant.expiresAt + 1)).toThrow(
      expect.objectContaining({ code: 'UPLOAD_EXPIRED', httpStatus: 410 }),
    );
  });
});
