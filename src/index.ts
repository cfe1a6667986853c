/**
 * The public API of `hbi-platform` for plugin authors: what a plugin outside this repository may import
 * (package `exports` "."), and all that the built-in plugins import (a lint rule keeps `src/plugins` off
 * `src/core`). Everything else under `src/core` is internal and may change without notice. The
 * conformance suite plugins should pass lives at `hbi-platform/testing`.
 */
// type-graphql's decorators (QueryWarning here, a plugin's own types) need the metadata polyfill first.
import 'reflect-metadata';

export type {
  AnyTask,
  HbiPlugin,
  PluginContext,
  PluginDefinition,
  PluginServices,
  ResolverClass,
  TaskContext,
  TaskDefinition,
  TaskInput,
  TaskItem,
  TaskOutcome,
  TaskOutput,
  TaskRunner,
  Teardown,
} from './core/plugins/define-plugin.js';
export { definePlugin, defineTask, handleEach, isPlugin } from './core/plugins/define-plugin.js';
export type { CacheEntry, ResultCache } from './core/plugins/result-cache.js';
export { MAX_CACHE_KEY_LENGTH } from './core/plugins/result-cache.js';

export type { ErrorCode, HbiErrorOptions } from './core/errors.js';
export { ERROR_CODES, HbiError, isHbiError, toHbiError } from './core/errors.js';

export type { GatewayContext } from './core/gateway/context.js';
export { requirePluginContext } from './core/gateway/context.js';
export type {
  MediaLinks,
  SegmentMediaLinks,
  SegmentMediaRef,
  VideoMediaLinks,
} from './core/media/media-links.js';
export type { TextReading } from './core/gateway/query-warning.js';
export { QueryWarning, QueryWarningCode, textWarnings } from './core/gateway/query-warning.js';
export { PageInfo } from './core/gateway/connections.js';
export { selectsAnyField } from './core/gateway/selection.js';

export type {
  GroupCandidate,
  GroupMember,
  GroupMembersQuery,
  NearestQuery,
  SegmentCandidate,
  SegmentFilters,
  SegmentFrames,
  SegmentScope,
  SegmentStore,
} from './core/segments/vector-store.js';
export { scopeOf } from './core/segments/vector-store.js';

export type {
  EncoderState,
  FrameTensors,
  HostTensor,
  SharedEncoder,
  TensorData,
  TensorMap,
  TextEncoding,
  VideoEncoding,
  WordTensors,
} from './core/encoder/types.js';
export type { GraphName } from './core/config.js';
export type { LogFields, Logger } from './core/logger.js';
export type { ModelManifest } from './core/model/manifest.js';

export type { Policy as PolicyName, Principal, Role } from './core/auth/principal.js';
export { Policy } from './core/auth/policy.js';
export type { CostFunction } from './core/gateway/cost.js';
export { Cost, numberArg, pluginSettings } from './core/gateway/cost.js';
export { isUuid } from './core/util/ids.js';
export { checkText } from './core/util/text-input.js';
export { mapConcurrent } from './core/util/map-concurrent.js';
