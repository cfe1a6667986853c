/**
 * Configuration, read once from the environment at start, validated, frozen, and handed to whoever
 * needs it. Nothing else in the codebase reads `process.env`. Every field is one row of `SETTINGS`
 * with its variable, default and a one-line doc; `.env.example` is rendered from that table and a
 * test keeps the committed file in sync.
 */
import { z } from 'zod';

import { HbiError } from './errors.js';
import { LOG_LEVELS } from './logger.js';
import { deepFreeze } from './util/deep-freeze.js';
import { DEFAULT_CONTAINERS } from './video/input-guard.js';

const GRAPH_NAMES = ['video', 'text', 'interaction', 'qa', 'caption'] as const;

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);
const optionalUrl = z.url().optional();
/** `scheme://host[:port]` as browsers send it in Origin, normalised (lower case, no default port). */
const origin = z.string().transform((value, ctx) => {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  const bare = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  if (bare && (url.protocol === 'http:' || url.protocol === 'https:')) return url.origin;
  ctx.addIssue({
    code: 'custom',
    message: `"${value}" is not an origin (http(s)://host[:port], no path; "*" is not allowed: list each origin)`,
  });
  return z.NEVER;
});
/** `host` or `host:port` as a Host header spells it (IPv6 in brackets), lower case. */
const hostName = z
  .string()
  .regex(/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/i, {
    message: 'must be host or host:port ("*" is not allowed: list each host)',
  })
  .transform((value) => value.toLowerCase());
const batchOverride = z.strictObject({
  maxBatchSize: positiveInt.optional(),
  maxDelayMs: nonNegativeInt.optional(),
  queueLimit: positiveInt.optional(),
});
const json = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

interface Setting<S extends z.ZodType = z.ZodType> {
  env: string;
  schema: S;
  /** The default as the environment would spell it; undefined means "unset" (embedded adapter). */
  default: string | undefined;
  doc: string;
}
const setting = <S extends z.ZodType>(env: string, schema: S, value: string | undefined, doc: string) =>
  ({ env, schema, default: value, doc }) satisfies Setting<S>;

