/**
 * The gateway's network side: one Node HTTP server carrying GraphQL over HTTP (POST and GET at
 * `/graphql`, through Apollo Server's integration API), graphql-ws subscriptions on the same port and
 * path, `PUT /uploads/<token>` for the URLs `createUpload` hands out, and plain `/health/live` and
 * `/health/ready` probes for orchestrators, and the web console (`console-route.ts`): its pages at `/` and
 * client routes, GraphiQL on `GET /graphql` from a browser. The request size limit is enforced while reading the body,
 * before anything is parsed. Before any route runs, the browser guards (`browser-guards.ts`) check the
 * Host and Origin headers, on HTTP requests and WebSocket upgrades alike; GraphQL POST bodies are JSON
 * only, and Apollo's CSRF prevention covers GET from browsers.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

import { ApolloServer, HeaderMap } from '@apollo/server';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { ExecutionArgs, GraphQLSchema } from 'graphql';
import { GraphQLError, getOperationAST, parse } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';

import { authorizationPlugin, authorizeOperation } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { HbiError, toHbiError, toPublicError } from '../errors.js';
import { loadConfig } from '../config.js';
import { bindTaskRunner } from '../tasks/port.js';
import { NO_TENANT } from '../tenancy.js';
import { toGraphQLError } from '../graphql-errors.js';
import type { BrowserPolicy, Refusal } from './browser-guards.js';
import {
  browserPolicy,
  corsHeaders,
  hostAllowed,
  isGraphQLBodyType,
  logBrowserPolicy,
  looksLikeBrowser,
  preflightHeaders,
  refuseBrowserRequest,
  unsupportedBodyType,
} from './browser-guards.js';
import { handleConsole, isGraphiQLRequest } from './console-route.js';
import { readiness } from './context.js';
import type { GatewayContext, GatewayServices } from './context.js';
import { assertWithinLimits, measureOperation, operationLimitsPlugins } from './limits.js';
import { TaskAdmission } from '../tasks/admission.js';
import { RateLimiter } from './rate-limits.js';
import { hideSuggestion, hideSuggestions, validateOperation } from './schema-exposure.js';
import { UPLOAD_PATH, handleUpload } from './upload-route.js';
import { MEDIA_PATH, handleMedia } from './media-route.js';
import { NO_MEDIA } from '../media/media-links.js';

export const GRAPHQL_PATH = '/graphql';

/**
 * Set by the gateway itself (never passed on from a client) on requests that show no sign of a
 * browser; Apollo's CSRF prevention counts it like `apollo-require-preflight`, so curl's plain GET
 * queries keep working while a browser's must carry a header that forces a CORS preflight.
 */
const NOT_A_BROWSER_HEADER = 'x-hbi-not-a-browser';

export interface GatewayOptions {
  schema: GraphQLSchema;
  services: GatewayServices;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The built web console (default: dist/web, written by `npm run build`). */
  consoleDir?: string;
  /**
   * Origins of the S3 object store the console's browser reaches by presigned URL (media, uploads),
   * added to its Content-Security-Policy; none with the embedded store.
   */
  objectStoreOrigins?: readonly string[];
}

