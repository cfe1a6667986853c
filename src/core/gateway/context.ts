/**
 * What every GraphQL resolver receives as its context: read-only views of the shared services, never
 * the concrete adapters' singletons. Plugin resolvers reach their own plugin context through
 * `pluginContext(name)`, so they see exactly what their `setup` saw.
 */
import type { ApiKeyStore } from '../auth/api-keys.js';
import type { AuditLog } from '../auth/audit-log.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { HbiError } from '../errors.js';
import type { SharedEncoder } from '../encoder/types.js';
import type { DeadLetter } from '../events/port.js';
import type { LibraryServices } from '../library/library.js';
import type { Logger } from '../logger.js';
import type { MediaLinks, MediaService } from '../media/media-links.js';
import type { ModelPackage } from '../model/package-loader.js';
import type { HbiPlugin, PluginContext, TaskRunner } from '../plugins/define-plugin.js';
import type { TaskDispatcher } from '../tasks/port.js';
import { redact } from '../util/redact.js';
import type { BrowserGuardSettings } from './browser-guards.js';

/** The services the gateway is built from; one object per process, shared by every request. */
export interface GatewayServices {
  /** The limits, introspection, and the browser guards' lists (absent ones take their defaults: `browser-guards.ts`). */
  config: Pick<
    Config,
    'maxPageSize' | 'maxQueryDepth' | 'maxQueryComplexity' | 'maxRequestBytes' | 'introspection'
  > &
    // Absent: the configuration's defaults (config.ts).
    Partial<
      Pick<
        Config,
        | 'maxQueryTokens'
        | 'rateKeyCostPerMinute'
        | 'rateTenantCostPerMinute'
        | 'rateAnonymousCostPerMinute'
        | 'maxInFlightTasks'
        | 'maxWaitingTasks'
        | 'maxTaskWaitMs'
      >
    > &
    Partial<Pick<Config, 'maxUploadBytes' | 'uploadMinBytesPerSecond'>> &
    BrowserGuardSettings;
  logger: Logger;
  encoder: Pick<SharedEncoder, 'state' | 'modelId' | 'graphs'>;
  modelPackage: Pick<ModelPackage, 'manifest' | 'id' | 'graphs'>;
  plugins: readonly HbiPlugin[];
  /** The started plugin's context (its config, bound logger, shared services). */
  pluginContext(name: string): PluginContext | undefined;
  /**
   * Where work goes: in-process handlers embedded, worker processes in a cluster. Resolvers use the
   * request's `tasks` (bound to its tenant) instead of calling `run` here.
   */
  tasks: Pick<TaskDispatcher, 'run' | 'kinds' | 'health'>;
  /** Videos, segments, cameras and jobs: lookups, ingest requests, uploads, progress streams. */
  library: LibraryServices;
  /**
   * The principal of an `Authorization` header value (`Bearer <API key or token>`): null when there is
   * none, UNAUTHENTICATED when one is given but not valid.
   */
  authenticate(authorization: string | undefined): Promise<Principal | null>;
  /** API keys of a tenant (admins manage their own tenant's keys). */
  keys: Pick<ApiKeyStore, 'create' | 'list' | 'revoke' | 'isActive'>;
  /**
   * Thumbnails, posters and playback: signs the URLs the media fields hand out and checks them at
   * `/media/<token>`. Absent: every media field reads null and the route answers 404.
   */
  media?: Pick<MediaService, 'forTenant' | 'open'>;
  /** Key changes, deletes and re-indexes, readable by admins. */
  audit: Pick<AuditLog, 'record' | 'list'>;
  /** What consumers gave up on, per event topic (the `deadLetters` query); absent when the bus keeps none. */
  deadLetters?: {
    topics: readonly string[];
    list(topic: string, limit: number): Promise<DeadLetter[]>;
  };
}

/** The per-request GraphQL context. */
export interface GatewayContext {
  services: GatewayServices;
  /** Who is calling (an API key or a verified token), or null: then only `public` fields answer. */
  principal: Principal | null;
  /** The tenant this request acts for: the principal's (NO_TENANT, which owns nothing, without one). */
  tenantId: string;
  /**
   * Runs plugin tasks for this request: `tasks.run(searchTask, input)`, typed by the task handle and
   * bound to `tenantId` (resolvers cannot name another tenant).
   */
  tasks: TaskRunner;
  /**
   * Media URLs (thumbnails, posters, playback) of this request's tenant's videos; bound to `tenantId`
   * like `tasks`, so a resolver (a plugin's too) cannot sign another tenant's object.
   */
  media: MediaLinks;
  /** Correlates this request's log lines. */
  requestId: string;
  /** The client's address (and browser Origin, when one was sent), for the audit log's "from where". */
  source?: string;
  /** The client's network address (the rate limit of requests without credentials). */
  client?: string;
  /** `scheme://host[:port]` the client reached this server at (its Host header), for URLs handed back. */
  origin?: string;
}

/** A plugin resolver's way to its context; throws INTERNAL when the plugin was never started. */
export function requirePluginContext<T>(context: GatewayContext, plugin: string): PluginContext<T> {
  const found = context.services.pluginContext(plugin);
  if (!found) throw new HbiError('INTERNAL', `Plugin "${plugin}" is not started`);
  return found as PluginContext<T>;
}

/** Readiness as probes and the `health` query report it: a warm encoder and, in a cluster, a usable task bus. */
export function readiness(services: Pick<GatewayServices, 'encoder' | 'tasks'>): {
  ready: boolean;
  encoder: string;
  taskBus: string | null;
  reason?: string;
} {
  const encoder = services.encoder.state.status;
  const bus = services.tasks.health?.();
  const ready = encoder === 'ready' && (bus?.ok ?? true);
  return {
    ready,
    encoder,
    taskBus: bus === undefined ? null : bus.ok ? 'connected' : 'unreachable',
    ...(bus && !bus.ok && bus.reason ? { reason: redact(bus.reason) } : {}),
  };
}
