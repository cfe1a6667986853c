/**
 * A small structured logger: one JSON object per line on stderr, so logs stay machine-readable in
 * cluster mode and grep-able on a laptop. Plugins get a child logger bound to their name.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ plugin: 'qa' }`). */
  child(fields: LogFields): Logger;
}

export interface LogRecord {
  level: Exclude<LogLevel, 'silent'>;
  message: string;
  fields: LogFields;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Builds a logger writing records at or above `level` to `sink` (stderr JSON lines by default). */
export function createLogger(
  level: LogLevel = 'info',
  sink: (record: LogRecord) => void = writeJsonLine,
  bound: LogFields = {},
): Logger {
  const emit = (recordLevel: LogRecord['level'], message: string, fields?: LogFields) => {
    if (RANK[recordLevel] < RANK[level]) return;
    sink({ level: recordLevel, message, fields: { ...bound, ...fields } });
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger(level, sink, { ...bound, ...fields }),
  };
}

/** A logger that records lines in memory; tests assert on `records`. */
export function createMemoryLogger(): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return Object.assign(
    createLogger('debug', (record) => records.push(record)),
    { records },
  );
}

function writeJsonLine(record: LogRecord): void {
  const line = { time: new Date().toISOString(), level: record.level, msg: record.message };
  process.stderr.write(`${JSON.stringify({ ...line, ...serialiseFields(record.fields) })}\n`);
}

/** Errors do not survive JSON.stringify; expand them (with causes) so logs keep the full story. */
function serialiseFields(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields))
    out[key] = value instanceof Error ? describeError(value) : value;
  return out;
}

function describeError(error: Error, depth = 0): Record<string, unknown> {
  const described: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  for (const key of ['code', 'retriable', 'details'] as const) {
    if (key in error) described[key] = (error as unknown as Record<string, unknown>)[key];
  }
  if (error.cause !== undefined && depth < 5) {
    described.cause = error.cause instanceof Error ? describeError(error.cause, depth + 1) : error.cause;
  }
  return described;
}
