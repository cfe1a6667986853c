#!/usr/bin/env node
/**
 * The `hbi` command. The only module that reads `process.env` (once, into config) and the process's
 * arguments. Exit codes: 0 success, 1 runtime failure, 2 usage error, 78 configuration error.
 */
import 'reflect-metadata';

import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import type { Config } from './core/config.js';
import { loadConfig } from './core/config.js';
import { migrate } from './core/db/migrate.js';
import { openPgliteDatabase } from './core/db/pglite.js';
import { isHbiError } from './core/errors.js';
import { buildGatewaySchema, printGatewaySchema } from './core/gateway/schema.js';
import { ingestDemoLibrary } from './core/ingest/demo-library.js';
import { VideoIngestor } from './core/ingest/video-ingestor.js';
import { MIGRATIONS_DIR, bootKernel } from './core/kernel.js';
import type { Logger } from './core/logger.js';
import { createLogger } from './core/logger.js';
import type { Platform } from './core/platform.js';
import { startPlatform } from './core/platform.js';
import { BUILTIN_PLUGINS } from './plugins/builtins.js';

const USAGE = `Usage: hbi <command>

Commands:
  serve      Start the platform with the embedded defaults: GraphQL over HTTP and WebSocket at /graphql
  migrate    Apply pending database migrations and exit
  ingest     Index video files: hbi ingest <file|dir>... (not while \`hbi serve\` holds the embedded database)
  schema     Print the GraphQL schema (SDL) that schema/schema.graphql must match
  help       Show this text

Configuration comes from environment variables; every one is listed with its default in .env.example.`;

async function serve(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const platform = await startPlatform(config, logger, { builtins: BUILTIN_PLUGINS });
  logger.info('hbi is up', { url: platform.gateway.url, model: platform.kernel.modelPackage.id });
  const demo = new AbortController();
  const indexing = indexDemoLibrary(platform, config, logger, demo.signal);
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info('shutting down', { signal });
      demo.abort();
      void indexing.then(() => platform.stop()).then(resolve);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
}

/** Indexes the demo library in the background once the API serves; failures are logged, never fatal. */
async function indexDemoLibrary(
  platform: Platform,
  config: Config,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  if (config.demoLibrary === 'off') return;
  const file = path.resolve(config.demoLibrary);
  if (!existsSync(file)) {
    logger.info('no demo library to index', { file });
    return;
  }
  const { kernel } = platform;
  const ingestor = new VideoIngestor({
    ...kernel,
    model: kernel.modelPackage.manifest,
    logger: logger.child({ component: 'ingest' }),
  });
  await ingestDemoLibrary(ingestor, file, logger, { signal }).catch((error: unknown) =>
    logger.error('demo library indexing failed', { error }),
  );
}

const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.ts']);

/** Ingests each file (directories: their video files, not recursive); exit 1 when any failed. */
async function ingestCommand(targets: readonly string[]): Promise<number> {
  if (targets.length === 0) {
    process.stderr.write(`hbi ingest needs at least one file or folder.\n\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const files: string[] = [];
  for (const target of targets) {
    const info = await stat(target).catch(() => null);
    if (info?.isDirectory()) {
      const names = (await readdir(target)).filter((name) =>
        VIDEO_EXTENSIONS.has(path.extname(name).toLowerCase()),
      );
      files.push(...names.sort().map((name) => path.join(target, name)));
    } else files.push(target);
  }
  const kernel = await bootKernel(config, logger);
  let failed = 0;
  try {
    const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
    for (const [i, file] of files.entries()) {
      const prefix = `[${i + 1}/${files.length}] ${file}`;
      try {
        const result = await ingestor.ingestFile({ file: path.resolve(file), sourceUri: path.resolve(file) });
        const what = result.alreadyIndexed ? 'already indexed' : `indexed, ${result.segments} segment(s)`;
        process.stdout.write(`${prefix}: ${what} (video ${result.videoId})\n`);
      } catch (error) {
        failed++;
        const reason = isHbiError(error) ? `${error.code}: ${error.message}` : String(error);
        process.stdout.write(`${prefix}: failed, ${reason}\n`);
      }
    }
  } finally {
    await kernel.stop();
  }
  return failed > 0 ? 1 : 0;
}

async function schemaCommand(): Promise<void> {
  const { schema } = await buildGatewaySchema(BUILTIN_PLUGINS);
  process.stdout.write(printGatewaySchema(schema));
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
    case 'ingest':
      return ingestCommand(argv.slice(1));
    case 'schema':
      await schemaCommand();
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
