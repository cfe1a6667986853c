/**
 * `PUT /uploads/<token>`, the other half of `createUpload`: the body streams into the object store
 * with the declared size as its limit (413 LIMIT_EXCEEDED past it: on Content-Length before reading, or
 * while reading, storing nothing), and a 202 answer names the ingest job it queued. Errors have the
 * gateway's JSON shape, `{ errors: [{ message, extensions: { code } }] }`, plus `jobId` once a job was
 * claimed; messages are client-safe.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { toHbiError, toPublicError } from '../errors.js';
import { UPLOAD_PATH } from '../ingest/ingest-requests.js';
import { progressOf } from '../jobs/job-store.js';
import type { GatewayServices } from './context.js';

export { UPLOAD_PATH };

/** Answers one request whose path starts with UPLOAD_PATH. */
export async function handleUpload(
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
  services: Pick<GatewayServices, 'library' | 'logger' | 'keys'>,
): Promise<void> {
  if (request.method !== 'PUT') {
    response.setHeader('allow', 'PUT');
    request.resume();
    return sendJson(response, 405, errorBody('BAD_USER_INPUT', 'Upload URLs take PUT requests'));
  }
  const token = pathname.slice(UPLOAD_PATH.length);
  const declared = Number(request.headers['content-length']);
  // The store must not destroy the request when it refuses the body: the 413 still has to be sent.
  const body = request.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
  try {
    const received = await services.library.requests.receiveUpload(
      token,
      body,
      Number.isFinite(declared) ? declared : undefined,
      (keyId) => services.keys.isActive(keyId),
    );
    const { job } = received;
    sendJson(response, 202, {
      jobId: job.id,
      objectKey: received.objectKey,
      sizeBytes: received.sizeBytes,
      job: { id: job.id, kind: job.kind, status: job.status, progress: progressOf(job) },
    });
  } catch (error) {
    const failure = toPublicError(error);
    if (failure.code === 'INTERNAL') services.logger.error('upload failed', { error });
    if (!request.complete) {
      // Drain what the client still sends so it can read the answer, then close the connection.
      response.setHeader('connection', 'close');
      request.resume();
    }
    const status = httpStatusOf(error);
    const retryAfter = failure.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') response.setHeader('retry-after', String(retryAfter));
    const jobId = failure.details?.jobId;
    sendJson(response, status, {
      ...errorBody(failure.code, failure.message, failure.details),
      ...(typeof jobId === 'string' ? { jobId } : {}),
    });
  }
}

function httpStatusOf(error: unknown): number {
  return toHbiError(error).httpStatus;
}

function errorBody(code: string, message: string, details?: Readonly<Record<string, unknown>>) {
  return { errors: [{ message, extensions: { code, ...(details ? { details } : {}) } }] };
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.end(JSON.stringify(value));
}
