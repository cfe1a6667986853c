export { retrievalPlugin, retrievalPlugin as default } from './plugin.js';
export type { RetrievalConfig } from './config.js';
export { retrievalConfigSchema } from './config.js';
