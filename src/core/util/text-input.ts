/** The one check of a client's free text (a search, a question, a text to rank): trimmed, not empty, not too long. */
import { HbiError } from '../errors.js';

/**
 * `text` trimmed; BAD_USER_INPUT "<What> is empty" when nothing is left, LIMIT_EXCEEDED "<What> has N
 * characters; the limit is L" past `limit`. `details` (e.g. `{ index }`) join the error's details.
 */
export function checkText(
  text: string,
  limit: number,
  what: string,
  details: Readonly<Record<string, unknown>> = {},
): string {
  const value = text.trim();
  if (value.length === 0) {
    throw new HbiError('BAD_USER_INPUT', `${what} is empty`, Object.keys(details).length ? { details } : {});
  }
  if (value.length > limit) {
    throw new HbiError('LIMIT_EXCEEDED', `${what} has ${value.length} characters; the limit is ${limit}`, {
      details: { ...details, length: value.length, limit },
    });
  }
  return value;
}
