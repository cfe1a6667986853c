/**
 * The whole embedded process in one call: kernel (shared services), plugin registry (built-ins plus
 * HBI_PLUGINS), task dispatcher, video library, GraphQL gateway. Start order is kernel → required
 * graphs checked → plugins set up → task dispatcher → video library (jobs, ingest worker) → schema
 * built → server listening; stop runs the reverse. Any failure stops what already started.
 *
 * Role `gateway` (cluster mode) is the same API without inference: no ONNX sessions, plugins are not
 * set up (only their resolvers and task input schemas are used), tasks go to workers over Kafka
 * (`tasks/kafka.ts`) and ingest jobs are left to the workers' consumer group. Role `worker` is
 * `worker.ts`.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { ApiKeyStore, bootstrapAdminKey } from './auth/api-keys.js';
import { AuditLog } from './auth/audit-log.js';
import { createAuthenticator } from './auth/authenticator.js';

import type { Config } from './config.js';
import { refuseWhenDatabaseBusy } from './db/outage.js';
import { HbiError } from './errors.js';
import type { EventBus } from './events/port.js';
import type { Gateway } from './gateway/http-server.js';
import { startGateway } from './gateway/http-server.js';
import { objectStoreOrigin } from './gateway/console-route.js';
import type { GatewayServices } from './gateway/context.js';
import type { GatewayPubSub } from './gateway/schema.js';
import { buildGatewaySchema } from './gateway/schema.js';
import { forwardVideoEvents } from './gateway/video-events.resolver.js';
import { JOB_QUEUED, SEGMENT_INDEXED, VIDEO_DELETED, VIDEO_INDEXED } from './ingest/ingest-events.js';
import { JOB_UPDATED } from './jobs/job-store.js';
import { startLibrary } from './library/library.js';
import type { Kernel } from './kernel.js';
import { bootKernel } from './kernel.js';
import { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { HbiPlugin } from './plugins/define-plugin.js';
import { loadPlugins } from './plugins/load-plugins.js';
import type { PluginRegistry } from './plugins/registry.js';
import { bindResultCache } from './plugins/result-cache.js';
import { InProcessTaskDispatcher } from './tasks/in-process.js';
import { KafkaTaskDispatcher } from './tasks/kafka.js';
import type { TaskDispatcher } from './tasks/port.js';
import type { Library } from './library/library.js';
import { DEFAULT_TENANT_ID } from './tenancy.js';

export interface PlatformOptions {
  /** Plugins shipped with the platform (src/plugins), registered before HBI_PLUGINS. */
  builtins: readonly HbiPlugin[];
  /** `all` (default): gateway and worker in one process; `gateway`: API only, tasks sent to workers. */
  role?: 'all' | 'gateway';
}

export interface Platform {
  kernel: Kernel;
  registry: PluginRegistry;
  gateway: Gateway;
  pubSub: GatewayPubSub;
  /** Runs plugin tasks (`qa.answer`, …); in-process here, the same port a cluster gateway uses. */
  tasks: TaskDispatcher;
  /** Videos, segments, cameras and jobs, with the ingest worker running in this process. */
  library: Library;
  /**
   * The default tenant's admin key when this start created it (the installation's first start,
   * embedded mode): shown once, and written to `<data dir>/admin-key` (mode 0600).
   */
  adminKey?: string;
  /** Stops server, plugins and kernel, in that order; safe to call twice. */
  stop(): Promise<void>;
}

/** Boots everything `hbi serve` runs; throws the first typed failure after cleaning up. */
export async function startPlatform(
  config: Config,
  logger: Logger,
  options: PlatformOptions,
): Promise<Platform> {
  if (options.role === 'gateway') return startGatewayRole(config, logger, options);
  const life = new Lifecycle(logger, { stopTimeoutMs: config.shutdownTimeoutMs });
  const kernel = await life.add(
    'kernel',
    () => bootKernel(config, logger),
    (k) => k.stop(),
  );
  const registry = await life.add(
    'plugins',
    () => startPlugins(config, logger, kernel, options.builtins),
    (r) => r.stop(),
  );
  const dispatcher = await startInProcessDispatcher(life, registry, logger);
  const library = await life.add(
    'library',
    () => startLibrary(kernel),
    (l) => l.stop(),
  );
  const adminKey = await life.add('admin key', () => firstAdminKey(config, kernel));
  const { gateway, pubSub } = await serveGateway(life, config, logger, kernel, {
    plugins: registry.plugins,
    pluginContext: (name) => registry.context(name),
    tasks: dispatcher,
    library,
    media: library.media,
  });
  return {
    kernel,
    registry,
    gateway,
    pubSub,
    tasks: dispatcher,
    library,
    ...(adminKey ? { adminKey } : {}),
    stop: () => life.stop(),
  };
}

