import { describe, expect, it } from 'vitest';

import { createS3ObjectStore } from '../../../src/core/storage/s3.js';

// The S3 adapter itself runs against MinIO in tests/integration/storage/s3.test.ts; these checks
// happen before it connects to anything.
describe('S3 object store options', () => {
  const base = { url: 'http://127.0.0.1:1', bucket: 'b-b-b' };

  it('refuses a namespace prefix that is not a valid key prefix ending in "/"', async () => {
    for (const prefix of ['videos', '../x/', '/abs/', 'a//']) {
      await expect(createS3ObjectStore({ ...base, prefix })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
    }
  });

  it('refuses a part size under the S3 minimum of 5 MiB', async () => {
    await expect(createS3ObjectStore({ ...base, partSizeBytes: 1024 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
