/**
 * The `qa` plugin: video question answering over the shared encoder. The question goes through the
 * `text` graph, each segment's stored frame tokens and the question's word tokens through the `qa`
 * head; whole videos aggregate their segments (see answer.ts). Answers are cached in the plugin's
 * result cache.
 */
import { definePlugin } from 'hbi-platform';

import type { QaConfig } from './config.js';
import { qaConfigSchema } from './config.js';
import { PLUGIN_NAME } from './name.js';
import { QaResolver } from './qa.resolver.js';
import { answerTask } from './tasks.js';

export const qaPlugin = definePlugin<QaConfig>({
  name: PLUGIN_NAME,
  version: '0.1.0',
  resolvers: [QaResolver],
  requiredGraphs: ['text', 'qa'],
  configSchema: qaConfigSchema,
  tasks: [answerTask],
});
