/**
 * Row-level security on PostgreSQL (the infra's server): the platform connects as the role that owns
 * its tables, which FORCE binds to the policies, so the raw transactions here connect as that role.
 */
import { fileURLToPath } from 'node:url';

import pg from 'pg';
import { afterAll } from 'vitest';

import { migrateDatabase } from '../../../src/core/adapters.js';
import { openPostgresDatabase } from '../../../src/core/db/postgres.js';
import { rowSecurityContract } from '../../helpers/row-security.js';
import { createTestDatabase, infraSettings } from '../infra.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const settings = infraSettings();
const dropAfterwards: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of dropAfterwards) await drop();
});

rowSecurityContract('postgres', async () => {
  const database = await createTestDatabase(settings.databaseUrl);
  dropAfterwards.push(database.drop);
  const db = await openPostgresDatabase({ url: database.url });
  await migrateDatabase(db, MIGRATIONS);
  return {
    db,
    raw: async (sql, params = [], values = {}) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query('BEGIN');
        for (const [name, value] of Object.entries(values)) {
          await client.query('SELECT set_config($1, $2, true)', [name, value]);
        }
        const result = await client.query<Record<string, unknown>>(sql, params);
        await client.query('COMMIT');
        return result.rows;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        await client.end();
      }
    },
    close: () => db.close(),
  };
});
