// Prisma's schema engine (WebAssembly build) driven against a PGlite database, for development and
// tests only: the native engine the Prisma CLI downloads cannot be fetched on these machines.
// Used by `new-migration.mjs` (write the next migration) and the schema drift tests (PGlite in the unit
// tier, PostgreSQL in the integration tier).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const NO_FILTERS = { externalTables: [], externalEnums: [] };
let glue;

// Node 20 cannot import .wasm modules, so the wasm-bindgen glue is given a hand-made instance.
async function engineModule() {
  if (!glue) {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const module = await import(path.join(dir, 'schema_engine_bg.js'));
    const bytes = await readFile(path.join(dir, 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': module });
    module.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start?.();
    glue = module;
  }
  return glue;
}

/**
 * Opens the schema engine on a live PGlite database with `schemaFile` as the datamodel.
 * @param {import('@electric-sql/pglite').PGlite} pglite
 * @param {string} schemaFile
 */
export async function openSchemaEngine(pglite, schemaFile) {
  return openSchemaEngineWithAdapter(new PrismaPGlite(pglite), schemaFile);
}

/**
 * Opens the schema engine through any Prisma driver adapter factory, e.g. `@prisma/adapter-pg`'s
 * `PrismaPg` for a PostgreSQL server (the integration tier's drift test).
 * @param {import('@prisma/driver-adapter-utils').SqlMigrationAwareDriverAdapterFactory} factory
 * @param {string} schemaFile
 */
export async function openSchemaEngineWithAdapter(factory, schemaFile) {
  const { SchemaEngine } = await engineModule();
  const content = await readFile(schemaFile, 'utf8');
  const files = [{ path: path.basename(schemaFile), content }];
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  const engine = await SchemaEngine.new({ datamodels: [[files[0].path, content]] }, () => {}, adapter);
  return {
    /** SQL that would bring the live database to the schema; '' when they already match. */
    async diffLiveToSchema() {
      const result = await engine.diff({
        from: { tag: 'schemaDatasource', files, configDir: path.dirname(schemaFile) },
        to: { tag: 'schemaDatamodel', files },
        script: true,
        exitCode: true,
        filters: NO_FILTERS,
      });
      return result.exitCode === 0 ? '' : (result.stdout ?? '');
    },
    dispose() {
      engine.free();
    },
  };
}
