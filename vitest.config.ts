import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// One project per test tier so `npm test` can run them separately and report each.
export default defineConfig({
  resolve: {
    // type-graphql (CommonJS) loads graphql's CommonJS entry; pin every import to it so one copy of
    // graphql exists (otherwise: "Cannot use GraphQLObjectType from another module or realm").
    alias: [
      { find: /^graphql$/, replacement: require.resolve('graphql') },
      // Plugins outside src (examples/plugins) import the public entries by package name: one copy of core.
      { find: /^hbi-platform$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      {
        find: /^hbi-platform\/testing$/,
        replacement: fileURLToPath(new URL('./src/testing/conformance.ts', import.meta.url)),
      },
    ],
  },
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
      {
        extends: true,
        test: {
          // The adapters against the real services of infra/ (scripts/test.sh starts them first).
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          // One file at a time: each starts a platform and drives ffmpeg, and the parity file ingests
          // 200 clips; side by side on 2 cores they starve the real-time camera stream.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
