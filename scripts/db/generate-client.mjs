#!/usr/bin/env node
// Writes Prisma Client for prisma/schema.prisma into src/generated/prisma, which is committed: a fresh
// clone type-checks and runs with no generate step. Usage: `npm run db:generate` after editing the
// schema (tests/unit/db/prisma-client.test.ts fails while the committed client differs from what this
// writes). No network: Prisma's CLI would first download its native schema engine, which generation
// does not use, so PRISMA_SCHEMA_ENGINE_BINARY points it at /bin/true; telemetry and update checks off.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');

/** The schema the client is generated from, and where the generator writes it (relative to the schema's folder). */
export const SCHEMA = path.join(root, 'prisma/schema.prisma');
export const CLIENT_DIR = path.join(root, 'src/generated/prisma');

/**
 * Runs `prisma generate` on `schema` (default prisma/schema.prisma, writing src/generated/prisma).
 * With `into`, the schema is copied to `<into>/prisma/schema.prisma` first (through `edit`, when
 * given), so the client lands in `<into>/src/generated/prisma` and the committed one is left alone.
 * Returns the folder written.
 */
export async function generateClient({ into, edit = (text) => text } = {}) {
  let schema = SCHEMA;
  if (into) {
    schema = path.join(into, 'prisma/schema.prisma');
    await mkdir(path.dirname(schema), { recursive: true });
    await writeFile(schema, edit(await readFile(SCHEMA, 'utf8')));
  }
  await promisify(execFile)(process.execPath, [cli, 'generate', '--schema', schema], {
    cwd: root,
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true',
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  });
  return into ? path.join(into, 'src/generated/prisma') : CLIENT_DIR;
}

/** A fresh temporary folder for `generateClient({ into })`. */
export function temporaryFolder() {
  return mkdtemp(path.join(tmpdir(), 'hbi-prisma-client-'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = await generateClient();
  console.log(`Prisma Client written to ${path.relative(root, dir)}`);
}
