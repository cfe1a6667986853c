/**
 * Capability tokens: `<payload>.<signature>`, the payload a JSON value in base64url and the signature
 * HMAC-SHA256 over it, both safe in a URL path. Upload URLs (`ingest/upload-tokens.ts`) and media URLs
 * (`media/media-tokens.ts`) are made of these, each with its own key and grant schema, so any gateway
 * sharing the key checks one without a lookup.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The token carrying `body`, signed with `key`. */
export function signToken(key: Buffer, body: unknown): string {
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${hmac(key, payload).toString('base64url')}`;
}

/**
 * The JSON value inside `token` when `key` signed it; undefined when it is malformed, tampered with or
 * signed with another key (the caller answers its own "not valid" error and checks the value's shape).
 */
export function openToken(key: Buffer, token: string): unknown {
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0) return undefined;
  const expected = hmac(key, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function hmac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}
