/**
 * Camera registration across tenants on the embedded database (row-level security on): an id another
 * tenant holds answers NOT_FOUND and changes nothing; names are per tenant.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import { CameraRegistry } from '../../../src/core/library/camera-registry.js';
import { VideoCatalog } from '../../../src/core/library/video-catalog.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));

describe('CameraRegistry across tenants', () => {
  let db: PgliteDatabase;
  let cameras: CameraRegistry;
  let catalog: VideoCatalog;
  const [a, b] = [randomUUID(), randomUUID()];

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS);
    cameras = new CameraRegistry(db);
    catalog = new VideoCatalog(db);
  });
  afterAll(async () => db?.close());

  it("refuses another tenant's camera id as not found, and changes nothing of it", async () => {
    const dock = await cameras.register({ name: 'dock', sourceUrl: 'rtsp://cam.local/dock' }, a);
    await expect(cameras.register({ id: dock.id, name: 'taken' }, b)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(cameras.setStatus(dock.id, 'ONLINE', b)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await catalog.camera(a, dock.id)).toMatchObject({ name: 'dock', status: 'OFFLINE' });
    expect(await catalog.camera(b, dock.id)).toBeUndefined();
    expect((await catalog.cameras(b, { limit: 10 })).totalCount).toBe(0);
    // The same name is free in another tenant; a new id of the tenant's own choosing is created.
    const own = await cameras.register({ name: 'dock' }, b);
    expect(own.id).not.toBe(dock.id);
    const chosen = randomUUID();
    expect((await cameras.register({ id: chosen, name: 'gate' }, b)).id).toBe(chosen);
  });
});
