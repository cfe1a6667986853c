/** `hbi migrate`: applies pending migrations (prisma/migrations) to the configured database. */
import path from 'node:path';

import { migrateDatabase, openDatabase } from '../../core/adapters.js';
import { loadConfig } from '../../core/config.js';
import { MIGRATIONS_DIR } from '../../core/kernel.js';
import { createLogger } from '../../core/logger.js';
import type { Command } from '../args.js';
import { writeJson } from '../io.js';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations and exit',
  usage: 'hbi migrate [--json]',
  details:
    'Applies prisma/migrations in order and records them in _prisma_migrations; safe to run again, and\n' +
    'concurrent runs wait for each other. The database is the one `hbi serve` uses: PostgreSQL at\n' +
    'DATABASE_URL, else the embedded PGlite in <HBI_DATA_DIR>/db (not while a server holds it open).',
  options: { json: { type: 'boolean', description: 'Print the migrations applied as JSON' } },
  positionals: { min: 0, max: 0 },
  async run(args, io) {
    const config = loadConfig(io.env);
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    // Named without credentials: the URL's host and database only.
    const database = config.databaseUrl
      ? `postgresql://${new URL(config.databaseUrl).host}${new URL(config.databaseUrl).pathname}`
      : path.join(config.dataDir, 'db');
    const db = await openDatabase(config, logger);
    try {
      const applied = await migrateDatabase(db, MIGRATIONS_DIR, logger);
      if (args.values.json) writeJson(io.stdout, { database, applied });
      else
        io.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    } finally {
      await db.close();
    }
    return 0;
  },
};