/** A cluster gateway: the API, uploads and dispatch; inference and ingest happen on workers. */
async function startGatewayRole(config: Config, logger: Logger, options: PlatformOptions): Promise<Platform> {
  requireClusterAdapters(config, 'gateway');
  const life = new Lifecycle(logger, { stopTimeoutMs: config.shutdownTimeoutMs });
  const kernel = await life.add(
    'kernel',
    () => bootKernel(config, logger, { inference: false }),
    (k) => k.stop(),
  );
  // Plugins are set up on workers only: here their resolvers and task input schemas are used.
  const registry = await life.add('plugins', async () => {
    const loaded = await loadPlugins({ builtins: options.builtins, external: config.plugins });
    loaded.checkRequiredGraphs(kernel.modelPackage.graphs);
    return loaded;
  });
  const handlers = new Map(
    registry.plugins.flatMap((plugin) => plugin.tasks ?? []).map((task) => [task.kind, task]),
  );
  const dispatcher = await life.add(
    'task dispatcher',
    () =>
      KafkaTaskDispatcher.start({
        ...kafkaTaskBusSettings(config),
        defaultTimeoutMs: config.taskTimeoutMs,
        kinds: [...handlers.keys()],
        inputSchema: (kind) => handlers.get(kind)?.input,
        logger: logger.child({ component: 'tasks' }),
      }),
    (d) => d.close(),
  );
  const library = await life.add(
    'library',
    () => startLibrary(kernel, { worker: false }),
    (l) => l.stop(),
  );
  const { gateway, pubSub } = await serveGateway(life, config, logger, kernel, {
    plugins: registry.plugins,
    pluginContext: () => undefined,
    tasks: dispatcher,
    library,
    media: library.media,
  });
  return { kernel, registry, gateway, pubSub, tasks: dispatcher, library, stop: () => life.stop() };
}

/** Where the first start writes the default tenant's admin key, and where `hbi` looks for it. */
export function adminKeyFile(dataDir: string): string {
  return path.join(dataDir, 'admin-key');
}

/**
 * The first start of an embedded installation: the default tenant and, when it has no key yet, an admin
 * key, written to `<data dir>/admin-key` (0600) for the `hbi` command. Returns the key when created.
 */
