/**
 * One error type for the whole platform. Every failure a client or an operator can see carries a code
 * from this catalogue; retry and dead-letter decisions read `retriable`, never class names.
 */
import { redact, redactRecord } from './util/redact.js';

/** The catalogue: each code's meaning, whether retrying the same work can succeed, and its HTTP status. */
export const ERROR_CODES = {
  /** The request itself is malformed or out of range; retrying it unchanged fails again. */
  BAD_USER_INPUT: { retriable: false, httpStatus: 400 },
  /** A referenced id (video, segment, job, camera, object) does not exist. */
  NOT_FOUND: { retriable: false, httpStatus: 404 },
  /** A documented limit (page size, query depth, upload size, queue length) was exceeded. */
  LIMIT_EXCEEDED: { retriable: false, httpStatus: 413 },
  /** The key's, tenant's or client's request rate is used up: retry after `details.retryAfterSeconds`. */
  RATE_LIMITED: { retriable: true, httpStatus: 429 },
  /** A tenant quota (stored bytes, videos, queued jobs) is reached: delete something or ask for a larger quota. */
  QUOTA_EXCEEDED: { retriable: false, httpStatus: 403 },
  /** Missing or invalid credentials (including a tampered upload URL). */
  UNAUTHENTICATED: { retriable: false, httpStatus: 401 },
  /** The credentials are valid but their role (or tenant) does not allow this. */
  FORBIDDEN: { retriable: false, httpStatus: 403 },
  /**
   * The request conflicts with what already exists: an idempotency key reused with a different request,
   * or a data folder another process holds. Retrying it unchanged fails again.
   */
  CONFLICT: { retriable: false, httpStatus: 409 },
  /** The upload URL expired or was already used: ask `createUpload` for a new one. */
  UPLOAD_EXPIRED: { retriable: false, httpStatus: 410 },
  /** A thumbnail, poster or playback URL is past its expiry (HBI_MEDIA_URL_TTL_SECONDS): read the field again for a fresh one. */
  MEDIA_URL_EXPIRED: { retriable: false, httpStatus: 410 },
  /** The request's Origin (a web page in a browser) is not on HBI_ALLOWED_ORIGINS. */
  ORIGIN_NOT_ALLOWED: { retriable: false, httpStatus: 403 },
  /** The request's Host header is not on HBI_ALLOWED_HOSTS (a DNS rebinding page, or a misrouted request). */
  HOST_NOT_ALLOWED: { retriable: false, httpStatus: 421 },
  /** The request body's Content-Type is not one the route accepts (GraphQL takes JSON only). */
  UNSUPPORTED_MEDIA_TYPE: { retriable: false, httpStatus: 415 },
  /** The video cannot be decoded: corrupt, empty, not a video, or no frames in the requested range. */
  VIDEO_UNREADABLE: { retriable: false, httpStatus: 422 },
  /** The container or codec is not on the allowed list. */
  VIDEO_FORMAT_UNSUPPORTED: { retriable: false, httpStatus: 415 },
  /** The video is larger, longer or wider than the configured limits. */
  VIDEO_TOO_LARGE: { retriable: false, httpStatus: 413 },
  /** The encoder has not finished loading and warming up, or is shutting down. */
  MODEL_NOT_READY: { retriable: true, httpStatus: 503 },
  /** The model package on disk does not match its manifest or the graph contract. */
  MODEL_PACKAGE_INVALID: { retriable: false, httpStatus: 500 },
  /** A plugin needs a model graph the loaded package does not have. */
  MODEL_GRAPH_MISSING: { retriable: false, httpStatus: 500 },
  /** Inference failed for this item (bad tensor, runtime error). */
  INFERENCE_FAILED: { retriable: false, httpStatus: 500 },
  /** The encoder's queue is full: back off and retry. */
  ENCODER_OVERLOADED: { retriable: true, httpStatus: 503 },
  /** A plugin is malformed, duplicated or failed to set up. */
  PLUGIN_INVALID: { retriable: false, httpStatus: 500 },
  /** Configuration failed validation at start. */
  CONFIG_INVALID: { retriable: false, httpStatus: 500 },
  /** An object-store key is empty, too long or escapes its namespace. */
  STORAGE_KEY_INVALID: { retriable: false, httpStatus: 400 },
  /** A dependency (database, object store, bus) is temporarily unavailable. */
  UNAVAILABLE: { retriable: true, httpStatus: 503 },
  /** The operation ran past its deadline. */
  TIMEOUT: { retriable: true, httpStatus: 504 },
  /** No loaded plugin handles this task kind (a misconfigured deployment, or a plugin not loaded). */
  TASK_UNKNOWN: { retriable: false, httpStatus: 501 },
  /** Anything unexpected: masked for clients, logged in full. */
  INTERNAL: { retriable: false, httpStatus: 500 },
} as const satisfies Record<string, { retriable: boolean; httpStatus: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface HbiErrorOptions {
  /** The underlying error; kept for logs, never shown to clients. */
  cause?: unknown;
  /** Structured facts safe to show a client (limits, offending field names). */
  details?: Readonly<Record<string, unknown>>;
  /** Overrides the catalogue's default when one instance is (or is not) worth retrying. */
  retriable?: boolean;
}

/** The platform's only error base: a code from the catalogue, a message for humans, a retriable flag. */
export class HbiError extends Error {
  override readonly name = 'HbiError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: HbiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    this.details = Object.freeze({ ...options.details });
  }

  /** The HTTP status a gateway answers with when this error decides the whole response. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }
}

/** True for HbiError instances, including ones from another copy of this module (external plugins). */
export function isHbiError(value: unknown): value is HbiError {
  return (
    value instanceof HbiError ||
    (value instanceof Error &&
      value.name === 'HbiError' &&
      typeof (value as Partial<HbiError>).code === 'string' &&
      (value as Partial<HbiError>).code! in ERROR_CODES)
  );
}

/** `details.dependency` of the UNAVAILABLE errors the database adapters raise for a lost connection. */
export const DATABASE_DEPENDENCY = 'database';

/** Prisma's codes for a server it cannot reach, a closed connection or an exhausted pool. */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** Node's errno codes of a network connection that failed or broke. */
const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ENOTCONN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);
/** System calls whose errno means a connection could not be made, whatever the code. */
const SOCKET_SYSCALLS = new Set(['connect', 'getaddrinfo']);