/** Every setting: variable, schema, default, and why it exists. Order is the `.env.example` order. */
export const SETTINGS = {
  host: setting('HBI_HOST', z.string().min(1), '127.0.0.1', 'Interface the HTTP/WebSocket server binds to.'),
  port: setting(
    'HBI_PORT',
    z.coerce.number().int().min(0).max(65535),
    '4000',
    'TCP port of the GraphQL API (0 = any free port).',
  ),
  logLevel: setting('HBI_LOG_LEVEL', z.enum(LOG_LEVELS), 'info', 'Lowest log level written to stderr.'),
  dataDir: setting(
    'HBI_DATA_DIR',
    z.string().min(1),
    './data',
    'Folder for embedded state: PGlite database, object folder.',
  ),
  modelDir: setting(
    'HBI_MODEL_DIR',
    z.string().min(1),
    './models/hbi-synth-tiny',
    'Model package to load (folder holding manifest.json).',
  ),
  databaseUrl: setting(
    'DATABASE_URL',
    optionalUrl,
    undefined,
    'PostgreSQL URL; unset = embedded PGlite in <data dir>/db.',
  ),
  databasePoolSize: setting(
    'HBI_DATABASE_POOL_SIZE',
    positiveInt,
    '10',
    'Most PostgreSQL connections one process opens (when DATABASE_URL is set).',
  ),
  objectStoreUrl: setting(
    'HBI_OBJECT_STORE_URL',
    optionalUrl,
    undefined,
    'S3/MinIO endpoint; unset = local folder <data dir>/objects.',
  ),
  objectStoreBucket: setting(
    'HBI_OBJECT_STORE_BUCKET',
    z.string().min(3),
    'hbi-videos',
    'Bucket used when an object store URL is set.',
  ),
  objectStoreAccessKey: setting(
    'HBI_OBJECT_STORE_ACCESS_KEY',
    z.string().optional(),
    undefined,
    'Object store access key.',
  ),
  objectStoreSecretKey: setting(
    'HBI_OBJECT_STORE_SECRET_KEY',
    z.string().optional(),
    undefined,
    'Object store secret key.',
  ),
  objectStoreRegion: setting(
    'HBI_OBJECT_STORE_REGION',
    z.string().min(1),
    'us-east-1',
    'Object store region, for request signing and creating the bucket.',
  ),
  objectStorePartSizeBytes: setting(
    'HBI_OBJECT_STORE_PART_SIZE_BYTES',
    z.coerce
      .number()
      .int()
      .min(5 * 1024 ** 2),
    String(16 * 1024 ** 2),
    'Multipart upload part size (at least 5 MiB); smaller objects go up in one request.',
  ),
  kafkaBrokers: setting(
    'KAFKA_BROKERS',
    list.optional(),
    undefined,
    'Comma-separated Kafka brokers; unset = in-process bus.',
  ),
  kafkaClientId: setting('HBI_KAFKA_CLIENT_ID', z.string().min(1), 'hbi-platform', 'Kafka client id.'),
  kafkaPartitions: setting(
    'HBI_KAFKA_PARTITIONS',
    positiveInt,
    '6',
    'Partitions of each topic the platform creates: the most members of one consumer group that get work.',
  ),
  kafkaReplicationFactor: setting(
    'HBI_KAFKA_REPLICATION_FACTOR',
    positiveInt,
    '1',
    'Replicas of each topic the platform creates (at most the number of brokers).',
  ),
  kafkaTopicPrefix: setting(
    'HBI_KAFKA_TOPIC_PREFIX',
    z.string().regex(/^[A-Za-z0-9._-]*$/),
    '',
    'Prepended to every topic and consumer group the platform names (not the object-events topic): lets deployments or test runs share one Kafka cluster.',
  ),
  kafkaSessionTimeoutMs: setting(
    'HBI_KAFKA_SESSION_TIMEOUT_MS',
    z.coerce.number().int().min(6000),
    '30000',
    'A consumer silent this long (a crashed worker) loses its partitions to the rest of its group.',
  ),
  taskTimeoutMs: setting(
    'HBI_TASK_TIMEOUT_MS',
    positiveInt,
    '30000',
    'Cluster gateway: longest a task (search, answer, caption) waits for its worker before TIMEOUT (retriable).',
  ),
  shutdownTimeoutMs: setting(
    'HBI_SHUTDOWN_TIMEOUT_MS',
    positiveInt,
    '30000',
    'Longest a stop (SIGTERM) takes: parts still stopping after it are abandoned, named in the log, and the process exits.',
  ),
  jobStaleAfterMs: setting(
    'HBI_JOB_STALE_AFTER_MS',
    positiveInt,
    '900000',
    'Cluster (PostgreSQL): a QUEUED or RUNNING job unchanged this long is taken for lost (its process died) and queued again by the workers, at start and then periodically. Embedded mode re-queues every unfinished job at start.',
  ),
  databaseMaxWaiting: setting(
    'HBI_DB_MAX_WAITING',
    nonNegativeInt,
    '32',
    'Gateways: new requests are refused with RATE_LIMITED (HTTP 429, Retry-After) while more than this many database statements of the process wait for a pooled connection, instead of being let in to time out halfway (0 = never refuse).',
  ),
  databaseOutageWaitMs: setting(
    'HBI_DB_OUTAGE_WAIT_MS',
    positiveInt,
    '300000',
    'Workers: how long a job that lost its database (a restart, a fail-over) waits for it to answer again, probing every few seconds, before the job is run again; past it the delivery fails and the bus retries it.',
  ),
  objectEventsTopic: setting(
    'HBI_KAFKA_OBJECT_EVENTS_TOPIC',
    z.string().min(1).optional(),
    undefined,
    "Workers: Kafka topic carrying the object store's bucket notifications; unset = not consumed.",
  ),
  objectEventsPrefix: setting(
    'HBI_OBJECT_EVENTS_PREFIX',
    z.string().min(1),
    'videos/',
    'Objects created under this key prefix (by any system) are ingested when bucket notifications arrive.',
  ),
  workerHealthPort: setting(
    'HBI_WORKER_HEALTH_PORT',
    z.coerce.number().int().min(0).max(65535),
    '4100',
    "TCP port of a worker process's /health/live and /health/ready (0 = any free port).",
  ),
  executionProviders: setting(
    'HBI_EXECUTION_PROVIDERS',
    list.pipe(z.array(z.string().min(1)).min(1)),
    'cpu',
    'ONNX Runtime execution providers in order of preference (e.g. cuda,cpu); cpu is always the fallback.',
  ),
  intraOpThreads: setting(
    'HBI_INTRA_OP_THREADS',
    nonNegativeInt,
    '0',
    'Threads per ONNX Runtime session (0 = runtime default).',
  ),
  onnxSpinning: setting(
    'HBI_ONNX_SPINNING',
    z.enum(['true', 'false']).transform((value) => value === 'true'),
    'false',
    "Whether ONNX Runtime's worker threads spin (busy-wait) between runs. Off: they sleep, leaving the cores to ffmpeg and the database (spinning burned about 7 times the CPU of the encoder's own work between segments in ingest); on can lower latency on a machine with idle cores.",
  ),
  gpuProbeTimeoutMs: setting(
    'HBI_GPU_PROBE_TIMEOUT_MS',
    positiveInt,
    '60000',
    'How long the child-process probe of a GPU provider may take before it counts as failed.',
  ),
  batchMaxSize: setting('HBI_BATCH_MAX_SIZE', positiveInt, '16', 'Largest batch the encoder runs per graph.'),
  batchMaxDelayMs: setting(
    'HBI_BATCH_MAX_DELAY_MS',
    nonNegativeInt,
    '5',
    'Longest a request waits for companions before a partial batch runs.',
  ),
  queueLimit: setting(
    'HBI_QUEUE_LIMIT',
    positiveInt,
    '1024',
    'Requests waiting per graph before new ones are refused (ENCODER_OVERLOADED).',
  ),
  batchOverrides: setting(
    'HBI_BATCH_OVERRIDES',
    json(z.partialRecord(z.enum(GRAPH_NAMES), batchOverride)),
    '{}',
    'Per-graph overrides as JSON, e.g. {"video":{"maxBatchSize":4,"maxDelayMs":20}}.',
  ),
  ffmpegPath: setting(
    'HBI_FFMPEG_PATH',
    z.string().min(1).optional(),
    undefined,
    'ffmpeg binary; unset = system ffmpeg on PATH, else the one shipped by npm.',
  ),
  ffprobePath: setting(
    'HBI_FFPROBE_PATH',
    z.string().min(1).optional(),
    undefined,
    'ffprobe binary; unset = system ffprobe, else probing parses `ffmpeg -i`.',
  ),
  maxUploadBytes: setting(
    'HBI_MAX_UPLOAD_BYTES',
    positiveInt,
    String(2 * 1024 ** 3),
    'Largest video file accepted, in bytes.',
  ),
  uploadMinBytesPerSecond: setting(
    'HBI_UPLOAD_MIN_BYTES_PER_SECOND',
    positiveInt,
    String(256 * 1024),
    "Slowest upload PUT served to the end: a request may take HBI_MAX_UPLOAD_BYTES at this rate (at least 5 minutes) before the server drops it (Node's request timeout).",
  ),
  maxVideoSeconds: setting(
    'HBI_MAX_VIDEO_SECONDS',
    positiveInt,
    String(4 * 3600),
    'Longest video accepted, in seconds.',
  ),
  maxVideoWidth: setting('HBI_MAX_VIDEO_WIDTH', positiveInt, '7680', 'Widest video accepted, in pixels.'),
  maxVideoHeight: setting('HBI_MAX_VIDEO_HEIGHT', positiveInt, '4320', 'Tallest video accepted, in pixels.'),
  allowedContainers: setting(
    'HBI_ALLOWED_CONTAINERS',
    list,
    DEFAULT_CONTAINERS.join(','),
    'Accepted container formats (ffmpeg demuxer names); ffprobe and ffmpeg may open no other demuxer, and never a playlist or list (hls, concat, image2, sdp, dash …).',
  ),
  allowedCodecs: setting(
    'HBI_ALLOWED_CODECS',
    list,
    'h264,hevc,vp8,vp9,av1,mpeg4,mjpeg',
    'Accepted video codecs (ffmpeg decoder names).',
  ),
  segmentWindowMs: setting(
    'HBI_SEGMENT_WINDOW_MS',
    positiveInt,
    '10000',
    'Length of one segment of a long video.',
  ),
  segmentOverlapMs: setting(
    'HBI_SEGMENT_OVERLAP_MS',
    nonNegativeInt,
    '2000',
    'Overlap between consecutive segments (must be below the window).',
  ),
  decodeTimeoutMs: setting(
    'HBI_DECODE_TIMEOUT_MS',
    positiveInt,
    '120000',
    "Longest one ffmpeg probe may run, and longest a video's decode may go without producing a frame (time it waits for the encoder does not count), before it is killed.",
  ),
  maxConcurrentDecodes: setting(
    'HBI_MAX_CONCURRENT_DECODES',
    nonNegativeInt,
    '0',
    'Videos decoded at once by this process (one ffmpeg process each; more wait their turn); 0 = half the CPU cores, at least 1.',
  ),
  maxVideoFps: setting(
    'HBI_MAX_VIDEO_FPS',
    positiveInt,
    '240',
    'Highest frame rate accepted: a video whose stream declares more, or whose frames are denser (a segment decodes to more than its seconds × this), is refused (VIDEO_TOO_LARGE).',
  ),
  maxPageSize: setting('HBI_MAX_PAGE_SIZE', positiveInt, '100', 'Largest page a connection field returns.'),
  maxQueryDepth: setting('HBI_MAX_QUERY_DEPTH', positiveInt, '12', 'Deepest GraphQL selection accepted.'),
  maxQueryComplexity: setting(
    'HBI_MAX_QUERY_COMPLEXITY',
    positiveInt,
    '2000',
    'Largest estimated GraphQL query cost accepted.',
  ),
  maxQueryTokens: setting(
    'HBI_MAX_QUERY_TOKENS',
    positiveInt,
    '5000',
    'Most lexical tokens in one GraphQL document; the parser stops past it (HTTP 400).',
  ),
  rateKeyCostPerMinute: setting(
    'HBI_RATE_KEY_COST_PER_MINUTE',
    nonNegativeInt,
    '60000',
    'Query cost one API key (or token subject) may spend a minute, in cost units (a search costs its candidates plus its page size); 0 = no limit. Per gateway process.',
  ),
  rateTenantCostPerMinute: setting(
    'HBI_RATE_TENANT_COST_PER_MINUTE',
    nonNegativeInt,
    '240000',
    "Query cost a tenant's keys together may spend a minute; 0 = no limit. Per gateway process.",
  ),
  rateAnonymousCostPerMinute: setting(
    'HBI_RATE_ANONYMOUS_COST_PER_MINUTE',
    nonNegativeInt,
    '600',
    'Query cost one client address without credentials may spend a minute; 0 = no limit.',
  ),
  frameCacheMb: setting(
    'HBI_FRAME_CACHE_MB',
    nonNegativeInt,
    '256',
    "Memory for decoded frame tensors of recently searched segments (search's re-rank reads them on every query); 0 = none.",
  ),
  nearDuplicateSimilarity: setting(
    'HBI_NEAR_DUPLICATE_SIMILARITY',
    z.coerce.number().min(0).max(1),
    '0.99',
    'Cosine similarity of segment embeddings at or above which a new segment joins an existing near-duplicate group (search diversifies its candidates by group); 1 = only exact copies.',
  ),
  maxInFlightTasks: setting(
    'HBI_MAX_INFLIGHT_TASKS',
    positiveInt,
    '32',
    'Plugin tasks (search, answer, caption, …) one gateway runs for requests at once.',
  ),
  maxWaitingTasks: setting(
    'HBI_MAX_WAITING_TASKS',
    nonNegativeInt,
    '64',
    'Tasks that may wait for a place past HBI_MAX_INFLIGHT_TASKS; more are refused at once (429 RATE_LIMITED, retry after 1 s).',
  ),
  maxTaskWaitMs: setting(
    'HBI_MAX_TASK_WAIT_MS',
    nonNegativeInt,
    '2000',
    'Longest a task waits for a place before it is refused (429 RATE_LIMITED).',
  ),
  tenantMaxVideos: setting(
    'HBI_TENANT_MAX_VIDEOS',
    nonNegativeInt,
    '100000',
    'Most videos one tenant may hold (uploads and ingests past it: QUOTA_EXCEEDED); 0 = no limit.',
  ),
  tenantMaxStoredBytes: setting(
    'HBI_TENANT_MAX_STORED_BYTES',
    nonNegativeInt,
    String(1024 ** 4),
    "Most bytes of video one tenant may store (its videos' sizes together); 0 = no limit.",
  ),
  tenantMaxQueuedJobs: setting(
    'HBI_TENANT_MAX_QUEUED_JOBS',
    nonNegativeInt,
    '1000',
    'Most unfinished (queued or running) jobs one tenant may have; 0 = no limit.',
  ),
  maxRequestBytes: setting(
    'HBI_MAX_REQUEST_BYTES',
    positiveInt,
    String(1024 ** 2),
    'Largest GraphQL request body accepted, in bytes.',
  ),
  introspection: setting(
    'HBI_INTROSPECTION',
    z
      .enum(['true', 'false'])
      .transform((value) => value === 'true')
      .optional(),
    undefined,
    'Whether GraphQL introspection and "Did you mean …" suggestions in errors are served (HTTP and WebSocket); unset = on, off when NODE_ENV=production.',
  ),
  demoLibrary: setting(
    'HBI_DEMO_LIBRARY',
    z.string().min(1),
    './examples/demo-library/library.json',
    'Demo library indexed in the background at start (skipped when the file is missing; "off" disables).',
  ),
  ingestRoots: setting(
    'HBI_INGEST_ROOTS',
    list,
    '',
    'Folders ingestVideo(path) may read from, comma-separated; empty = <data dir>/ingest and the demo library folder.',
  ),
  ingestUrlHosts: setting(
    'HBI_INGEST_URL_HOSTS',
    list,
    '',
    'Hosts ingestVideo(url) may download from, comma-separated ("*.example.com" matches subdomains); empty = any public host.',
  ),
  ingestUrlPrivate: setting(
    'HBI_INGEST_URL_PRIVATE',
    z.enum(['true', 'false']).transform((value) => value === 'true'),
    'false',
    'Whether ingestVideo(url) may reach loopback, private, link-local or other non-public addresses (a LAN camera store, a test server on loopback); off so clients cannot make the server fetch internal services.',
  ),
  downloadTimeoutMs: setting(
    'HBI_DOWNLOAD_TIMEOUT_MS',
    positiveInt,
    '300000',
    'Longest ingestVideo(url) may spend downloading one video before it fails with TIMEOUT.',
  ),
  uploadUrlTtlSeconds: setting(
    'HBI_UPLOAD_URL_TTL_SECONDS',
    positiveInt,
    '900',
    'How long an upload URL from createUpload stays valid, in seconds.',
  ),
  mediaUrlTtlSeconds: setting(
    'HBI_MEDIA_URL_TTL_SECONDS',
    z.coerce.number().int().min(1).max(604_800),
    '3600',
    'How long a thumbnail, poster or playback URL handed out by the API stays valid, in seconds (1 to 604800).',
  ),
  mediaPreviews: setting(
    'HBI_MEDIA_PREVIEWS',
    z.enum(['on', 'off']),
    'on',
    'Whether ingest makes a thumbnail per segment and a poster per video (one extra ffmpeg pass per video).',
  ),
  playbackRenditions: setting(
    'HBI_PLAYBACK_RENDITIONS',
    z.enum(['auto', 'off']),
    'auto',
    'auto: ingest transcodes a video browsers cannot play (MJPEG, HEVC, AVI, MPEG-TS, ...) to H.264 MP4 with fast start; off: only browser-playable sources get a playbackUrl.',
  ),
  mediaTimeoutMs: setting(
    'HBI_MEDIA_TIMEOUT_MS',
    positiveInt,
    '600000',
    "Longest one video's thumbnails, poster or rendition may take to make; past it the video stays indexed without them.",
  ),
  oidcJwks: setting(
    'HBI_OIDC_JWKS',
    z.string().min(1).optional(),
    undefined,
    "OIDC/JWT bearer tokens: the identity provider's JWKS, a file path or an http(s) URL; unset = API keys only.",
  ),
  oidcIssuer: setting(
    'HBI_OIDC_ISSUER',
    z.string().min(1).optional(),
    undefined,
    'OIDC: the `iss` every token must carry (recommended whenever HBI_OIDC_JWKS is set).',
  ),
  oidcAudience: setting(
    'HBI_OIDC_AUDIENCE',
    z.string().min(1).optional(),
    undefined,
    'OIDC: the `aud` every token must carry (recommended whenever HBI_OIDC_JWKS is set).',
  ),
  oidcTenantClaim: setting(
    'HBI_OIDC_TENANT_CLAIM',
    z.string().min(1),
    'hbi_tenant',
    "OIDC: the claim holding the caller's tenant id.",
  ),
  oidcRoleClaim: setting(
    'HBI_OIDC_ROLE_CLAIM',
    z.string().min(1),
    'hbi_role',
    'OIDC: the claim holding the role: read, write or admin.',
  ),
  uploadSecret: setting(
    'HBI_UPLOAD_SECRET',
    z.string().min(32).optional(),
    undefined,
    'Key (32+ characters) signing upload URLs; unset = a random key per process (set one shared key when several gateways serve).',
  ),
  publicUrl: setting(
    'HBI_PUBLIC_URL',
    optionalUrl,
    undefined,
    'Base URL clients reach this server at, for upload URLs and the default browser origin and Host; unset = the Host header of each request.',
  ),
  allowedOrigins: setting(
    'HBI_ALLOWED_ORIGINS',
    list.pipe(z.array(origin)),
    '',
    'Browser origins (scheme://host[:port]) that may call the API over HTTP and WebSocket, comma-separated; "*" is refused. Requests without an Origin header (curl, servers) are not affected. Empty = the origin of HBI_PUBLIC_URL, else when bound to loopback http://127.0.0.1|localhost|[::1]:<port>, else none.',
  ),
  allowedHosts: setting(
    'HBI_ALLOWED_HOSTS',
    list.pipe(z.array(hostName)),
    '',
    'Host headers accepted (host or host:port, comma-separated; a bare host matches any port), against DNS rebinding. Empty = the host of HBI_PUBLIC_URL (plus the loopback names when bound to loopback), else when bound to loopback 127.0.0.1, localhost and [::1], else any host (with a warning at start).',
  ),
  plugins: setting(
    'HBI_PLUGINS',
    list,
    '',
    'Extra plugins to load after the built-ins: package names or paths, comma-separated.',
  ),
  pluginConfig: setting(
    'HBI_PLUGIN_CONFIG',
    json(z.record(z.string(), z.record(z.string(), z.unknown()))),
    '{}',
    'Per-plugin settings as JSON keyed by plugin name; each plugin validates its own part.',
  ),
} as const;