async function firstAdminKey(config: Config, kernel: Kernel): Promise<string | undefined> {
  const created = await bootstrapAdminKey(kernel.db, new ApiKeyStore(kernel.db), DEFAULT_TENANT_ID);
  if (!created) return undefined;
  const file = adminKeyFile(config.dataDir);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${created.token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return created.token;
}

/** Loads the plugins (built-ins, then HBI_PLUGINS), checks their graphs and sets them up on the kernel. */
export async function startPlugins(
  config: Config,
  logger: Logger,
  kernel: Kernel,
  builtins: readonly HbiPlugin[],
): Promise<PluginRegistry> {
  const registry = await loadPlugins({ builtins, external: config.plugins });
  registry.checkRequiredGraphs(kernel.modelPackage.graphs);
  await registry.start(
    {
      encoder: kernel.encoder,
      logger: logger.child({ component: 'plugins' }),
      model: kernel.modelPackage.manifest,
      modelVersion: kernel.modelVersion,
    },
    config.pluginConfig,
    {
      segments: (tenantId) => kernel.vectors.forTenant(tenantId),
      cache: (plugin, tenantId) =>
        bindResultCache(kernel.db, { tenantId, plugin, modelVersionId: kernel.modelVersion.id }),
    },
  );
  return registry;
}

/** The dispatcher that runs the started plugins' tasks in this process (embedded mode, and behind a worker's Kafka consumer). */
export function startInProcessDispatcher(
  life: Lifecycle,
  registry: PluginRegistry,
  logger: Logger,
): Promise<InProcessTaskDispatcher> {
  return life.add(
    'task dispatcher',
    () =>
      new InProcessTaskDispatcher({
        route: (kind) => registry.taskHandler(kind),
        kinds: taskKinds(registry.plugins),
        logger: logger.child({ component: 'tasks' }),
      }),
    (d) => d.close(),
  );
}

/** Every task kind of `plugins`, in registration order. */
export function taskKinds(plugins: readonly HbiPlugin[]): string[] {
  return plugins.flatMap((plugin) => (plugin.tasks ?? []).map((task) => task.kind));
}

/** Where the cluster's task traffic lives (shared by gateways and workers). */
export function kafkaTaskBusSettings(config: Config) {
  return {
    brokers: config.kafkaBrokers ?? [],
    clientId: config.kafkaClientId,
    topicPrefix: config.kafkaTopicPrefix,
    partitions: config.kafkaPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    sessionTimeoutMs: config.kafkaSessionTimeoutMs,
  };
}

/**
 * Gateways and workers are separate processes that must share one database, one bus and one object
 * store: PGlite and the in-process bus belong to a single process, so those roles refuse to start
 * on them. CONFIG_INVALID names what is missing.
 */
export function requireClusterAdapters(config: Config, role: string): void {
  const missing = [
    config.databaseUrl ? undefined : 'DATABASE_URL',
    config.kafkaBrokers && config.kafkaBrokers.length > 0 ? undefined : 'KAFKA_BROKERS',
    config.objectStoreUrl ? undefined : 'HBI_OBJECT_STORE_URL',
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0) {
    throw new HbiError(
      'CONFIG_INVALID',
      `Role ${role} runs beside other processes and needs the shared services: set ${missing.join(', ')} ` +
        '(bash infra/up.sh && source .cache/infra/env)',
      { details: { missing } },
    );
  }
}

/** The GraphQL schema of `plugins`, video events forwarded to its subscriptions, and the HTTP/WS server. */
async function serveGateway(
  life: Lifecycle,
  config: Config,
  logger: Logger,
  kernel: Kernel,
  parts: Pick<GatewayServices, 'plugins' | 'pluginContext' | 'tasks' | 'library' | 'media'>,
) {
  const { schema, pubSub } = await life.add('schema', () => buildGatewaySchema(parts.plugins));
  const keys = new ApiKeyStore(kernel.db);
  const authenticator = await life.add('authentication', () => createAuthenticator(keys, config));
  await life.add(
    'subscription events',
    () => forwardVideoEvents(kernel.events, pubSub, `gateway-${randomUUID()}`),
    (forwarding) => forwarding.stop(),
  );
  const gateway = await life.add(
    'gateway',
    () =>
      startGateway({
        schema,
        host: config.host,
        port: config.port,
        // Presigned media and upload URLs point at the S3 store itself: the console may reach it.
        objectStoreOrigins: [objectStoreOrigin(config.objectStoreUrl)].filter(
          (origin): origin is string => origin !== undefined,
        ),
        services: {
          config,
          logger: logger.child({ component: 'gateway' }),
          encoder: kernel.encoder,
          modelPackage: kernel.modelPackage,
          // A key is checked in the database: while its pool is swamped, refuse at the door (429).
          authenticate: (authorization) => {
            if (authorization) refuseWhenDatabaseBusy(kernel.db, config.databaseMaxWaiting);
            return authenticator.authenticate(authorization);
          },
          keys,
          audit: new AuditLog(kernel.db, logger.child({ component: 'audit' })),
          ...deadLetterServices(config, kernel.events),
          ...parts,
        },
      }),
    (g) => g.stop(),
  );
  return { gateway, pubSub };
}

/** The `deadLetters` query's view of the bus: the platform's event topics (and bucket events, if any). */
function deadLetterServices(
  config: Pick<Config, 'objectEventsTopic'>,
  events: EventBus,
): Pick<GatewayServices, 'deadLetters'> {
  const listDeadLetters = events.listDeadLetters?.bind(events);
  if (!listDeadLetters) return {};
  const topics = [JOB_QUEUED, JOB_UPDATED, VIDEO_INDEXED, SEGMENT_INDEXED, VIDEO_DELETED];
  if (config.objectEventsTopic) topics.push(config.objectEventsTopic);
  return { deadLetters: { topics, list: (topic, limit) => listDeadLetters(topic, { limit }) } };
}
