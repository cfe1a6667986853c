/**
 * The `moment-localisation` plugin, written as an outside package would write it: it imports only the
 * public API (`hbi-platform`), and reaches the shared encoder and the indexed segments (bound to the
 * request's tenant) through its task context.
 * It needs the `text` graph (the query) and the `interaction` graph (per-segment scores).
 */
import { definePlugin } from 'hbi-platform';

import type { MomentConfig } from './config.js';
import { momentConfigSchema } from './config.js';
import { MomentResolver } from './moment.resolver.js';
import { PLUGIN_NAME } from './name.js';
import { localiseTask } from './tasks.js';

export { localiseTask, localiseTaskInput } from './tasks.js';

export const momentLocalisationPlugin = definePlugin<MomentConfig>({
  name: PLUGIN_NAME,
  version: '0.1.0',
  resolvers: [MomentResolver],
  requiredGraphs: ['text', 'interaction'],
  configSchema: momentConfigSchema,
  tasks: [localiseTask],
});