export interface Gateway {
  /** `http://host:port/graphql`. */
  url: string;
  port: number;
  /** Stops accepting, drains in-flight requests, closes WebSockets. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * How long one request may take to arrive whole (Node's `requestTimeout`): the largest upload
 * (HBI_MAX_UPLOAD_BYTES) at the slowest rate served (HBI_UPLOAD_MIN_BYTES_PER_SECOND), at least Node's
 * own 5 minutes. Headers still have `headersTimeout`; GraphQL bodies are capped by HBI_MAX_REQUEST_BYTES.
 */
export function uploadRequestTimeoutMs(
  config: Partial<Pick<Config, 'maxUploadBytes' | 'uploadMinBytesPerSecond'>>,
): number {
  const bytes = config.maxUploadBytes ?? 2 * 1024 ** 3;
  const rate = config.uploadMinBytesPerSecond ?? 256 * 1024;
  return Math.max(300_000, Math.ceil(bytes / rate) * 1000);
}

/** Starts the HTTP + WebSocket server; resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { schema, services } = options;
  const { logger, config } = services;
  const httpServer = createServer();
  // Idle keep-alive sockets outlive clients' own pools (undici keeps them 4 s, browsers and proxies
  // up to 60 s): a server closing first races a request being written and resets the connection.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  // Node's default (300 s for a whole request) would cut a 2 GiB upload below ~7 MB/s.
  httpServer.requestTimeout = uploadRequestTimeoutMs(config);
  const defaults = loadConfig({});
  const limiter = new RateLimiter({
    keyCostPerMinute: config.rateKeyCostPerMinute ?? defaults.rateKeyCostPerMinute,
    tenantCostPerMinute: config.rateTenantCostPerMinute ?? defaults.rateTenantCostPerMinute,
    anonymousCostPerMinute: config.rateAnonymousCostPerMinute ?? defaults.rateAnonymousCostPerMinute,
  });
  const maxQueryTokens = config.maxQueryTokens ?? defaults.maxQueryTokens;
  // Past its capacity the node refuses tasks at once (429) instead of queueing them into timeouts.
  const admitted = new TaskAdmission({
    maxInFlight: config.maxInFlightTasks ?? defaults.maxInFlightTasks,
    maxWaiting: config.maxWaitingTasks ?? defaults.maxWaitingTasks,
    maxWaitMs: config.maxTaskWaitMs ?? defaults.maxTaskWaitMs,
  }).wrap(services.tasks);
  const charge = (context: GatewayContext, cost: number) =>
    limiter.charge(context.principal, context.client ?? 'unknown', cost);
  const limitPlugins = operationLimitsPlugins(config, schema, charge);
  const apollo = new ApolloServer<GatewayContext>({
    schema,
    // The parser stops past this many tokens: a huge document costs nothing to refuse.
    parseOptions: { maxTokens: maxQueryTokens },
    includeStacktraceInErrorResponses: false,
    // A cross-site page can send "simple" requests (GET, or POST as text/plain or a form) without a
    // CORS preflight. POST bodies are JSON only (415 otherwise, in handleHttp); GET and the rest must
    // carry a non-simple content-type or a preflight header. Requests without a browser's marks (no
    // Origin, no cross-site Sec-Fetch-Site: curl, servers, CDNs) are marked by handleHttp and pass, so
    // `curl 'http://127.0.0.1:4000/graphql?query={health{ready}}'` keeps working.
    csrfPrevention: {
      requestHeaders: ['apollo-require-preflight', 'x-apollo-operation-name', NOT_A_BROWSER_HEADER],
    },
    // HBI_INTROSPECTION (off in production): no __schema/__type and no "Did you mean …" (schema-exposure.ts).
    introspection: config.introspection,
    hideSchemaDetailsFromClientErrors: !config.introspection,
    formatError: (formatted, error) => {
      const original = error instanceof GraphQLError ? error.originalError : error;
      if (original === undefined || original === null || original instanceof GraphQLError)
        return hideSuggestion(formatted, config);
      return toGraphQLError(error, logger).toJSON();
    },
    plugins: [
      limitPlugins.measure,
      authorizationPlugin(),
      limitPlugins.charge,
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
    ],
    logger: {
      debug: (message: string) => logger.debug(message),
      info: (message: string) => logger.info(message),
      warn: (message: string) => logger.warn(message),
      error: (message: string) => logger.error(message),
    },
  });
  await apollo.start();
  const makeContext = (request: IncomingMessage | undefined, principal: Principal | null): GatewayContext => {
    const tenantId = principal?.tenantId ?? NO_TENANT;
    return {
      services,
      principal,
      tenantId,
      tasks: bindTaskRunner(admitted, tenantId),
      media:
        services.media && principal
          ? services.media.forTenant(
              tenantId,
              request?.headers.host ? `http://${request.headers.host}` : undefined,
            )
          : NO_MEDIA,
      requestId: randomUUID(),
      ...(request
        ? { source: clientSource(request), client: request.socket.remoteAddress ?? 'unknown' }
        : {}),
      ...(request?.headers.host ? { origin: `http://${request.headers.host}` } : {}),
    };
  };

  // Computed once the port is known: the loopback default origins name it.
  let policy: BrowserPolicy | undefined;
  const guards = (): BrowserPolicy =>
    (policy ??= browserPolicy(config, {
      host: options.host,
      port: (httpServer.address() as AddressInfo).port,
    }));

  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handleHttp(request, response, apollo, services, guards(), makeContext, {
      dir: options.consoleDir,
      objectStoreOrigins: options.objectStoreOrigins ?? [],
    }).catch((error: unknown) => {
      logger.error('HTTP request failed outside GraphQL', { error });
      if (!response.headersSent) sendJsonError(response, 500, 'Internal server error', 'INTERNAL');
      else response.destroy();
    });
  });

  const sockets = new KeySockets(services, logger);
  // Upgrades are checked here, before graphql-ws sees them: a refused one gets its status and a JSON
  // body, and no WebSocket.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: config.maxRequestBytes });
  httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url ?? '/', 'http://gateway');
    const refusal: Refusal | undefined =
      pathname === GRAPHQL_PATH
        ? refuseBrowserRequest(guards(), request.headers)
        : { status: 404, code: 'NOT_FOUND', message: `No WebSocket route ${pathname}` };
    if (refusal) {
      logRefusal(logger, request, refusal);
      return refuseUpgrade(socket, refusal);
    }
    wsServer.handleUpgrade(request, socket, head, (webSocket) =>
      wsServer.emit('connection', webSocket, request),
    );
  });
  const wsCleanup = useServer(
    {
      schema,
      // Credentials arrive in connectionParams ({ authorization: "Bearer …" }); a wrong one closes the
      // socket (4403), none leaves only public fields. A revoked or expired key's sockets are closed.
      // When the key cannot be checked now (the server is busy, its database away) the socket is kept
      // and the check is tried again at each subscribe, which answers the refusal (RATE_LIMITED with
      // retryAfterSeconds, or UNAVAILABLE) until it passes: a client is told to come back, not that
      // its key is wrong.
      onConnect: async (ctx) => {
        const given = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const extra = ctx.extra as SocketExtra;
        try {
          const principal = await services.authenticate(typeof given === 'string' ? given : undefined);
          extra.principal = principal;
          if (principal) sockets.add(principal, ctx.extra.socket);
          return true;
        } catch (error) {
          if (toHbiError(error, 'UNAUTHENTICATED').code === 'UNAUTHENTICATED') return false;
          extra.deferredAuthorization = typeof given === 'string' ? given : '';
          return true;
        }
      },
      onSubscribe: async (ctx, _id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const extra = ctx.extra as SocketExtra;
        if (extra.deferredAuthorization !== undefined) {
          try {
            const principal = await services.authenticate(extra.deferredAuthorization);
            extra.principal = principal;
            extra.deferredAuthorization = undefined;
            if (principal) sockets.add(principal, ctx.extra.socket);
          } catch (error) {
            const failure = toHbiError(error, 'UNAUTHENTICATED', 'Invalid credentials');
            if (failure.code === 'UNAUTHENTICATED') ctx.extra.socket.close(4403, 'Forbidden');
            return [toGraphQLError(failure, logger)];
          }
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: maxQueryTokens });
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validateOperation(schema, document, config);
        if (errors.length > 0) return errors;
        const variables = payload.variables ?? {};
        const principal = (ctx.extra as SocketExtra).principal ?? null;
        const contextValue = makeContext(ctx.extra.request, principal);
        try {
          const cost = measureOperation(document, payload.operationName, variables, config.maxPageSize, {
            schema,
            context: contextValue,
          });
          assertWithinLimits(cost, config);
          const operation = getOperationAST(document, payload.operationName);
          if (operation) authorizeOperation(schema, document, operation, principal);
          charge(contextValue, cost.complexity);
        } catch (error) {
          return [error instanceof HbiError ? toGraphQLError(error, logger) : (error as GraphQLError)];
        }
        return {
          schema,
          document,
          variableValues: variables,
          operationName: payload.operationName ?? null,
          contextValue,
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors
          ? {
              ...result,
              errors: hideSuggestions(
                result.errors.map((error) => toGraphQLError(error, logger)),
                config,
              ),
            }
          : result,
    },
    wsServer,
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  logger.info('GraphQL gateway listening', { url: `http://${host}:${port}${GRAPHQL_PATH}` });
  logBrowserPolicy(logger, guards(), options.host);

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    port,
    stop: () =>
      (stopped ??= (async () => {
        sockets.stop();
        await wsCleanup.dispose();
        wsServer.close();
        // The drain plugin closes the HTTP server and waits for in-flight requests.
        await apollo.stop();
      })()),
  };
}

async function handleHttp(
  request: IncomingMessage,
  response: ServerResponse,
  apollo: ApolloServer<GatewayContext>,
  services: GatewayServices,
  policy: BrowserPolicy,
  makeContext: (request: IncomingMessage, principal: Principal | null) => GatewayContext,
  consoleOptions: { dir: string | undefined; objectStoreOrigins: readonly string[] },
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://gateway');
  const health = url.pathname === '/health/live' || url.pathname === '/health/ready';
  // Probes address pods by IP, so health answers skip the Host check; a Host off the list (a DNS
  // rebinding page among them) sees the status code and nothing of the details.
  const refusal = refuseBrowserRequest(policy, request.headers, { checkHost: !health });
  if (refusal) {
    logRefusal(services.logger, request, refusal);
    return refuse(request, response, refusal);
  }
  for (const [name, value] of Object.entries(corsHeaders(policy, request.headers.origin))) {
    if (value !== undefined) response.setHeader(name, value);
  }
  const methods = health
    ? ['GET']
    : url.pathname === GRAPHQL_PATH
      ? ['GET', 'POST']
      : url.pathname.startsWith(UPLOAD_PATH)
        ? ['PUT']
        : url.pathname.startsWith(MEDIA_PATH)
          ? ['GET', 'HEAD']
          : undefined;
  if (methods === undefined) {
    // Everything else is the web console's: its files, and its page for client routes (/search, …).
    if (await handleConsole(request, response, url, consoleOptions)) return;
    request.resume();
    return sendJsonError(response, 404, `No route ${url.pathname}`, 'NOT_FOUND');
  }
  if (request.method === 'OPTIONS') return answerOptions(request, response, methods);
  // A browser opening /graphql gets GraphiQL (it sends the console session's key itself).
  if (url.pathname === GRAPHQL_PATH && isGraphiQLRequest(request, url)) {
    await handleConsole(request, response, url, { ...consoleOptions, page: 'graphiql' });
    return;
  }

  if (health) {
    const detailed = hostAllowed(policy, request.headers.host);
    if (url.pathname === '/health/live') return sendJson(response, 200, { live: true });
    const state = readiness(services);
    return sendJson(response, state.ready ? 200 : 503, detailed ? state : { ready: state.ready });
  }
  if (url.pathname.startsWith(MEDIA_PATH)) return handleMedia(request, response, url.pathname, services);
  if (url.pathname !== GRAPHQL_PATH) return handleUpload(request, response, url.pathname, services);
  let principal: Principal | null;
  try {
    principal = await services.authenticate(request.headers.authorization);
  } catch (error) {
    request.resume();
    const failure = toHbiError(error, 'UNAUTHENTICATED', 'Invalid credentials');
    if (failure.code !== 'UNAUTHENTICATED') {
      // The key could not be checked (the server is busy or its database away): say so, with when to
      // come back, rather than calling valid credentials wrong.
      if (failure.code === 'INTERNAL') services.logger.error('authentication failed', { error });
      const retryAfter = failure.details.retryAfterSeconds;
      if (typeof retryAfter === 'number') response.setHeader('retry-after', String(retryAfter));
      return sendJsonError(response, failure.httpStatus, toPublicError(failure).message, failure.code);
    }
    response.setHeader('www-authenticate', 'Bearer');
    return sendJsonError(response, 401, failure.message, 'UNAUTHENTICATED');
  }

  const method = (request.method ?? 'GET').toUpperCase();
  let body: unknown;
  if (method === 'POST') {
    const contentType = request.headers['content-type'];
    if (!isGraphQLBodyType(contentType)) return refuse(request, response, unsupportedBodyType(contentType));
    try {
      body = await readJsonBody(request, services.config.maxRequestBytes);
    } catch (error) {
      const failure =
        error instanceof HbiError ? error : new HbiError('BAD_USER_INPUT', 'Cannot read the request body');
      return sendJsonError(response, failure.httpStatus, failure.message, failure.code);
    }
  } else {
    // GET carries its operation in the URL; other methods are refused by Apollo (405).
    request.resume();
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && name !== NOT_A_BROWSER_HEADER) {
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
  }
  if (!looksLikeBrowser(request.headers)) headers.set(NOT_A_BROWSER_HEADER, '1');
  const httpGraphQLRequest: HTTPGraphQLRequest = { method, headers, search: url.search, body };
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest,
    context: () => Promise.resolve(makeContext(request, principal)),
  });
  response.statusCode = result.status ?? 200;
  for (const [name, value] of result.headers) response.setHeader(name, value);
  if (result.body.kind === 'complete') {
    response.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}

/**
 * OPTIONS on a route: a CORS preflight (Access-Control-Request-Method) from an allowed origin — the
 * only origins that get this far — is answered with what the route takes; any other OPTIONS with
 * `Allow`.
 */
function answerOptions(request: IncomingMessage, response: ServerResponse, methods: readonly string[]): void {
  request.resume();
  const allow = [...methods, 'OPTIONS'].join(', ');
  const preflight =
    request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
  const headers: OutgoingHttpHeaders = { allow, ...(preflight ? preflightHeaders(methods) : {}) };
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) response.setHeader(name, value);
  }
  response.statusCode = 204;
  response.end();
}

