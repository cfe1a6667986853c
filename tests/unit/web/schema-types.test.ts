/**
 * The web console's GraphQL types (web/src/graphql-env.d.ts, read by gql.tada) must describe the
 * committed schema: after a schema change, `npm run schema:emit` rewrites both. A stale file would let
 * the console type-check against fields the server no longer has.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/fixtures.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe("the web console's schema types", () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    temp = await tempDir('hbi-web-types-');
  });
  afterAll(() => temp?.cleanup());

  it('match schema/schema.graphql (regenerate with npm run web:types)', async () => {
    const output = path.join(temp.dir, 'graphql-env.d.ts');
    await promisify(execFile)(
      'npx',
      ['--no-install', 'gql.tada', 'generate-output', '--tsconfig', 'web/tsconfig.json', '--output', output],
      { cwd: ROOT },
    );
    const committed = await readFile(path.join(ROOT, 'web/src/graphql-env.d.ts'), 'utf8');
    expect(
      committed === (await readFile(output, 'utf8')),
      'web/src/graphql-env.d.ts is stale: run npm run web:types',
    ).toBe(true);
  });
});
