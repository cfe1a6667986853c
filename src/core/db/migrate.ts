/**
 * Applies `prisma/migrations/<name>/migration.sql` in name order, recording each in Prisma's own
 * `_prisma_migrations` table (same columns, SHA-256 checksums), so the Prisma CLI sees the same history
 * where it can run. Each migration runs in its own transaction under an advisory lock, so concurrent
 * starters in a cluster apply it once. A changed or half-applied migration stops the start with an
 * error naming it; nothing is guessed. The advisory lock is per session: a pooled adapter must run
 * `migrate` on one dedicated connection.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

import { HbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Database } from './port.js';
import { inOwnerScope } from './scope.js';

/** The lock id Prisma's migrate commands take, so the CLI and this runner never interleave. */
const ADVISORY_LOCK = 72707369;

const HISTORY_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** Reads every migration folder under `dir`, sorted by name (Prisma names start with a UTC timestamp). */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    folders.map(async (name) => {
      const sql = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Applies the migrations not yet recorded; returns the names applied now (empty when up to date). */
export function migrate(db: Database, dir: string, logger?: Logger): Promise<string[]> {
  // Schema changes are the owner's work (db/scope.ts), whoever calls.
  return inOwnerScope('migrations', () => migrateAsOwner(db, dir, logger));
}

async function migrateAsOwner(db: Database, dir: string, logger?: Logger): Promise<string[]> {
  const migrations = await readMigrations(dir);
  await db.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK]);
  try {
    // Under the lock: two concurrent `CREATE TABLE IF NOT EXISTS` can both try to create it.
    await db.exec(HISTORY_TABLE);
    const { rows } = await db.query<HistoryRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const recorded = new Map(rows.map((row) => [row.migration_name, row]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const row = recorded.get(migration.name);
      if (row) {
        if (row.finished_at === null) {
          throw new HbiError(
            'INTERNAL',
            `Migration ${migration.name} started earlier but never finished; resolve it by hand before starting`,
          );
        }
        if (row.checksum !== migration.checksum) {
          throw new HbiError(
            'INTERNAL',
            `Migration ${migration.name} was edited after it was applied (checksum differs); add a new migration instead`,
          );
        }
        continue;
      }
      logger?.info('applying migration', { migration: migration.name });
      try {
        await db.transaction(async (tx) => {
          await tx.exec(migration.sql);
          await tx.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
             VALUES ($1, $2, $3, now(), now(), 1)`,
            [randomUUID(), migration.checksum, migration.name],
          );
        });
      } catch (error) {
        throw new HbiError(
          'INTERNAL',
          `Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`,
          {
            cause: error,
            details: { migration: migration.name },
          },
        );
      }
      applied.push(migration.name);
    }
    const unknown = rows.filter((row) => !migrations.some((m) => m.name === row.migration_name));
    if (unknown.length > 0) {
      logger?.warn('the database has migrations this build does not know (newer build ran?)', {
        migrations: unknown.map((row) => row.migration_name),
      });
    }
    return applied;
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK]);
  }
}
