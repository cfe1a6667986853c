/**
 * The `hbi` command line: finds the command, parses its arguments, runs it, and turns what it threw into
 * a message on stderr and an exit code from one catalogue (exit-codes.ts). Commands get their process's
 * environment and streams through `CliIo`, so this whole module runs in-process in tests.
 */
import { ApiError } from './api-client.js';
import type { Command } from './args.js';
import { UsageError, parseCommandArgs, renderHelp } from './args.js';
import { BENCH_COMMANDS } from './bench/commands.js';
import { ACCESS_COMMANDS } from './commands/access.js';
import { askCommand } from './commands/ask.js';
import { cameraCommand } from './commands/camera.js';
import { captionCommand } from './commands/caption.js';
import { ingestCommand } from './commands/ingest.js';
import { migrateCommand } from './commands/migrate.js';
import { schemaCommand } from './commands/schema.js';
import { searchCommand } from './commands/search.js';
import { serveCommand, workerCommand } from './commands/roles.js';
import { EXIT_CODES, EXIT_CODES_HELP, exitCodeOf } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Every command, in the order `hbi help` lists them. */
export const COMMANDS: readonly Command[] = [
  serveCommand,
  workerCommand,
  ingestCommand,
  searchCommand,
  askCommand,
  captionCommand,
  cameraCommand,
  migrateCommand,
  ...ACCESS_COMMANDS,
  schemaCommand,
  ...BENCH_COMMANDS,
];

/** `hbi help`: every command with its one-line summary, then how configuration and exit codes work. */
export function usage(): string {
  const help = { name: 'help [command]', summary: "Show this text, or a command's options" };
  const listed = [...COMMANDS, help];
  const width = Math.max(...listed.map((command) => command.name.length));
  const rows = listed.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
  return `Usage: hbi <command> [options]

Commands:
${rows}

Run "hbi <command> --help" for a command's options. Server settings are environment variables
(.env.example lists each with its default); search, ask and caption talk to the server at --url,
else $HBI_URL, else http://127.0.0.1:4000/graphql.

${EXIT_CODES_HELP}`;
}

/** Runs one command line (without `node hbi`); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const asked = second === undefined ? undefined : findCommand(argv.slice(1));
    if (asked) io.stdout.write(`${renderHelp(asked.command)}\n`);
    else io.stdout.write(`${usage()}\n`);
    return first === undefined ? EXIT_CODES.USAGE : EXIT_CODES.OK;
  }
  const found = findCommand(argv);
  if (!found) {
    const what = first === 'bench' ? `bench ${second ?? ''}`.trim() : first;
    io.stderr.write(`hbi: unknown command "${what}"\n\n${usage()}\n`);
    return EXIT_CODES.USAGE;
  }
  const { command, rest } = found;
  try {
    const args = parseCommandArgs(command, rest);
    if (args.help) {
      io.stdout.write(`${renderHelp(command)}\n`);
      return EXIT_CODES.OK;
    }
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`hbi ${command.name}: ${error.message}\nRun "hbi ${command.name} --help" for usage.\n`);
      return EXIT_CODES.USAGE;
    }
    io.stderr.write(`hbi ${command.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof ApiError ? error.exitCode : exitCodeOf(error);
  }
}

/** The command `argv` starts with (two words for `bench <what>`), and the arguments after it. */
function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}
