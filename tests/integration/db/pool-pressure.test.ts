/**
 * A swamped connection pool on the real PostgreSQL: the adapter reports the statements waiting for a
 * connection (what gateways shed load on, HBI_DB_MAX_WAITING), and a statement that waited out the
 * connect timeout — through Prisma, which keeps only the code of the adapter's error — reads as a
 * retriable UNAVAILABLE, not INTERNAL (as a cluster load run once answered uploads).
 */
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrateDatabase } from '../../../src/core/adapters.js';
import { refuseWhenDatabaseBusy } from '../../../src/core/db/outage.js';
import type { PostgresDatabase } from '../../../src/core/db/postgres.js';
import { openPostgresDatabase } from '../../../src/core/db/postgres.js';
import { inSystemScope } from '../../../src/core/db/scope.js';
import { isDatabaseOutage, toHbiError } from '../../../src/core/errors.js';
import { createTestDatabase, infraSettings } from '../infra.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const settings = infraSettings();

describe('a swamped PostgreSQL pool', () => {
  let db: PostgresDatabase;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await createTestDatabase(settings.databaseUrl);
    drop = database.drop;
    const setup = await openPostgresDatabase({ url: database.url });
    await migrateDatabase(setup, MIGRATIONS);
    await setup.close();
    db = await openPostgresDatabase({ url: database.url, poolSize: 1, connectTimeoutMs: 300 });
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('counts the statements waiting for a connection, and shedding refuses past the limit', async () => {
    let release: () => void = () => undefined;
    const held = db.withSession(() => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(db.waitingForConnection()).toBe(0);
    const waiting = Array.from({ length: 3 }, () =>
      inSystemScope('test', () => db.query('SELECT 1')).then(
        () => 'ran',
        (error: unknown) => toHbiError(error).code,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(db.waitingForConnection()).toBe(3);
    expect(() => refuseWhenDatabaseBusy(db, 3)).not.toThrow();
    expect(() => refuseWhenDatabaseBusy(db, 2)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    expect(() => refuseWhenDatabaseBusy(db, 0)).not.toThrow();
    // The held connection outlives the 300 ms connect timeout: every waiter gives up, retriably.
    expect(await Promise.all(waiting)).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    release();
    await held;
    expect(db.waitingForConnection()).toBe(0);
  });

  it('a Prisma query that waited out the connect timeout is a retriable UNAVAILABLE', async () => {
    let release: () => void = () => undefined;
    const held = db.withSession(() => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await inSystemScope('test', () => db.prisma.video.findMany({ take: 1 })).catch(
      (caught: unknown) => caught,
    );
    release();
    await held;
    expect((error as Error).name).toMatch(/^PrismaClient/);
    expect(isDatabaseOutage(error)).toBe(true);
    const failure = toHbiError(error);
    expect(failure).toMatchObject({ code: 'UNAVAILABLE', retriable: true, httpStatus: 503 });
    expect(failure.details).toMatchObject({ dependency: 'database', retryAfterSeconds: 1 });
    // And once the connection is free again, the same query runs.
    await expect(inSystemScope('test', () => db.prisma.video.findMany({ take: 1 }))).resolves.toEqual([]);
  });
});
