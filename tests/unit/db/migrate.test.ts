import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate, readMigrations } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { tempDir } from '../../helpers/fixtures.js';
import { systemView } from '../../helpers/system-scope.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));

describe('migrate (PGlite)', () => {
  let db: PgliteDatabase;
  beforeAll(async () => {
    db = await openPgliteDatabase();
  });
  afterAll(() => db.close());

  it('applies every migration once and records it in _prisma_migrations with its checksum', async () => {
    const files = await readMigrations(MIGRATIONS);
    expect(await migrate(db, MIGRATIONS)).toEqual(files.map((file) => file.name));
    const { rows } = await systemView(db).query<{
      migration_name: string;
      checksum: string;
      applied_steps_count: number;
    }>(
      'SELECT migration_name, checksum, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows).toEqual(
      files.map((file) => ({ migration_name: file.name, checksum: file.checksum, applied_steps_count: 1 })),
    );
  });

  it('is a no-op when the database is up to date', async () => {
    expect(await migrate(db, MIGRATIONS)).toEqual([]);
  });

  it('creates the tables, with pgvector available', async () => {
    const { rows } = await systemView(db).query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(rows.map((row) => row.table_name)).toEqual(
      expect.arrayContaining([
        'tenants',
        'api_keys',
        'model_versions',
        'cameras',
        'videos',
        'segments',
        'segment_embeddings',
        'jobs',
        'plugin_cache',
      ]),
    );
    const distance = await systemView(db).query<{ d: number }>(
      "SELECT '[1,0]'::vector <=> '[0,1]'::vector AS d",
    );
    expect(distance.rows[0]!.d).toBeCloseTo(1);
  });

  describe('refuses an inconsistent history', () => {
    async function migrationsCopy() {
      const temp = await tempDir('hbi-migrations-');
      await cp(MIGRATIONS, temp.dir, { recursive: true });
      return temp;
    }

    it('stops when an applied migration was edited, naming it', async () => {
      const temp = await migrationsCopy();
      try {
        const [first] = await readMigrations(temp.dir);
        await writeFile(path.join(temp.dir, first!.name, 'migration.sql'), `${first!.sql}\n-- edited\n`);
        await expect(migrate(db, temp.dir)).rejects.toThrow(
          `Migration ${first!.name} was edited after it was applied`,
        );
      } finally {
        await temp.cleanup();
      }
    });

    it('rolls back a failing migration entirely and names it; fixing it lets the next start apply it', async () => {
      const temp = await migrationsCopy();
      try {
        const broken = path.join(temp.dir, '29991231000000_broken');
        await mkdir(broken);
        await writeFile(
          path.join(broken, 'migration.sql'),
          'CREATE TABLE "half_done" (id INT);\nSELECT * FROM no_such_table;\n',
        );
        await expect(migrate(db, temp.dir)).rejects.toThrow(
          /Migration 29991231000000_broken failed and was rolled back/,
        );
        const exists = await systemView(db).query(
          "SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'",
        );
        expect(exists.rows).toEqual([]);
        await writeFile(path.join(broken, 'migration.sql'), 'CREATE TABLE "half_done" (id INT);\n');
        expect(await migrate(db, temp.dir)).toEqual(['29991231000000_broken']);
      } finally {
        await temp.cleanup();
      }
    });
  });
});