/**
 * Reads a JSON body up to `limit` bytes (LIMIT_EXCEEDED past it, without buffering the rest) and
 * parses it (BAD_USER_INPUT when malformed); an empty body is undefined.
 */
async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () =>
    new HbiError('LIMIT_EXCEEDED', `The request body exceeds the limit of ${limit} bytes`, {
      details: { limit },
    });
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      request.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HbiError('BAD_USER_INPUT', 'The request body is not valid JSON');
  }
}

/** Answers a refused request without reading its body (closing the connection if one is still coming). */
function refuse(request: IncomingMessage, response: ServerResponse, refusal: Refusal): void {
  if (!request.complete) response.setHeader('connection', 'close');
  request.resume();
  sendJsonError(response, refusal.status, refusal.message, refusal.code);
}

/** Answers a refused WebSocket upgrade on the raw socket: the status and a JSON error body. */
function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  const body = JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: refusal.code } }] });
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function logRefusal(logger: GatewayServices['logger'], request: IncomingMessage, refusal: Refusal): void {
  logger.info('request refused by the browser guards', {
    code: refusal.code,
    method: request.method,
    path: new URL(request.url ?? '/', 'http://gateway').pathname,
    host: request.headers.host,
    origin: request.headers.origin,
  });
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.end(JSON.stringify(value));
}

