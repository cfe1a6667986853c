/**
 * The `captioning` plugin: video captioning over the shared encoder's stored frame tokens with the
 * package's `caption` head; the decoding loop (greedy or beam) runs here in TypeScript. Captions are
 * cached in the plugin's result cache.
 */
import { definePlugin } from 'hbi-platform';

import { CaptioningResolver } from './captioning.resolver.js';
import type { CaptioningConfig } from './config.js';
import { captioningConfigSchema } from './config.js';
import { PLUGIN_NAME } from './name.js';
import { captionTask } from './tasks.js';

export const captioningPlugin = definePlugin<CaptioningConfig>({
  name: PLUGIN_NAME,
  version: '0.1.0',
  resolvers: [CaptioningResolver],
  requiredGraphs: ['caption'],
  configSchema: captioningConfigSchema,
  tasks: [captionTask],
});
