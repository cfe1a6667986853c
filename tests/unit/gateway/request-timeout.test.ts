import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import { uploadRequestTimeoutMs } from '../../../src/core/gateway/http-server.js';

describe("the HTTP server's request timeout", () => {
  it('lets the largest upload arrive at the slowest rate served, never below Node’s 5 minutes', () => {
    // Defaults: 2 GiB at 256 KiB/s.
    expect(uploadRequestTimeoutMs(loadConfig({}))).toBe(8192_000);
    expect(
      uploadRequestTimeoutMs(
        loadConfig({
          HBI_MAX_UPLOAD_BYTES: String(100 * 1024 ** 2),
          HBI_UPLOAD_MIN_BYTES_PER_SECOND: '1048576',
        }),
      ),
    ).toBe(300_000);
    expect(
      uploadRequestTimeoutMs({ maxUploadBytes: 10 * 1024 ** 3, uploadMinBytesPerSecond: 1024 ** 2 }),
    ).toBe(10_240_000);
  });
});
