/**
 * Commands as data: each declares its usage, options and positionals, and gets `--help` for free.
 * Parsing is node:util's `parseArgs` (strict), and every problem is a UsageError (exit code 2) that
 * says what was wrong and how to get help.
 */
import { parseArgs } from 'node:util';

import type { CliIo } from './io.js';

/** One option: parseArgs' settings plus what `--help` shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** For string options: the placeholder in help (`<url>`). */
  value?: string;
  description: string;
  multiple?: boolean;
}

export interface ParsedArgs {
  values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  positionals: readonly string[];
}

export interface Command {
  name: string;
  /** One line for `hbi help`. */
  summary: string;
  /** After `Usage: `, e.g. `hbi search "<text>" [options]`. */
  usage: string;
  /** Paragraphs shown by `--help` below the usage. */
  details?: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** How many positionals the command takes; outside the range is a usage error. */
  positionals: { min: number; max: number };
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** A problem with the command line; the command did nothing. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help' };

/** Parses `argv` (after the command name) against the command's spec; `help: true` when --help was given. */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs & { help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...command.options, help: HELP },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, '.'));
  }
  const help = parsed.values.help === true;
  const count = parsed.positionals.length;
  if (!help && count < command.positionals.min)
    throw new UsageError(`hbi ${command.name} needs more arguments`);
  if (!help && count > command.positionals.max) {
    throw new UsageError(
      `hbi ${command.name} takes at most ${command.positionals.max} argument(s), got ${count}`,
    );
  }
  return { values: parsed.values, positionals: parsed.positionals, help };
}

/** The `--help` text of one command. */
export function renderHelp(command: Command): string {
  const rows = Object.entries({ ...command.options, help: HELP }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  const options = rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n');
  return [`Usage: ${command.usage}`, command.summary, command.details, `Options:\n${options}`]
    .filter(Boolean)
    .join('\n\n');
}

/** A string option as given, or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** An integer option within [min, max], or `fallback` when absent; UsageError otherwise. */
export function intOption(
  args: ParsedArgs,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const given = stringOption(args, name);
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(given)}`);
  }
  return value;
}
