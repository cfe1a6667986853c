import { createRequire } from 'node:module';

import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// One project per test tier so `npm test` can run them separately and report each.
export default defineConfig({
  resolve: {
    // type-graphql (CommonJS) loads graphql's CommonJS entry; pin every import to it so one copy of
    // graphql exists (otherwise: "Cannot use GraphQLObjectType from another module or realm").
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
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
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
