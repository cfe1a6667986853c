export { captioningPlugin, captioningPlugin as default } from './plugin.js';
export type { CaptioningConfig } from './config.js';
export { captioningConfigSchema } from './config.js';
export * from './tasks.js';
