// Lint rules: the recommended type-aware sets, with formatting left to prettier.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // src/generated: Prisma Client, written by `npm run db:generate` (checked by tests/unit/db/prisma-client.test.ts).
    ignores: [
      'dist/',
      '**/dist/',
      'node_modules/',
      'model/',
      'models/',
      'data/',
      'coverage/',
      '**/*.cjs',
      'src/generated/',
      // The web console's schema types, written by `npm run web:types` (gql.tada) from schema/schema.graphql.
      'web/src/graphql-env.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // type-graphql resolvers and plugin constructors are classes passed around as values.
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    files: ['tests/**/*.ts'],
    rules: {
      // Test doubles often implement async interfaces without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Tests poke at JSON fixtures (manifests) whose shape they are deliberately breaking.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // GraphQL responses are inspected as loose JSON.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The plugin boundary: a plugin (built-in or outside) imports the package's public API, `hbi-platform`,
    // never the kernel's modules, so each built-in could be written outside this repository.
    files: ['src/plugins/**/*.ts', 'examples/plugins/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // The kernel's modules, and anything outside the plugin's own folder (src/, the test kit, the CLI).
              group: ['**/core', '**/core/**', '../../**'],
              message:
                "Plugins import only the public API: import { … } from 'hbi-platform' (src/index.ts exports what plugins may use).",
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', WebAssembly: 'readonly' },
    },
  },
  prettier,
);
