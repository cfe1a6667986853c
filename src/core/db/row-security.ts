/**
 * The role statements run as. Row-level security does not apply to superusers or roles with
 * BYPASSRLS: when the connecting role is one (PGlite's `postgres` always is), the adapters switch each
 * tenant or system transaction to the unprivileged APP_ROLE, created here with the table privileges the
 * platform needs (and the same on every table created later). A connecting role without those
 * attributes (the cluster's `hbi`, which owns the tables) is itself bound by the policies: the
 * migration FORCEs row-level security on the owner too.
 */
import { HbiError } from '../errors.js';
import type { Queryable } from './port.js';
import { APP_ROLE } from './scope.js';

/** The role to switch to, or undefined when the connecting role is already bound by the policies. */
export async function restrictedRole(db: Queryable): Promise<string | undefined> {
  const { rows } = await db.query<{ bypass: boolean; name: string }>(
    `SELECT rolsuper OR rolbypassrls AS "bypass", rolname AS "name" FROM pg_roles WHERE rolname = current_user`,
  );
  if (!rows[0]?.bypass) return undefined;
  try {
    await db.exec(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
          BEGIN
            CREATE ROLE ${APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
          EXCEPTION WHEN duplicate_object THEN NULL; -- another process created it meanwhile
          END;
        END IF;
      END $$;
      GRANT USAGE ON SCHEMA public TO ${APP_ROLE};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${APP_ROLE};
      ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE};
    `);
  } catch (error) {
    throw new HbiError(
      'CONFIG_INVALID',
      `The database role ${rows[0].name} bypasses row-level security (SUPERUSER or BYPASSRLS) and cannot ` +
        `create the role ${APP_ROLE} to run as: connect as the role that owns the platform's tables, without ` +
        `those attributes, or let this one create roles`,
      { cause: error },
    );
  }
  return APP_ROLE;
}
