#!/usr/bin/env node
/**
 * The `hbi` command. The only module that reads `process.env` (once, into config) and the process's
 * arguments. Exit codes: 0 success, 1 runtime failure, 2 usage error, 78 configuration error.
 */
import 'reflect-metadata';

import { loadConfig } from './core/config.js';
import { isHbiError } from './core/errors.js';
import { migrate } from './core/db/migrate.js';
import { openPgliteDatabase } from './core/db/pglite.js';
import { MIGRATIONS_DIR, bootKernel } from './core/kernel.js';
import path from 'node:path';
import { createLogger } from './core/logger.js';

const USAGE = `Usage: hbi <command>

Commands:
  serve      Start the platform with the embedded defaults (see .env.example for settings)
  migrate    Apply pending database migrations and exit
  help       Show this text

Configuration comes from environment variables; every one is listed with its default in .env.example.`;

async function serve(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const kernel = await bootKernel(config, logger);
  logger.info('hbi is up', { model: kernel.modelPackage.id, encoder: kernel.encoder.state.status });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info('shutting down', { signal });
      void kernel.stop().then(resolve);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
}

async function migrateCommand(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const db = await openPgliteDatabase(path.join(config.dataDir, 'db'));
  try {
    const applied = await migrate(db, MIGRATIONS_DIR, logger);
    process.stdout.write(
      applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n',
    );
  } finally {
    await db.close();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'serve':
      await serve();
      return 0;
    case 'migrate':
      await migrateCommand();
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`hbi: ${message}\n`);
    process.exitCode = isHbiError(error) && error.code === 'CONFIG_INVALID' ? 78 : 1;
  },
);
