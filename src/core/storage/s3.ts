/**
 * Cluster object store: one bucket on any S3-compatible server (MinIO in `infra/`), spoken to through
 * the `minio` client with plain S3 calls only. Keys are validated exactly as the folder store does
 * and may live under a namespace prefix inside the bucket.
 *
 * S3 metadata is fixed when an upload starts, but the SHA-256 the port promises is known only at its
 * end. So a body that fits in one part goes up in one PUT with its hash; a larger one streams as a
 * multipart upload to a hidden temporary key (`.tmp/…`, which no valid key can name) and is then
 * copied server-side onto its real key with the hash, so readers never see a half-written object.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

import { Client, CopyDestinationOptions, CopySourceOptions } from 'minio';

import { HbiError, isHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ObjectBody, ObjectInfo, ObjectStore, PresignOptions, PutOptions } from './port.js';
import { validateKeyPrefix, validateObjectKey } from './port.js';

export interface S3ObjectStoreOptions {
  /** Endpoint, e.g. `http://127.0.0.1:9000`; `https:` turns TLS on. Path-style requests are used. */
  url: string;
  bucket: string;
  accessKey?: string;
  secretKey?: string;
  /** Region the bucket lives in (signing and bucket creation). Default us-east-1. */
  region?: string;
  /** Namespace inside the bucket, e.g. `hbi/` ('' = the whole bucket); must end with `/`. */
  prefix?: string;
  /** Multipart part size; bodies up to this size go up in a single PUT. 5 MiB minimum. Default 16 MiB. */
  partSizeBytes?: number;
  /** Create the bucket when it is missing (default true); false needs it to exist already. */
  createBucket?: boolean;
  logger?: Logger;
}

/** The S3 store also exposes the client and bucket for S3-only extras (bucket notifications). */
export interface S3ObjectStore extends ObjectStore {
  readonly client: Client;
  readonly bucket: string;
  presignedUrl(method: 'GET' | 'PUT', key: string, options: PresignOptions): Promise<string>;
}

