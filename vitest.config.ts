import { defineConfig } from 'vitest/config';

// One project per test tier so `npm test` can run them separately and report each.
export default defineConfig({
  test: {
    // Native addons (onnxruntime-node) and child processes behave best in forked workers.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          // Generous because PGlite (WebAssembly PostgreSQL) takes seconds to start on a busy 2-core machine.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
