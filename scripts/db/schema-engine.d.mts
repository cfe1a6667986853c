import type { PGlite } from '@electric-sql/pglite';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

export interface SchemaEngineSession {
  /** SQL that would bring the live database to the schema; '' when they already match. */
  diffLiveToSchema(): Promise<string>;
  dispose(): void;
}

/** Opens Prisma's wasm schema engine on a live PGlite database with `schemaFile` as the datamodel. */
export function openSchemaEngine(pglite: PGlite, schemaFile: string): Promise<SchemaEngineSession>;

/** Opens the schema engine through a Prisma driver adapter factory (e.g. `PrismaPg` for PostgreSQL). */
export function openSchemaEngineWithAdapter(
  factory: SqlMigrationAwareDriverAdapterFactory,
  schemaFile: string,
): Promise<SchemaEngineSession>;
