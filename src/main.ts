#!/usr/bin/env node
/**
 * The `hbi` command's entry point, and the only module that reads `process.env` (handed to the commands,
 * which pass it to config once) and the process's arguments. The commands live in src/cli; their exit
 * codes are listed in src/cli/exit-codes.ts and by `hbi help`.
 */
import 'reflect-metadata';

import { runCli } from './cli/run.js';

runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`hbi: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
