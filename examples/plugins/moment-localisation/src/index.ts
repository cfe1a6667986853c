export {
  momentLocalisationPlugin,
  momentLocalisationPlugin as default,
  localiseTask,
  localiseTaskInput,
} from './plugin.js';
export type { MomentConfig } from './config.js';
export type { CurvePoint, LocaliseInput, MomentResult } from './localise.js';