/** User-metadata name (sent as `x-amz-meta-hbi-sha256`) holding the content's hex SHA-256. */
export const SHA256_METADATA = 'hbi-sha256';
const MIN_PART_SIZE = 5 * 1024 ** 2;
/** Largest object a single server-side CopyObject may copy; beyond it, a multipart copy. */
const MAX_SINGLE_COPY = 5 * 1024 ** 3;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Connects, checks the credentials and creates the bucket when missing. */
export async function createS3ObjectStore(options: S3ObjectStoreOptions): Promise<S3ObjectStore> {
  const endpoint = new URL(options.url);
  const secure = endpoint.protocol === 'https:';
  const root = options.prefix ?? '';
  if (root !== '' && (!root.endsWith('/') || !isValidKey(root.slice(0, -1)))) {
    throw new HbiError(
      'CONFIG_INVALID',
      `Object store prefix must be '' or a valid key ending in '/': ${root}`,
    );
  }
  const partSize = options.partSizeBytes ?? 16 * 1024 ** 2;
  if (partSize < MIN_PART_SIZE) {
    throw new HbiError('CONFIG_INVALID', `Object store part size must be at least ${MIN_PART_SIZE} bytes`);
  }
  // Our own agent, so close() leaves no sockets behind.
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const client = new Client({
    endPoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : secure ? 443 : 80,
    useSSL: secure,
    accessKey: options.accessKey ?? '',
    secretKey: options.secretKey ?? '',
    region: options.region ?? 'us-east-1',
    pathStyle: true,
    partSize,
    transportAgent: agent,
  });
  const bucket = options.bucket;
  const where = `${endpoint.origin}/${bucket}`;
  await ensureBucket(client, bucket, options.region ?? 'us-east-1', options.createBucket ?? true).catch(
    (error: unknown) => {
      agent.destroy();
      throw storageError(error, `Cannot open the object store bucket ${where}`);
    },
  );

  const nameOf = (key: string) => root + validateObjectKey(key);

  async function head(key: string): Promise<ObjectInfo | null> {
    const name = nameOf(key);
    try {
      const stat = await client.statObject(bucket, name);
      const metadata = stat.metaData as Record<string, string | undefined>;
      return {
        key,
        size: stat.size,
        sha256: metadata[SHA256_METADATA] ?? (await hashObject(client, bucket, name, options.logger)),
        contentType: metadata['content-type'],
        lastModified: stat.lastModified,
      };
    } catch (error) {
      if (isMissing(error)) return null;
      throw storageError(error, `Cannot read object ${key}`);
    }
  }

  async function put(key: string, body: ObjectBody, putOptions: PutOptions = {}): Promise<ObjectInfo> {
    const name = nameOf(key);
    const meter = new Meter(key, putOptions.maxBytes);
    const source = toIterator(body);
    const first: Buffer[] = [];
    let firstBytes = 0;
    let ended = false;
    try {
      // Read up to one part: a body that ends by then needs no multipart upload and no copy.
      while (firstBytes <= partSize) {
        const next = await source.next();
        if (next.done) {
          ended = true;
          break;
        }
        const chunk = meter.take(next.value);
        first.push(chunk);
        firstBytes += chunk.length;
      }
    } catch (error) {
      await source.return?.();
      throw isHbiError(error) ? error : storageError(error, `Cannot read the body of object ${key}`);
    }
    const headers = { 'Content-Type': putOptions.contentType ?? 'application/octet-stream' };
    if (ended) {
      const data = Buffer.concat(first);
      await client
        .putObject(bucket, name, data, data.length, { ...headers, [SHA256_METADATA]: meter.sha256() })
        .catch((error: unknown) => {
          throw storageError(error, `Cannot write object ${key}`);
        });
    } else {
      await putLarge(name, key, first, source, meter, headers);
    }
    const info = await head(key);
    if (!info) throw new HbiError('INTERNAL', `Object ${key} vanished right after it was written`);
    return info;
  }

  /** Multipart upload to a temporary key, then a server-side copy onto `name` with the hash. */
  async function putLarge(
    name: string,
    key: string,
    first: Buffer[],
    source: AsyncIterator<Uint8Array>,
    meter: Meter,
    headers: Record<string, string>,
  ): Promise<void> {
    const temp = `${root}.tmp/${randomUUID()}`;
    let failure: unknown;
    // The client pipes the body without watching its errors, so a failing body ends early instead
    // and the failure is rethrown once the (discarded) upload has finished.
    async function* metered(): AsyncGenerator<Buffer> {
      try {
        yield* first;
        for (;;) {
          const next = await source.next();
          if (next.done) return;
          yield meter.take(next.value);
        }
      } catch (error) {
        failure = error;
      } finally {
        await source.return?.();
      }
    }
    const body = Readable.from(metered(), { objectMode: false });
    try {
      await client.putObject(bucket, temp, body, undefined, headers);
    } catch (error) {
      failure ??= error;
    } finally {
      body.destroy();
    }
    try {
      if (failure !== undefined) {
        throw isHbiError(failure) ? failure : storageError(failure, `Cannot write object ${key}`);
      }
      const target = new CopyDestinationOptions({
        Bucket: bucket,
        Object: name,
        MetadataDirective: 'REPLACE',
        UserMetadata: { [SHA256_METADATA]: meter.sha256() },
        Headers: headers,
      });
      const from = new CopySourceOptions({ Bucket: bucket, Object: temp });
      await (
        meter.size <= MAX_SINGLE_COPY ? client.copyObject(from, target) : client.composeObject(target, [from])
      ).catch((error: unknown) => {
        throw storageError(error, `Cannot write object ${key}`);
      });
    } finally {
      await client.removeObject(bucket, temp).catch(() => undefined);
      if (failure !== undefined) await client.removeIncompleteUpload(bucket, temp).catch(() => undefined);
    }
  }

  return {
    kind: 's3',
    client,
    bucket,
    put,
    async get(key: string): Promise<Readable> {
      const name = nameOf(key);
      try {
        return await client.getObject(bucket, name);
      } catch (error) {
        if (isMissing(error))
          throw new HbiError('NOT_FOUND', `Object ${key} not found`, { details: { key } });
        throw storageError(error, `Cannot read object ${key}`);
      }
    },
    head,
    async delete(key: string): Promise<boolean> {
      const name = nameOf(key);
      // S3 deletes answer the same whether or not the object existed: ask first.
      const existed = (await head(key)) !== null;
      await client.removeObject(bucket, name).catch((error: unknown) => {
        throw storageError(error, `Cannot delete object ${key}`);
      });
      return existed;
    },
    async *list(prefix = ''): AsyncIterable<ObjectInfo> {
      validateKeyPrefix(prefix);
      const names: string[] = [];
      try {
        for await (const item of client.listObjectsV2(bucket, root + prefix, true)) {
          const name = (item as { name?: string }).name;
          if (name !== undefined) names.push(name);
        }
      } catch (error) {
        throw storageError(error, `Cannot list objects under ${JSON.stringify(prefix)}`);
      }
      // Skip what no valid key can name: temporary uploads and objects other tools wrote.
      const keys = names.map((name) => name.slice(root.length)).filter(isValidKey);
      for (const key of keys.sort()) {
        const info = await head(key);
        if (info) yield info;
      }
    },
    localPath: () => Promise.resolve(null),
    async presignedUrl(method: 'GET' | 'PUT', key: string, options: PresignOptions): Promise<string> {
      const name = nameOf(key);
      const seconds = options.expiresInSeconds;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
        throw new HbiError(
          'BAD_USER_INPUT',
          `A presigned URL lives 1 to ${MAX_PRESIGN_SECONDS} seconds, not ${seconds}`,
        );
      }
      return method === 'PUT'
        ? client.presignedPutObject(bucket, name, seconds)
        : client.presignedGetObject(bucket, name, seconds);
    },
    close(): Promise<void> {
      agent.destroy();
      return Promise.resolve();
    },
  };
}

