/**
 * Where `ingestVideo` may take bytes from. A server path must resolve (symlinks followed) to a regular
 * file inside one of the configured ingest folders, so a client can never read the rest of the disk; a
 * URL must be http(s) and is downloaded with the upload size limit and a deadline. Errors never echo
 * server paths or the configured folders.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

import type { Config } from '../config.js';
import { HbiError, isHbiError } from '../errors.js';
import type { ObjectInfo, ObjectStore } from '../storage/port.js';

/** The folders `ingestVideo(path)` reads from: HBI_INGEST_ROOTS, else `<data dir>/ingest` and the demo library's folder. */
export function ingestRoots(config: Pick<Config, 'ingestRoots' | 'dataDir' | 'demoLibrary'>): string[] {
  if (config.ingestRoots.length > 0) return config.ingestRoots.map((root) => path.resolve(root));
  const roots = [path.resolve(config.dataDir, 'ingest')];
  if (config.demoLibrary !== 'off') roots.push(path.dirname(path.resolve(config.demoLibrary)));
  return roots;
}

/**
 * The real path of the file a client named; BAD_USER_INPUT when it lies outside every root (checked
 * before and after following symlinks) or is not a regular file, NOT_FOUND when it does not exist.
 */
export async function resolveIngestPath(given: string, roots: readonly string[]): Promise<string> {
  const outside = () =>
    new HbiError(
      'BAD_USER_INPUT',
      'Only files inside the configured ingest folders (HBI_INGEST_ROOTS) can be ingested by path',
    );
  if (given.trim().length === 0 || given.includes('\0'))
    throw new HbiError('BAD_USER_INPUT', 'The path is empty or malformed');
  const realRoots = (await Promise.all(roots.map((root) => realpath(root).catch(() => null)))).filter(
    (root): root is string => root !== null,
  );
  const lexical = path.resolve(given);
  // Ask the filesystem nothing about paths outside the roots: not even whether they exist.
  if (!realRoots.some((root) => isInside(root, lexical)) && !roots.some((root) => isInside(root, lexical)))
    throw outside();
  const real = await realpath(lexical).catch(() => {
    throw new HbiError('NOT_FOUND', 'No such file in the ingest folders');
  });
  if (!realRoots.some((root) => isInside(root, real))) throw outside();
  if (!(await stat(real)).isFile()) throw new HbiError('BAD_USER_INPUT', 'The path does not name a file');
  return real;
}

/** The URL a client asked to ingest; BAD_USER_INPUT unless it is http(s) (file://, data:, ftp: … are refused). */
export function checkIngestUrl(given: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new HbiError('BAD_USER_INPUT', 'The url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HbiError('BAD_USER_INPUT', `Only http and https URLs can be ingested, not ${url.protocol}`, {
      details: { protocol: url.protocol },
    });
  }
  return url;
}

export interface DownloadOptions {
  /** LIMIT_EXCEEDED (nothing stored) past this many bytes. */
  maxBytes: number;
  /** TIMEOUT when the whole download takes longer. */
  timeoutMs: number;
}

/**
 * Downloads `url` into the store at `key`. Typed failures: TIMEOUT, LIMIT_EXCEEDED, NOT_FOUND (404/410),
 * UNAVAILABLE (unreachable, 5xx, 429, broken off; retriable), BAD_USER_INPUT (any other status).
 */
export async function downloadToStore(
  storage: ObjectStore,
  key: string,
  url: URL,
  options: DownloadOptions,
): Promise<ObjectInfo> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const timedOut = () =>
    new HbiError('TIMEOUT', `The download took longer than ${options.timeoutMs} ms`, {
      details: { timeoutMs: options.timeoutMs },
    });
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (error) {
    if (signal.aborted) throw timedOut();
    throw new HbiError('UNAVAILABLE', 'Cannot reach the URL', { cause: error });
  }
  const fail = (error: HbiError): never => {
    void response.body?.cancel().catch(() => undefined);
    throw error;
  };
  if (!response.ok || !response.body) {
    const status = response.status;
    if (status === 404 || status === 410) fail(new HbiError('NOT_FOUND', `The URL answered HTTP ${status}`));
    if (status >= 500 || status === 429) fail(new HbiError('UNAVAILABLE', `The URL answered HTTP ${status}`));
    fail(new HbiError('BAD_USER_INPUT', `The URL answered HTTP ${status}`, { details: { status } }));
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    fail(
      new HbiError('LIMIT_EXCEEDED', `The video is ${declared} bytes; the limit is ${options.maxBytes}`, {
        details: { sizeBytes: declared, limit: options.maxBytes },
      }),
    );
  }
  try {
    return await storage.put(key, Readable.fromWeb(response.body as ReadableStream<Uint8Array>), {
      maxBytes: options.maxBytes,
      contentType: response.headers.get('content-type') ?? 'application/octet-stream',
    });
  } catch (error) {
    if (signal.aborted) throw timedOut();
    if (isHbiError(error)) {
      if (error.code !== 'LIMIT_EXCEEDED') throw error;
      throw new HbiError(
        'LIMIT_EXCEEDED',
        `The video is larger than the limit of ${options.maxBytes} bytes`,
        {
          details: { limit: options.maxBytes },
        },
      );
    }
    throw new HbiError('UNAVAILABLE', 'The download broke off', { cause: error });
  }
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative.length > 0 && !relative.startsWith('..') && !path.isAbsolute(relative);
}
