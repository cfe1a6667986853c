#!/usr/bin/env node
/**
 * The `hbi` command's entry point, and the only module that reads `process.env` (handed to the commands,
 * which pass it to config once) and the process's arguments. The commands live in src/cli; their exit
 * codes are listed in src/cli/exit-codes.ts and by `hbi help`.
 */
import 'reflect-metadata';

import { runCli } from './cli/run.js';

/**
 * Once a command is done, the process ends even if something it started still holds the event loop (a
 * part abandoned at the shutdown deadline: an ffmpeg child, a stuck connection); a clean one ends first.
 */
const EXIT_GRACE_MS = 2_000;

runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  },
  (error: unknown) => {
    process.stderr.write(`hbi: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
