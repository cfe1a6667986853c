/** Tenant isolation of every task and cache on the embedded database (PGlite); see tests/helpers/tenant-isolation.ts. */
import { loadConfig } from '../../../src/core/config.js';
import { TINY_PACKAGE } from '../../helpers/fixtures.js';
import { describeTenantIsolation } from '../../helpers/tenant-isolation.js';

describeTenantIsolation('PGlite', async (dataDir) =>
  loadConfig({
    HBI_MODEL_DIR: TINY_PACKAGE,
    HBI_DATA_DIR: dataDir,
    HBI_PORT: '0',
    HBI_SEGMENT_WINDOW_MS: '800',
    HBI_SEGMENT_OVERLAP_MS: '0',
  }),
);
