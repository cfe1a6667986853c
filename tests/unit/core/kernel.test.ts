import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import { bootKernel } from '../../../src/core/kernel.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import { systemView } from '../../helpers/system-scope.js';

describe('bootKernel', () => {
  it('boots the embedded services with a ready encoder and a migrated database, then stops', async () => {
    const temp = await tempDir('hbi-kernel-');
    try {
      const config = loadConfig({ HBI_MODEL_DIR: TINY_PACKAGE, HBI_DATA_DIR: temp.dir });
      const kernel = await bootKernel(config, createMemoryLogger());
      expect(kernel.encoder.state.status).toBe('ready');
      expect([kernel.db.kind, kernel.storage.kind, kernel.events.kind]).toEqual(['pglite', 'fs', 'memory']);
      const { rows } = await systemView(kernel.db).query<{ n: number }>(
        'SELECT count(*)::int AS n FROM "_prisma_migrations"',
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
      await kernel.stop();
      await kernel.stop();
      expect(kernel.encoder.state.status).toBe('closed');
    } finally {
      await temp.cleanup();
    }
  });

  it('fails fast with the model package error and logs which part failed', async () => {
    const logger = createMemoryLogger();
    const config = loadConfig({ HBI_MODEL_DIR: '/nonexistent/model' });
    await expect(bootKernel(config, logger)).rejects.toMatchObject({ code: 'MODEL_PACKAGE_INVALID' });
    expect(logger.records.at(-1)!.message).toBe('boot failed while starting model package');
  });
});
