import 'reflect-metadata';

import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { buildGatewaySchema, printGatewaySchema } from '../../../src/core/gateway/schema.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';

describe('schema/schema.graphql', () => {
  it('is the SDL the code emits (regenerate with `npm run schema:emit`)', async () => {
    const { schema } = await buildGatewaySchema(BUILTIN_PLUGINS);
    const committed = await readFile(new URL('../../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(printGatewaySchema(schema)).toBe(committed);
  });
});
