/**
 * A URL given to `ingestVideo(url)` may carry credentials (`https://user:pass@host/…`) or a signed query
 * (`?X-Amz-Signature=…`). The download needs them; nothing else may hold them. The request keeps the
 * URL without its secrets in `job.queued`, the video row and the logs, and hands the full URL to the
 * worker sealed (AES-256-GCM under a key derived from HBI_UPLOAD_SECRET, which gateways and workers of a
 * cluster share; a random key per process when unset, enough for one process). A dead letter or a log
 * line of the message shows ciphertext, never the secret.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

import { HbiError } from '../errors.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SourceSecrets {
  readonly #key: Buffer;
  /** Whether the key came from a configured secret (so other processes holding it can open). */
  readonly shared: boolean;

  /** `secret` unset: a random key, valid for this process only (embedded mode). */
  constructor(secret?: string) {
    this.shared = secret !== undefined;
    this.#key =
      secret === undefined
        ? randomBytes(32)
        : createHmac('sha256', secret).update('hbi ingest source url v1').digest();
  }

  /** `text` encrypted and authenticated: `<iv><tag><ciphertext>`, base64url. */
  seal(text: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The text `seal` made; CONFIG_INVALID when it was sealed under another key (or altered). */
  open(sealed: string): string {
    const bytes = Buffer.from(sealed, 'base64url');
    try {
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new HbiError(
        'CONFIG_INVALID',
        'This worker cannot read the URL’s credentials: gateways and workers must share HBI_UPLOAD_SECRET',
        { retriable: false },
      );
    }
  }
}
