/** `hbi schema`: prints the GraphQL SDL that schema/schema.graphql must match. */
import { buildGatewaySchema, printGatewaySchema } from '../../core/gateway/schema.js';
import { BUILTIN_PLUGINS } from '../../plugins/builtins.js';
import type { Command } from '../args.js';

export const schemaCommand: Command = {
  name: 'schema',
  summary: 'Print the GraphQL schema (SDL) of the built-in plugins; schema/schema.graphql must match it',
  usage: 'hbi schema',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(_args, io) {
    const { schema } = await buildGatewaySchema(BUILTIN_PLUGINS);
    io.stdout.write(printGatewaySchema(schema));
    return 0;
  },
};