function sendJsonError(response: ServerResponse, status: number, message: string, code: string): void {
  sendJson(response, status, { errors: [{ message, extensions: { code } }] });
}

/** What the gateway keeps on each WebSocket: the principal it connected with. */
interface SocketExtra {
  principal?: Principal | null;
  /** The connection's credentials while they could not be checked yet (busy server, database away). */
  deferredAuthorization?: string | undefined;
}

/** How often the keys of open sockets are checked (revoked or expired: their sockets close). */
const KEY_CHECK_MS = 15_000;

/**
 * The open sockets of each API key or token. Every KEY_CHECK_MS, each key with open sockets is checked;
 * a revoked or expired one has its sockets closed (4401), so a revoked key stops receiving events
 * within that time on every gateway. `closeKey` does it at once (a revoke on this gateway).
 */
class KeySockets {
  readonly #byKey = new Map<string, { principal: Principal; sockets: Set<WebSocket> }>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly services: Pick<GatewayServices, 'keys'>,
    private readonly logger: Pick<GatewayServices['logger'], 'warn'>,
  ) {
    this.#timer = setInterval(() => void this.check(), KEY_CHECK_MS);
    this.#timer.unref();
  }

  add(principal: Principal, socket: WebSocket): void {
    const entry = this.#byKey.get(principal.id) ?? { principal, sockets: new Set<WebSocket>() };
    entry.sockets.add(socket);
    this.#byKey.set(principal.id, entry);
    socket.once('close', () => {
      entry.sockets.delete(socket);
      if (entry.sockets.size === 0) this.#byKey.delete(principal.id);
    });
  }

  async check(now = Date.now()): Promise<void> {
    for (const [id, { principal, sockets }] of [...this.#byKey]) {
      const expired = principal.expiresAt !== undefined && principal.expiresAt <= now;
      const active =
        !expired && (principal.kind !== 'key' || (await this.services.keys.isActive(id).catch(() => true)));
      if (active) continue;
      this.logger.warn('closing the sockets of a revoked or expired credential', {
        key: id,
        sockets: sockets.size,
      });
      for (const socket of sockets) socket.close(4401, 'Credentials revoked or expired');
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The client's address, and the browser's Origin when it sent one (the audit log's "from where"). */
function clientSource(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? 'unknown';
  const origin = request.headers.origin;
  return typeof origin === 'string' && origin.length > 0 ? `${address} (origin ${origin})` : address;
}