async function ensureBucket(client: Client, bucket: string, region: string, create: boolean): Promise<void> {
  if (await client.bucketExists(bucket)) return;
  if (!create) {
    throw new HbiError('CONFIG_INVALID', `Bucket ${bucket} does not exist (and creating it is switched off)`);
  }
  try {
    await client.makeBucket(bucket, region);
  } catch (error) {
    // Another process started at the same moment and made it first.
    if (codeOf(error) !== 'BucketAlreadyOwnedByYou') throw error;
  }
}

/** Counts and hashes a body as it passes, refusing it past `maxBytes`. */
class Meter {
  size = 0;
  private readonly hash = createHash('sha256');
  constructor(
    private readonly key: string,
    private readonly maxBytes: number | undefined,
  ) {}
  take(chunk: Uint8Array): Buffer {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.size += buffer.length;
    if (this.maxBytes !== undefined && this.size > this.maxBytes) {
      throw new HbiError('LIMIT_EXCEEDED', `Object ${this.key} exceeds the limit of ${this.maxBytes} bytes`);
    }
    this.hash.update(buffer);
    return buffer;
  }
  sha256(): string {
    return this.hash.digest('hex');
  }
}

function toIterator(body: ObjectBody): AsyncIterator<Uint8Array> {
  const iterable: AsyncIterable<Uint8Array> = body instanceof Uint8Array ? Readable.from([body]) : body;
  return iterable[Symbol.asyncIterator]();
}

/** Objects written by other tools (presigned PUTs, a camera uploading directly) carry no hash: read it. */
async function hashObject(client: Client, bucket: string, name: string, logger?: Logger): Promise<string> {
  logger?.debug('object has no stored SHA-256; hashing its content', { bucket, name });
  const hash = createHash('sha256');
  for await (const chunk of await client.getObject(bucket, name)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isValidKey(key: string): boolean {
  try {
    validateObjectKey(key);
    return true;
  } catch {
    return false;
  }
}

const codeOf = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;

const isMissing = (error: unknown) => ['NoSuchKey', 'NotFound'].includes(codeOf(error) ?? '');

/** Server and network trouble that may pass: worth retrying. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);
const REFUSED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'NoSuchBucket']);

/** One typed error per failure: UNAVAILABLE (retriable) for transient trouble, else INTERNAL/CONFIG_INVALID. */
function storageError(error: unknown, message: string): HbiError {
  if (isHbiError(error)) return error;
  const code = codeOf(error) ?? '';
  const detail = `${message}: ${code ? `${code}: ` : ''}${(error as Error)?.message ?? String(error)}`;
  if (TRANSIENT.has(code)) return new HbiError('UNAVAILABLE', detail, { cause: error, details: { code } });
  if (REFUSED.has(code)) return new HbiError('CONFIG_INVALID', detail, { cause: error, details: { code } });
  return new HbiError('INTERNAL', detail, { cause: error });
}
