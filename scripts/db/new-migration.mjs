#!/usr/bin/env node
// Writes the next migration: replays prisma/migrations into a throwaway PGlite, asks Prisma's schema
// engine what SQL brings it to prisma/schema.prisma, and saves that as
// prisma/migrations/<UTC timestamp>_<name>/migration.sql (Prisma's layout). Usage:
//   npm run db:migration -- add_camera_location
// Review the SQL before committing: hand-written parts (HNSW indexes, extensions) belong there too.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

import { openSchemaEngine } from './schema-engine.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const migrationsDir = path.join(root, 'prisma/migrations');
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:migration -- <snake_case_name>');
  process.exit(2);
}

const pglite = await PGlite.create({ extensions: { vector } });
await mkdir(migrationsDir, { recursive: true });
const existing = (await readdir(migrationsDir, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
for (const folder of existing)
  await pglite.exec(await readFile(path.join(migrationsDir, folder, 'migration.sql'), 'utf8'));

const engine = await openSchemaEngine(pglite, path.join(root, 'prisma/schema.prisma'));
let sql = await engine.diffLiveToSchema();
engine.dispose();
await pglite.close();
if (sql.trim() === '') {
  console.log('schema.prisma matches the migrations; nothing to write');
  process.exit(0);
}
if (existing.length === 0) {
  sql = `-- pgvector: segment embeddings are stored as vector values.\nCREATE EXTENSION IF NOT EXISTS vector;\n\n${sql}`;
  await writeFile(
    path.join(migrationsDir, 'migration_lock.toml'),
    '# Managed by the app\'s migration runner (src/core/db/migrate.ts).\nprovider = "postgresql"\n',
  );
}
const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const folder = path.join(migrationsDir, `${stamp}_${name}`);
await mkdir(folder);
await writeFile(path.join(folder, 'migration.sql'), sql.endsWith('\n') ? sql : `${sql}\n`);
console.log(`wrote ${path.relative(root, folder)}/migration.sql`);
