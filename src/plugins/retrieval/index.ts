export { retrievalPlugin, retrievalPlugin as default } from './plugin.js';
export type { RetrievalConfig } from './config.js';
export { retrievalConfigSchema } from './config.js';
export * from './tasks.js';
export type { RankedSegment, SearchOutcome } from './search.js';
export type { RankedTextResult } from './rank-texts.js';
