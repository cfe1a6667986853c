/** The plugins shipped with the platform, in registration order (HBI_PLUGINS adds more after them). */
import type { HbiPlugin } from 'hbi-platform';

import { captioningPlugin } from './captioning/index.js';
import { qaPlugin } from './qa/index.js';
import { retrievalPlugin } from './retrieval/index.js';

export const BUILTIN_PLUGINS: readonly HbiPlugin[] = [retrievalPlugin, qaPlugin, captioningPlugin];
