/**
 * The `hbi` command's exit codes, one catalogue (listed by `hbi help` and in the README), so scripts can
 * tell "fix the call" from "start the server" from "try again later".
 */
import { isHbiError } from '../core/errors.js';

export const EXIT_CODES = {
  /** Done. */
  OK: 0,
  /** The command ran and failed: a file that would not ingest, a benchmark that broke. */
  FAILURE: 1,
  /** Bad arguments or an unknown command; nothing was done. */
  USAGE: 2,
  /** The server at --url could not be reached (refused, unknown host, timed out, not a GraphQL endpoint). */
  UNREACHABLE: 3,
  /** The server refused the request (unknown id, bad input, a plugin it does not load); retrying will not help. */
  REFUSED: 4,
  /** The server is busy or not ready yet (MODEL_NOT_READY, UNAVAILABLE, …): retry later. */
  BUSY: 5,
  /** The configuration (environment variables) is invalid; sysexits' EX_CONFIG. */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The lines `hbi help` prints about exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0   done
  1   the command failed (e.g. a file did not ingest)
  2   usage error: bad arguments or unknown command
  3   server unreachable (--url / HBI_URL)
  4   the server refused the request (unknown id, bad input, plugin not loaded)
  5   the server is busy or not ready: retry later
  78  invalid configuration (environment variables)`;

/** The exit code for an error that ended a command (usage and client errors are mapped where raised). */
export function exitCodeOf(error: unknown): ExitCode {
  return isHbiError(error) && error.code === 'CONFIG_INVALID' ? EXIT_CODES.CONFIG : EXIT_CODES.FAILURE;
}
