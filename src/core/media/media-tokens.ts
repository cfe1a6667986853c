/**
 * Media URLs served by the gateway (`GET /media/<token>`) are capabilities like upload URLs: the token
 * names the tenant, the video, the object and its content type, carries an expiry, and is signed with
 * HMAC-SHA256 under a key derived from HBI_UPLOAD_SECRET (its own derivation, so an upload token is
 * never a media token), so any gateway sharing the secret checks it without a lookup.
 */
import { createHmac, randomBytes } from 'node:crypto';

import { z } from 'zod';

import { HbiError } from '../errors.js';
import { openToken, signToken } from '../util/signed-token.js';

/** What one media URL allows: reading one object of one tenant's video until `expiresAt`. */
export interface MediaGrant {
  tenantId: string;
  videoId: string;
  key: string;
  contentType: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const grantSchema = z.strictObject({
  t: z.uuid(),
  v: z.uuid(),
  k: z.string().min(1),
  c: z.string().min(1),
  e: z.number().int(),
});

/** Signs and checks media tokens with one key. */
export class MediaTokens {
  readonly #key: Buffer;

  /** `secret` unset: a random key, valid for this process only (embedded mode). */
  constructor(secret?: string) {
    const root = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
    this.#key = createHmac('sha256', root).update('hbi media url v1').digest();
  }

  /** The token for `grant`: `<payload>.<signature>`, both base64url, safe in a URL path. */
  sign(grant: MediaGrant): string {
    const body = {
      t: grant.tenantId,
      v: grant.videoId,
      k: grant.key,
      c: grant.contentType,
      e: grant.expiresAt,
    };
    return signToken(this.#key, body);
  }

  /**
   * The grant inside `token`: FORBIDDEN when it was not signed with this key (tampered, malformed,
   * another server's), MEDIA_URL_EXPIRED once `now` is past its expiry.
   */
  verify(token: string, now = Date.now()): MediaGrant {
    const invalid = () => new HbiError('FORBIDDEN', 'The media URL is not valid');
    const parsed = openToken(this.#key, token);
    if (parsed === undefined) throw invalid();
    const grant = grantSchema.safeParse(parsed);
    if (!grant.success) throw invalid();
    const { t, v, k, c, e } = grant.data;
    if (now > e) {
      throw new HbiError(
        'MEDIA_URL_EXPIRED',
        'The media URL has expired; read the thumbnailUrl, posterUrl or playbackUrl field again for a fresh one',
        { details: { expiresAt: new Date(e).toISOString() } },
      );
    }
    return { tenantId: t, videoId: v, key: k, contentType: c, expiresAt: e };
  }
}
