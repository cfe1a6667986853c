/**
 * The public API of `hbi-platform` for plugin authors: what a plugin outside this repository may import
 * (package `exports` "."). Everything else under `src/core` is internal and may change without notice.
 * The conformance suite plugins should pass lives at `hbi-platform/testing`.
 */
// type-graphql's decorators (QueryWarning here, a plugin's own types) need the metadata polyfill first.
import 'reflect-metadata';

export type {
  HbiPlugin,
  PluginContext,
  PluginDefinition,
  PluginServices,
  ResolverClass,
  TaskHandler,
  TaskItem,
  TaskOutcome,
  Teardown,
} from './core/plugins/define-plugin.js';
export { definePlugin, defineTask, handleEach, isPlugin } from './core/plugins/define-plugin.js';

export type { ErrorCode, HbiErrorOptions } from './core/errors.js';
export { ERROR_CODES, HbiError, isHbiError, toHbiError } from './core/errors.js';

export type { GatewayContext } from './core/gateway/context.js';
export { requirePluginContext } from './core/gateway/context.js';
export type { TextReading } from './core/gateway/query-warning.js';
export { QueryWarning, QueryWarningCode, textWarnings } from './core/gateway/query-warning.js';

export type { SegmentFrames, SegmentScope } from './core/segments/segment-frames.js';
export { loadSegmentFrames } from './core/segments/segment-frames.js';

export type {
  EncoderState,
  HostTensor,
  SharedEncoder,
  TensorData,
  TensorMap,
  TextEncoding,
  VideoEncoding,
} from './core/encoder/types.js';
export type { GraphName } from './core/config.js';
export type { Database, QueryResult, Queryable } from './core/db/port.js';
export type { EventBus, EventMessage, OutgoingMessage, Subscription } from './core/events/port.js';
export type { LogFields, Logger } from './core/logger.js';
export type { ModelManifest } from './core/model/manifest.js';
export type { ObjectStore } from './core/storage/port.js';

/** How stored vectors and frame tensors are encoded in `segment_embeddings` (pgvector text, float32 bytes). */
export { bytesToFloat32, float32ToBytes, toVectorLiteral } from './core/ingest/vectors.js';
