/** Tenant isolation of every task and cache on PostgreSQL from infra/; see tests/helpers/tenant-isolation.ts. */
import { loadConfig } from '../../src/core/config.js';
import { TINY_PACKAGE } from '../helpers/fixtures.js';
import { describeTenantIsolation } from '../helpers/tenant-isolation.js';
import { createTestDatabase, infraSettings } from './infra.js';

const settings = infraSettings();
let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

describeTenantIsolation(
  'PostgreSQL',
  async (dataDir) => {
    database = await createTestDatabase(settings.databaseUrl);
    return loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: dataDir,
      HBI_PORT: '0',
      HBI_SEGMENT_WINDOW_MS: '800',
      HBI_SEGMENT_OVERLAP_MS: '0',
      DATABASE_URL: database.url,
    });
  },
  async () => database?.drop(),
);
