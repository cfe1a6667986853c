/**
 * Where `ingestVideo` may take bytes from. A server path must resolve (symlinks followed) to a regular
 * file inside one of the configured ingest folders, so a client can never read the rest of the disk; a
 * URL must be http(s) and is downloaded with the upload size limit and a deadline, connecting only to
 * public addresses (download-dispatcher.ts). Errors never echo server paths or the configured folders,
 * and a failed download tells a client nothing about the hosts behind the server.
 */
import { realpath, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

import { fetch } from 'undici';
import type { Dispatcher, Response } from 'undici';

import type { Config } from '../config.js';
import { HbiError, isHbiError, toHbiError } from '../errors.js';
import type { ObjectInfo, ObjectStore } from '../storage/port.js';
import type { Resolver } from './download-dispatcher.js';
import { guardedDispatcher } from './download-dispatcher.js';
import { isNonPublicAddress } from './public-address.js';

export { isNonPublicAddress };

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
/** Which hosts `ingestVideo(url)` may reach (HBI_INGEST_URL_HOSTS, HBI_INGEST_URL_PRIVATE). */
export interface UrlPolicy {
  /** Allowed host names; `*.example.com` also matches its subdomains; empty = any host. */
  hosts: readonly string[];
  /** Whether loopback, private, link-local and other non-public addresses may be reached. */
  allowPrivate: boolean;
}

/** Anything public: what the platform enforces unless configured otherwise. */
export const PUBLIC_ONLY: UrlPolicy = Object.freeze({ hosts: [], allowPrivate: false });

/** The policy a config asks for. */
export function urlPolicy(config: Pick<Config, 'ingestUrlHosts' | 'ingestUrlPrivate'>): UrlPolicy {
  return {
    hosts: config.ingestUrlHosts.map((host) => host.toLowerCase()),
    allowPrivate: config.ingestUrlPrivate,
  };
}

function hostAllowed(host: string, hosts: readonly string[]): boolean {
  if (hosts.length === 0) return true;
  return hosts.some((allowed) =>
    allowed.startsWith('*.')
      ? host === allowed.slice(2) || host.endsWith(allowed.slice(1))
      : host === allowed,
  );
}

/** The bracket-free host of a URL, lower case (`[::1]` → `::1`). */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/**
 * Checks what can be checked without the network: an http(s) URL, a host the policy allows, and no
 * literal non-public address. BAD_USER_INPUT otherwise, naming the setting that would allow it.
 */
export function checkIngestUrl(given: string, policy: UrlPolicy = PUBLIC_ONLY): URL {
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
  const host = bareHost(url);
  if (!hostAllowed(host, policy.hosts)) {
    throw new HbiError(
      'BAD_USER_INPUT',
      `The host ${host} is not one ingestVideo(url) may download from (HBI_INGEST_URL_HOSTS)`,
      {
        details: { host },
      },
    );
  }
  if (isIP(host) !== 0 && !policy.allowPrivate && isNonPublicAddress(host)) throw privateAddress(host);
  return url;
}

function privateAddress(host: string): HbiError {
  return new HbiError(
    'BAD_USER_INPUT',
    `The URL points at a non-public address (${host}); set HBI_INGEST_URL_PRIVATE=true to allow downloads from the local network`,
    { details: { host } },
  );
}

/** Redirects followed (each hop checked against the policy, and connected through the guard) at most. */
const MAX_REDIRECTS = 5;

/**
 * What a client is told about any download that did not produce the video: refused (a host or address
 * the policy does not allow, also on a redirect), unresolvable, unreachable, too slow, or answered with
 * an error. One code and one message for all of them, so a client cannot use `ingestVideo(url)` to
 * learn which internal hosts exist or answer; the reason is in the server's log (the error's cause).
 */
export const DOWNLOAD_FAILED_MESSAGE =
  'The video could not be downloaded from the URL (refused, unreachable or answered with an error): use a public http(s) URL that serves the video (hosts on the local network need HBI_INGEST_URL_PRIVATE=true on the server) and try again';

/** The generic client-facing download failure, with the real reason kept as its cause (logs only). */
export function downloadFailed(cause: unknown): HbiError {
  return new HbiError('UNAVAILABLE', DOWNLOAD_FAILED_MESSAGE, { cause, retriable: true });
}

export interface DownloadOptions {
  /** LIMIT_EXCEEDED (nothing stored) past this many bytes. */
  maxBytes: number;
  /** Hosts and addresses the download (and every redirect) may reach. Default: public hosts only. */
  policy?: UrlPolicy;
  /** The whole download (every hop and the body) must end within this. */
  timeoutMs: number;
  /** Resolves host names for the connections (default: the system resolver); tests pass a fake one. */
  resolve?: Resolver;
  /**
   * Report the real reason of a failure (TIMEOUT, NOT_FOUND, refused address …) instead of the generic
   * one: for the operator's own `hbi ingest <url>`, never for clients.
   */
  detailedErrors?: boolean;
}

/**
 * Downloads `url` into the store at `key` through a dispatcher that connects only to addresses the
 * policy allows (see download-dispatcher.ts). Fails with LIMIT_EXCEEDED (nothing stored) past
 * `maxBytes`, and with the one generic UNAVAILABLE error of `downloadFailed` for anything else (the
 * real reason as its cause), unless `detailedErrors`.
 */
export async function downloadToStore(
  storage: ObjectStore,
  key: string,
  url: URL,
  options: DownloadOptions,
): Promise<ObjectInfo> {
  const policy = options.policy ?? PUBLIC_ONLY;
  const agent = guardedDispatcher({
    allowPrivate: policy.allowPrivate,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    connectTimeoutMs: Math.min(options.timeoutMs, 30_000),
  });
  try {
    return await download(storage, key, url, options, policy, agent);
  } catch (error) {
    const failure = toHbiError(error, 'UNAVAILABLE');
    if (failure.code === 'LIMIT_EXCEEDED' || options.detailedErrors) throw failure;
    throw downloadFailed(failure);
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}

/** The HbiError somewhere in an error's chain of causes (fetch wraps what the connector raised). */
function refusal(error: unknown): HbiError | undefined {
  for (let cause = error, depth = 0; cause !== undefined && depth < 5; depth += 1) {
    if (isHbiError(cause)) return cause;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return undefined;
}

/** The download itself; its typed errors say exactly what went wrong (for the log). */
async function download(
  storage: ObjectStore,
  key: string,
  url: URL,
  options: DownloadOptions,
  policy: UrlPolicy,
  dispatcher: Dispatcher,
): Promise<ObjectInfo> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  const timedOut = () =>
    new HbiError('TIMEOUT', `The download took longer than ${options.timeoutMs} ms`, {
      details: { timeoutMs: options.timeoutMs },
    });
  // fetch refuses `user:pass@` in a URL (and would name them in its error): they go as Basic
  // authorization, to the URL's own origin only (a redirect elsewhere does not get them).
  const { url: start, authorization } = splitCredentials(url);
  let response: Response;
  let target = start;
  for (let hop = 0; ; hop += 1) {
    // Every hop is checked: a public URL must not redirect the server into the local network. The
    // host's addresses are checked by the dispatcher, on the very lookup the connection uses.
    checkIngestUrl(target.href, policy);
    const headers: Record<string, string> =
      authorization && target.origin === start.origin ? { authorization } : {};
    try {
      response = await fetch(target, { signal, redirect: 'manual', headers, dispatcher });
    } catch (error) {
      if (signal.aborted) throw timedOut();
      // A refused address is an HbiError the dispatcher raised (wrapped by fetch): it is the reason.
      throw refusal(error) ?? new HbiError('UNAVAILABLE', 'Cannot reach the URL', { cause: error });
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) break;
    void response.body?.cancel().catch(() => undefined);
    if (hop >= MAX_REDIRECTS) {
      throw new HbiError('BAD_USER_INPUT', `The URL redirected more than ${MAX_REDIRECTS} times`);
    }
    try {
      target = splitCredentials(new URL(location, target)).url;
    } catch {
      throw new HbiError('BAD_USER_INPUT', 'The URL redirected to an invalid location');
    }
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

/** The URL without `user:pass@`, and those credentials as a Basic `authorization` header value. */
function splitCredentials(given: URL): { url: URL; authorization?: string } {
  if (given.username === '' && given.password === '') return { url: given };
  const url = new URL(given.href);
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const user = decode(url.username);
  const password = decode(url.password);
  url.username = '';
  url.password = '';
  return {
    url,
    authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`,
  };
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative.length > 0 && !relative.startsWith('..') && !path.isAbsolute(relative);
}
