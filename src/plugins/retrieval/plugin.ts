/**
 * The `retrieval` plugin: text → segment search over the shared encoder's embeddings with HBI
 * re-ranking, and segment → text ranking. It needs the `text` graph (queries) and the `interaction`
 * graph (re-rank). Its work runs as tasks, so a cluster gateway can hand it to a worker.
 */
import { definePlugin } from 'hbi-platform';

import type { RetrievalConfig } from './config.js';
import { retrievalConfigSchema } from './config.js';
import { PLUGIN_NAME } from './name.js';
import { RetrievalResolver } from './retrieval.resolver.js';
import { rankTextsTask, searchTask } from './tasks.js';

export const retrievalPlugin = definePlugin<RetrievalConfig>({
  name: PLUGIN_NAME,
  version: '0.2.0',
  resolvers: [RetrievalResolver],
  requiredGraphs: ['text', 'interaction'],
  configSchema: retrievalConfigSchema,
  tasks: [searchTask, rankTextsTask],
});
