/**
 * How task inputs, outputs and errors look on the task bus. Values are JSON; an error is its code,
 * message, retriable flag and details (its cause and stack stay in the process that raised it). The
 * in-process dispatcher passes everything through these functions too, so embedded mode already
 * behaves as the cluster will: a handler that returns a Date sees a string at the caller, everywhere.
 */
import type { ErrorCode } from '../errors.js';
import { ERROR_CODES, HbiError } from '../errors.js';

/** An HbiError as it crosses the bus. */
export interface WireTaskError {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  details: Record<string, unknown>;
}

/** One item's outcome as it crosses the bus. */
export type WireTaskOutcome = { ok: true; value: unknown } | { ok: false; error: WireTaskError };

/**
 * The value after a trip through JSON (`undefined` stays `undefined`). Throws INTERNAL naming `what`
 * when the value cannot be written as JSON (a BigInt, a cycle): a bug in the caller, not bad input.
 */
export function throughWire<T>(value: T, what: string): T {
  if (value === undefined) return value;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new HbiError('INTERNAL', `${what} is not JSON-serialisable: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return (text === undefined ? undefined : JSON.parse(text)) as T;
}

/** The error as sent: details pass through JSON so only plain facts travel. */
export function encodeTaskError(error: HbiError): WireTaskError {
  let details: Record<string, unknown>;
  try {
    details = throughWire({ ...error.details }, 'error details');
  } catch {
    details = {};
  }
  return { code: error.code, message: error.message, retriable: error.retriable, details };
}

/** The error as received; anything malformed or with a code this build does not know becomes INTERNAL. */
export function decodeTaskError(wire: unknown, cause?: unknown): HbiError {
  const candidate = (typeof wire === 'object' && wire !== null ? wire : {}) as Partial<WireTaskError>;
  const known = typeof candidate.code === 'string' && Object.hasOwn(ERROR_CODES, candidate.code);
  const message = typeof candidate.message === 'string' ? candidate.message : 'Task failed';
  const details =
    typeof candidate.details === 'object' && candidate.details !== null ? candidate.details : {};
  return new HbiError(known ? candidate.code! : 'INTERNAL', message, {
    cause: cause ?? wire,
    details,
    ...(known && typeof candidate.retriable === 'boolean' ? { retriable: candidate.retriable } : {}),
  });
}
