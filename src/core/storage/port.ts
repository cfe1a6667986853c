/**
 * The object store port: where uploaded and ingested videos live. The embedded adapter is a local
 * folder (`fs.ts`); the cluster adapter (any S3 server, MinIO in `infra/`, `s3.ts`) implements the
 * same interface and passes the same contract suite (`tests/unit/storage/object-store-contract.ts`).
 */
import type { Readable } from 'node:stream';

import { HbiError } from '../errors.js';

/** What the store knows about one object. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Hex SHA-256 of the content, computed while writing; lets ingest be idempotent per content. */
  sha256: string;
  contentType: string | undefined;
  lastModified: Date;
}

export interface PutOptions {
  contentType?: string;
  /** Refuse (LIMIT_EXCEEDED) and store nothing when the body is larger than this. */
  maxBytes?: number;
}

export type ObjectBody = Uint8Array | Readable | AsyncIterable<Uint8Array>;

/** What a presigned URL lets its holder do, and for how long. */
export interface PresignOptions {
  /** Seconds the URL stays valid: 1 to 604 800 (7 days, the S3 maximum). */
  expiresInSeconds: number;
}

export interface ObjectStore {
  /** Adapter name for logs and health output. */
  readonly kind: string;
  /** Writes atomically: readers see the old object or the whole new one, never a partial file. */
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo>;
  /** Streams the content; NOT_FOUND when absent. */
  get(key: string): Promise<Readable>;
  /** Metadata, or null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Removes the object; true when something was removed. Idempotent, so redelivered deletes are harmless. */
  delete(key: string): Promise<boolean>;
  /** Objects whose key starts with `prefix`, in key order. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /**
   * A local file holding the object, when the adapter has one (ffmpeg reads files faster than pipes);
   * null means the caller must stream `get` into a temporary file.
   */
  localPath(key: string): Promise<string | null>;
  /**
   * A URL a client can PUT the object's bytes to, or GET them from, without passing through this
   * process. Optional: only stores with their own HTTP endpoint (S3) have it; others return uploads
   * through the gateway.
   */
  presignedUrl?(method: 'GET' | 'PUT', key: string, options: PresignOptions): Promise<string>;
  close(): Promise<void>;
}

/** Longest key accepted, in UTF-8 bytes (the S3 limit). */
export const MAX_KEY_BYTES = 1024;

/**
 * Validates an object key and returns it unchanged. Keys are `/`-separated segments; none may be
 * empty, `.`/`..`, start with a dot (reserved for adapter bookkeeping) or hold control characters or
 * backslashes, so no key can escape the store's root on any adapter.
 */
export function validateObjectKey(key: string): string {
  const fail = (why: string): never => {
    throw new HbiError('STORAGE_KEY_INVALID', `Invalid object key ${JSON.stringify(key)}: ${why}`, {
      details: { key },
    });
  };
  if (typeof key !== 'string' || key.length === 0) fail('empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) fail(`longer than ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) fail('control characters and backslashes are not allowed');
  for (const segment of key.split('/')) {
    if (segment.length === 0) fail('empty path segment (leading, trailing or double slash)');
    if (segment.startsWith('.')) fail('a segment may not start with "." (no "..", no hidden names)');
  }
  return key;
}

/** Validates a list prefix: like a key, but may be empty or end with `/`. */
export function validateKeyPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  validateObjectKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** Tenant ids become one key segment: letters, digits, `_` and `-` only (UUIDs fit). */
const TENANT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The prefix under which one tenant's objects live: `tenants/<tenantId>/`. Listing it never returns
 * another tenant's objects, on every adapter.
 */
export function tenantKeyPrefix(tenantId: string): string {
  if (!TENANT_ID.test(tenantId)) {
    throw new HbiError(
      'STORAGE_KEY_INVALID',
      `Invalid tenant id for an object key: ${JSON.stringify(tenantId)}`,
      {
        details: { tenantId },
      },
    );
  }
  return `tenants/${tenantId}/`;
}

/** `key` placed under the tenant's prefix, validated as a whole (so `..` cannot climb out). */
export function tenantObjectKey(tenantId: string, key: string): string {
  return validateObjectKey(`${tenantKeyPrefix(tenantId)}${key}`);
}
