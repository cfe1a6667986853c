import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { openSchemaEngine } from '../../../scripts/db/schema-engine.mjs';
import { asOwner } from '../../helpers/system-scope.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));

describe('prisma/schema.prisma and prisma/migrations', () => {
  it('agree: a database migrated from scratch needs no change to match the schema (and drift is detected)', async () => {
    const db = await openPgliteDatabase();
    try {
      await migrate(db, MIGRATIONS);
      const engine = await openSchemaEngine(db.client, SCHEMA);
      try {
        // A non-empty script is exactly the migration still missing: write it with `npm run db:migration -- <name>`.
        expect(await engine.diffLiveToSchema()).toBe('');
        // The check is not vacuous: a column missing from the database shows up as the SQL to add it.
        await asOwner(() => db.exec('ALTER TABLE "videos" DROP COLUMN "title"'));
        expect(await engine.diffLiveToSchema()).toMatch(/ALTER TABLE "videos" ADD COLUMN\s+"title" TEXT/);
      } finally {
        engine.dispose();
      }
    } finally {
      await db.close();
    }
  });
});
