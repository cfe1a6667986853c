/**
 * `GET /media/<token>` (and HEAD): the thumbnails, posters and playable videos whose URLs the API hands
 * out on the embedded object store (S3/MinIO clients get presigned URLs instead). The token is the
 * capability (media-links.ts): no credentials are read, so `<img>` and `<video>` elements can use it.
 * Single byte ranges are honoured, as `<video>` needs to seek: `Range: bytes=a-b`, `a-` or `-n` gives
 * 206 with Content-Range, a range past the end 416; anything else (several ranges, another unit) gets
 * the whole object, as RFC 9110 allows. Answers are private to their holder (`Cache-Control: private`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

import { toPublicError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MediaService } from '../media/media-links.js';
import { MEDIA_PATH } from '../media/media-links.js';

export { MEDIA_PATH };

/** A satisfiable byte range (inclusive ends), the whole object (null), or unsatisfiable. */
export type RangeAnswer = { start: number; end: number } | null | 'unsatisfiable';

/** Reads a Range header against an object of `size` bytes (RFC 9110 §14.1.2, one range only). */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first, last] = match;
  if (first === '' && last === '') return null;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Answers one request whose path starts with MEDIA_PATH. */
export async function handleMedia(
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
  services: { media?: Pick<MediaService, 'open'>; logger: Logger },
): Promise<void> {
  request.resume();
  const method = (request.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return sendError(response, 405, 'BAD_USER_INPUT', 'Media URLs take GET and HEAD requests');
  }
  if (!services.media) return sendError(response, 404, 'NOT_FOUND', 'This server serves no media');
  let opened;
  try {
    opened = await services.media.open(decodeURIComponent(pathname.slice(MEDIA_PATH.length)));
  } catch (error) {
    const failure = toPublicError(error);
    if (failure.code === 'INTERNAL') services.logger.error('media request failed', { error });
    const status = (error as { httpStatus?: unknown }).httpStatus;
    return sendError(response, typeof status === 'number' ? status : 500, failure.code, failure.message);
  }
  const { grant, info, read } = opened;
  const size = info.size;
  const range = parseRange(request.headers.range, size);
  const maxAge = Math.max(0, Math.floor((grant.expiresAt - Date.now()) / 1000));
  response.setHeader('accept-ranges', 'bytes');
  response.setHeader('cache-control', `private, max-age=${maxAge}`);
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('etag', `"${info.sha256}"`);
  if (range === 'unsatisfiable') {
    response.setHeader('content-range', `bytes */${size}`);
    return sendError(response, 416, 'BAD_USER_INPUT', `The range is outside the object's ${size} bytes`);
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  response.statusCode = range ? 206 : 200;
  response.setHeader('content-type', grant.contentType);
  response.setHeader('content-length', String(Math.max(0, end - start + 1)));
  if (range) response.setHeader('content-range', `bytes ${start}-${end}/${size}`);
  if (method === 'HEAD' || size === 0) {
    response.end();
    return;
  }
  await pipeline(await read(start, end), response).catch((error: unknown) => {
    // The client went away mid-body (a <video> seeking does this all the time): nothing to answer.
    if (!response.destroyed) services.logger.warn('media body failed', { error });
  });
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}