/**
 * True for a connection that failed, not a statement: node-postgres and socket codes (`ECONNREFUSED`,
 * `ECONNRESET`, …; not a file's `ENOENT` or `EACCES`), SQLSTATE classes 08 (connection exception) and 57P (operator intervention: the
 * server shutting down), Prisma's connection codes, and codeless errors for a connection that ended
 * ("Connection terminated …", "… not queryable").
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') {
    return (
      SOCKET_ERROR_CODES.has(code) ||
      // a socket that could not be opened (a Unix socket path that is missing, say: ENOENT); the same
      // codes from a file operation (open, read, …) are not a connection
      (/^E[A-Z_]+$/.test(code) && SOCKET_SYSCALLS.has(String((error as { syscall?: unknown }).syscall))) ||
      code.startsWith('08') ||
      code.startsWith('57P') ||
      PRISMA_CONNECTION_CODES.has(code) ||
      // Prisma Client carries the code of the adapter's error it wraps (and drops the error itself):
      // the database adapters raise UNAVAILABLE only for a connection they could not get or lost.
      (code === 'UNAVAILABLE' && /^PrismaClient/.test((error as Error).name ?? ''))
    );
  }
  return /connection terminated|not queryable|connection error|can't reach database server/i.test(
    (error as Error).message ?? '',
  );
}

/**
 * True when `error`, or any error in its `cause` chain, says the database could not be reached (or
 * gave no connection in time): an adapter's UNAVAILABLE for the database, or a raw connection failure
 * (Prisma and others wrap the driver's error).
 */
export function isDatabaseOutage(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (isHbiError(current)) {
      if (current.code === 'UNAVAILABLE' && current.details.dependency === DATABASE_DEPENDENCY) return true;
    } else if (isConnectionError(current)) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Wraps anything thrown into an HbiError, keeping HbiErrors as they are; a database that could not be
 * reached (wrapped by Prisma or not) becomes UNAVAILABLE (retriable, HTTP 503, retry after a second);
 * anything else unknown becomes `fallback`.
 */
export function toHbiError(value: unknown, fallback: ErrorCode = 'INTERNAL', message?: string): HbiError {
  if (isHbiError(value)) return value;
  if (isDatabaseOutage(value)) {
    return new HbiError(
      'UNAVAILABLE',
      'The database did not answer in time (unreachable or busy); retry shortly',
      {
        cause: value,
        details: { dependency: DATABASE_DEPENDENCY, retryAfterSeconds: 1 },
      },
    );
  }
  const text = message ?? (value instanceof Error ? value.message : String(value));
  return new HbiError(fallback, text, { cause: value });
}

/** An error as a client may see it (job and video rows, PUT responses): no stack, no server paths, no secrets. */
export interface PublicError {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  details?: Readonly<Record<string, unknown>>;
}

/**
 * The client-safe form of anything thrown: HbiErrors keep code and message with server paths and URL
 * secrets redacted; INTERNAL and unknown errors become a generic message. Callers log the original in full.
 */
export function toPublicError(error: unknown, fallback: ErrorCode = 'INTERNAL'): PublicError {
  const failure = toHbiError(error, fallback);
  if (failure.code === 'INTERNAL')
    return { code: 'INTERNAL', message: 'Internal server error', retriable: false };
  const details = redactDetails(failure.details);
  return {
    code: failure.code,
    message: redact(failure.message),
    retriable: failure.retriable,
    ...(Object.keys(details).length > 0 ? { details } : {}),
  };
}

/**
 * Server paths, URL credentials and secret parameters: `util/redact.ts` holds the rules (one helper for
 * every text that crosses to a client); re-exported here where errors are made client-safe.
 */
export { redact, redactServerPaths } from './util/redact.js';

/** `details` with every string (nested ones included) passed through `redact` and secret fields masked. */
export function redactDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return redactRecord(details);
}

/** True when retrying may succeed: HbiErrors say so themselves; unknown errors are assumed transient. */
export function isRetriable(error: unknown): boolean {
  return isHbiError(error) ? error.retriable : true;
}

/** Thrown from the default branch of an exhaustive switch; the compiler proves it unreachable. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}
