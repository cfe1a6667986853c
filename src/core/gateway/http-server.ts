/**
 * The gateway's network side: one Node HTTP server carrying GraphQL over HTTP (POST and GET at
 * `/graphql`, through Apollo Server's integration API), graphql-ws subscriptions on the same port and
 * path, `PUT /uploads/<token>` for the URLs `createUpload` hands out, and plain `/health/live` and
 * `/health/ready` probes for orchestrators. The request size limit is enforced while reading the body,
 * before anything is parsed.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ApolloServer, HeaderMap } from '@apollo/server';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { ExecutionArgs, GraphQLSchema } from 'graphql';
import { GraphQLError, parse } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

import { HbiError } from '../errors.js';
import { bindTaskRunner } from '../tasks/port.js';
import { DEFAULT_TENANT_ID } from '../tenancy.js';
import { toGraphQLError } from '../graphql-errors.js';
import { readiness } from './context.js';
import type { GatewayContext, GatewayServices } from './context.js';
import { assertWithinLimits, measureOperation, operationLimitsPlugin } from './limits.js';
import { hideSuggestion, hideSuggestions, validateOperation } from './schema-exposure.js';
import { UPLOAD_PATH, handleUpload } from './upload-route.js';

export const GRAPHQL_PATH = '/graphql';

export interface GatewayOptions {
  schema: GraphQLSchema;
  services: GatewayServices;
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface Gateway {
  /** `http://host:port/graphql`. */
  url: string;
  port: number;
  /** Stops accepting, drains in-flight requests, closes WebSockets. Safe to call twice. */
  stop(): Promise<void>;
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
  const apollo = new ApolloServer<GatewayContext>({
    schema,
    includeStacktraceInErrorResponses: false,
    // Credentials travel in an Authorization header, never in cookies, so a cross-site page cannot
    // ride on them; plain GET queries (GraphQL over HTTP) must work for curl and CDNs alike.
    csrfPrevention: false,
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
      operationLimitsPlugin(config),
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
  const makeContext = (request?: IncomingMessage): GatewayContext => ({
    services,
    // One tenant until authentication (which names the caller's) arrives.
    tenantId: DEFAULT_TENANT_ID,
    tasks: bindTaskRunner(services.tasks, DEFAULT_TENANT_ID),
    requestId: randomUUID(),
    ...(request?.headers.host ? { origin: `http://${request.headers.host}` } : {}),
  });

  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handleHttp(request, response, apollo, services, makeContext).catch((error: unknown) => {
      logger.error('HTTP request failed outside GraphQL', { error });
      if (!response.headersSent) sendJsonError(response, 500, 'Internal server error', 'INTERNAL');
      else response.destroy();
    });
  });

  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: config.maxRequestBytes,
  });
  const wsCleanup = useServer(
    {
      schema,
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const errors = validateOperation(schema, document, config);
        if (errors.length > 0) return errors;
        const variables = payload.variables ?? {};
        try {
          assertWithinLimits(
            measureOperation(document, payload.operationName, variables, config.maxPageSize),
            config,
          );
        } catch (error) {
          return [error as GraphQLError];
        }
        return {
          schema,
          document,
          variableValues: variables,
          operationName: payload.operationName ?? null,
          contextValue: makeContext(ctx.extra.request),
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

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    port,
    stop: () =>
      (stopped ??= (async () => {
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
  makeContext: (request: IncomingMessage) => GatewayContext,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://gateway');
  if (url.pathname === '/health/live') return sendJson(response, 200, { live: true });
  if (url.pathname === '/health/ready') {
    const state = readiness(services);
    return sendJson(response, state.ready ? 200 : 503, state);
  }
  if (url.pathname.startsWith(UPLOAD_PATH)) return handleUpload(request, response, url.pathname, services);
  if (url.pathname !== GRAPHQL_PATH)
    return sendJsonError(response, 404, `No route ${url.pathname}`, 'NOT_FOUND');

  let body: unknown;
  try {
    body = await readBody(request, services.config.maxRequestBytes);
  } catch (error) {
    const failure =
      error instanceof HbiError ? error : new HbiError('BAD_USER_INPUT', 'Cannot read the request body');
    return sendJsonError(response, failure.httpStatus, failure.message, failure.code);
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const httpGraphQLRequest: HTTPGraphQLRequest = {
    method: (request.method ?? 'GET').toUpperCase(),
    headers,
    search: url.search,
    body,
  };
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest,
    context: () => Promise.resolve(makeContext(request)),
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
 * Reads the body up to `limit` bytes (LIMIT_EXCEEDED past it, without buffering the rest); JSON
 * bodies are parsed (BAD_USER_INPUT when malformed), others are handed to Apollo as text.
 */
async function readBody(request: IncomingMessage, limit: number): Promise<unknown> {
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
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  if (!type.includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HbiError('BAD_USER_INPUT', 'The request body is not valid JSON');
  }
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.end(JSON.stringify(value));
}

function sendJsonError(response: ServerResponse, status: number, message: string, code: string): void {
  sendJson(response, status, { errors: [{ message, extensions: { code } }] });
}
