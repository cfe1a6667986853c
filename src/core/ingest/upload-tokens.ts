/**
 * Upload URLs are capabilities: the token in `PUT /uploads/<token>` carries what the client was granted
 * (object key, byte limit, expiry, title, camera) and an HMAC-SHA256 over it, so any gateway sharing
 * the key can check it without a lookup. Single use is enforced where the upload is received (its job
 * row is claimed once), not here.
 */
import { randomBytes } from 'node:crypto';

import { z } from 'zod';

import { HbiError } from '../errors.js';
import { openToken, signToken } from '../util/signed-token.js';

/** What one upload URL allows. */
export interface UploadGrant {
  uploadId: string;
  tenantId: string;
  /** The API key that asked for the URL (null for the operator's own tools); checked again at upload. */
  keyId?: string | null;
  /** Where the bytes will be stored. */
  objectKey: string;
  /** The client's file name, kept for display as `upload:<filename>`. */
  filename: string;
  contentType: string;
  /** The body may not be longer (the size the client declared). */
  maxBytes: number;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  title: string | null;
  cameraId: string | null;
  /** ISO wall-clock time the video starts at (camera segments); absent in tokens signed before it existed. */
  capturedAt?: string | null;
}

const grantSchema = z.strictObject({
  uploadId: z.uuid(),
  tenantId: z.uuid(),
  keyId: z.string().nullish(),
  objectKey: z.string().min(1),
  filename: z.string(),
  contentType: z.string(),
  maxBytes: z.number().int().positive(),
  expiresAt: z.number().int(),
  title: z.string().nullable(),
  cameraId: z.uuid().nullable(),
  capturedAt: z.iso.datetime({ offset: true }).nullish(),
});

/** Signs and checks upload tokens with one key. */
export class UploadTokens {
  readonly #key: Buffer;

  /** `secret` unset: a random key, valid for this process only (embedded mode). */
  constructor(secret?: string) {
    this.#key = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  /** The token for `grant`: `<payload>.<signature>`, both base64url, safe in a URL path. */
  sign(grant: UploadGrant): string {
    return signToken(this.#key, grant);
  }

  /**
   * The grant inside `token`: UNAUTHENTICATED when it was not signed with this key (tampered or
   * malformed), UPLOAD_EXPIRED once `now` is past its expiry.
   */
  verify(token: string, now = Date.now()): UploadGrant {
    const invalid = () => new HbiError('UNAUTHENTICATED', 'The upload URL is not valid');
    const parsed = openToken(this.#key, token);
    if (parsed === undefined) throw invalid();
    const grant = grantSchema.safeParse(parsed);
    if (!grant.success) throw invalid();
    if (now > grant.data.expiresAt) {
      throw new HbiError('UPLOAD_EXPIRED', 'The upload URL has expired; ask createUpload for a new one', {
        details: { expiresAt: new Date(grant.data.expiresAt).toISOString() },
      });
    }
    return grant.data;
  }
}
