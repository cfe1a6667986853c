export { qaPlugin, qaPlugin as default } from './plugin.js';
export type { QaConfig } from './config.js';
export { qaConfigSchema } from './config.js';
export * from './tasks.js';