type Settings = typeof SETTINGS;
type Flat = { [K in keyof Settings]: z.output<Settings[K]['schema']> };
export type GraphName = (typeof GRAPH_NAMES)[number];
export { GRAPH_NAMES };

/** Batching limits for one graph after overrides are applied. */
export interface BatchLimits {
  maxBatchSize: number;
  maxDelayMs: number;
  queueLimit: number;
}

/** The validated, frozen configuration handed to the kernel at start. */
export type Config = Readonly<
  Omit<Flat, 'batchMaxSize' | 'batchMaxDelayMs' | 'queueLimit' | 'batchOverrides' | 'introspection'> & {
    batching: Readonly<Record<GraphName, Readonly<BatchLimits>>>;
    /** HBI_INTROSPECTION, else on unless NODE_ENV=production. */
    introspection: boolean;
  }
>;

/**
 * Reads and validates the configuration. Call once at start (only `src/main.ts` passes
 * `process.env`); throws CONFIG_INVALID naming every bad variable at once.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  // Defaults are spelled as the environment would spell them, so they pass through the same schema.
  const shape = Object.fromEntries(Object.entries(SETTINGS).map(([key, s]) => [key, s.schema]));
  const raw = Object.fromEntries(
    Object.entries(SETTINGS).map(([key, s]) => {
      const value = env[s.env];
      return [key, value === undefined || value === '' ? s.default : value];
    }),
  );
  const parsed = z.object(shape).safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof Settings;
      return `${SETTINGS[key]?.env ?? key}: ${issue.message}`;
    });
    throw new HbiError('CONFIG_INVALID', `Invalid configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  const flat = parsed.data as Flat;
  if (flat.segmentOverlapMs >= flat.segmentWindowMs) {
    throw new HbiError(
      'CONFIG_INVALID',
      `Invalid configuration: HBI_SEGMENT_OVERLAP_MS (${flat.segmentOverlapMs}) must be below HBI_SEGMENT_WINDOW_MS (${flat.segmentWindowMs})`,
    );
  }
  const { batchMaxSize, batchMaxDelayMs, queueLimit, batchOverrides, introspection, ...rest } = flat;
  const batching = Object.fromEntries(
    GRAPH_NAMES.map((graph) => {
      const override = batchOverrides[graph] ?? {};
      const limits: BatchLimits = {
        maxBatchSize: override.maxBatchSize ?? batchMaxSize,
        maxDelayMs: override.maxDelayMs ?? batchMaxDelayMs,
        queueLimit: override.queueLimit ?? queueLimit,
      };
      return [graph, Object.freeze(limits)];
    }),
  ) as Record<GraphName, BatchLimits>;
  // The schema is not advertised to production clients unless asked for (NODE_ENV is the convention).
  return deepFreeze({ ...rest, batching, introspection: introspection ?? env.NODE_ENV !== 'production' });
}

/** Renders `.env.example` from `SETTINGS`, so the documentation cannot drift from the code. */
export function renderEnvExample(): string {
  const lines = [
    '# hbi-platform configuration. Every variable is optional; the value shown is the default.',
    '# Generated from src/core/config.ts (SETTINGS); a unit test fails when this file drifts.',
    '',
  ];
  for (const s of Object.values(SETTINGS) as Setting[]) {
    lines.push(`# ${s.doc}`, s.default === undefined ? `# ${s.env}=` : `${s.env}=${s.default}`, '');
  }
  return lines.join('\n');
}
