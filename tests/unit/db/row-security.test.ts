/**
 * Row-level security on the embedded database: PGlite's one user is a superuser (never bound by the
 * policies), so the raw transactions here run as the application role, as the adapter's do.
 */
import { fileURLToPath } from 'node:url';

import { migrateDatabase } from '../../../src/core/adapters.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { APP_ROLE } from '../../../src/core/db/scope.js';
import { rowSecurityContract } from '../../helpers/row-security.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));

rowSecurityContract('pglite', async () => {
  const db = await openPgliteDatabase();
  await migrateDatabase(db, MIGRATIONS);
  return {
    db,
    raw: (sql, params = [], settings = {}) =>
      db.client.transaction(async (tx) => {
        await tx.query(`SELECT set_config('role', $1, true)`, [APP_ROLE]);
        for (const [name, value] of Object.entries(settings)) {
          await tx.query('SELECT set_config($1, $2, true)', [name, value]);
        }
        return (await tx.query<Record<string, unknown>>(sql, params)).rows;
      }),
    close: () => db.close(),
  };
});
