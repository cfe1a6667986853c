/**
 * What keeps web pages out of the API: any page open in a browser on the same host can send requests
 * to a loopback server, so the gateway checks what only a browser sends. The Host header against an
 * allow-list (a DNS rebinding page names its own host), the Origin header against an allow-list
 * (requests without one, from curl, servers, the camera agent, are not browsers and pass), JSON-only
 * GraphQL bodies (a cross-site form or `text/plain` fetch needs no CORS preflight, JSON does), and CORS
 * answers for the allowed origins only. Pure functions over headers: `http-server.ts` applies them to
 * HTTP requests and WebSocket upgrades alike.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

import type { Config } from '../config.js';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/** The settings the guards are built from; absent ones take the defaults documented in `config.ts`. */
export type BrowserGuardSettings = Partial<Pick<Config, 'allowedOrigins' | 'allowedHosts' | 'publicUrl'>>;

export interface BrowserPolicy {
  /** Origins (`scheme://host[:port]`) whose pages may call the API; empty = no browser page. */
  readonly origins: ReadonlySet<string>;
  /** Accepted Host headers (`host` matches any port, `host:port` that port); undefined = any. */
  readonly hosts: readonly string[] | undefined;
  /** Where each list came from, for the start log. */
  readonly source: { origins: string; hosts: string };
}

/** A refused request: the HTTP status, the catalogue code and a client-safe message. */
export interface Refusal {
  status: number;
  code: ErrorCode;
  message: string;
}

/** The body types a GraphQL POST may carry (with an optional `charset=utf-8`). */
export const GRAPHQL_BODY_TYPES = ['application/json', 'application/graphql-response+json'] as const;

/** Request headers a browser page may send after a preflight (CORS `Access-Control-Allow-Headers`). */
export const CORS_ALLOWED_HEADERS = [
  'content-type',
  'authorization',
  'apollo-require-preflight',
  'x-apollo-operation-name',
] as const;

/** How long a browser may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** Whether the server's bind address only takes connections from this machine. */
export function isLoopbackBind(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** The lists in force for a server bound to `bind.host:bind.port` (the port it actually listens on). */
export function browserPolicy(
  settings: BrowserGuardSettings,
  bind: { host: string; port: number },
): BrowserPolicy {
  const publicUrl = settings.publicUrl === undefined ? undefined : new URL(settings.publicUrl);
  const loopback = isLoopbackBind(bind.host);
  let origins: string[];
  let originSource: string;
  if (settings.allowedOrigins !== undefined && settings.allowedOrigins.length > 0) {
    origins = [...settings.allowedOrigins];
    originSource = 'HBI_ALLOWED_ORIGINS';
  } else if (publicUrl) {
    origins = [publicUrl.origin];
    originSource = 'HBI_PUBLIC_URL';
  } else if (loopback) {
    origins = LOOPBACK_HOSTS.map((host) => new URL(`http://${host}:${bind.port}`).origin);
    originSource = 'loopback';
  } else {
    origins = [];
    originSource = 'none';
  }
  let hosts: string[] | undefined;
  let hostSource: string;
  if (settings.allowedHosts !== undefined && settings.allowedHosts.length > 0) {
    hosts = settings.allowedHosts.map((host) => host.toLowerCase());
    hostSource = 'HBI_ALLOWED_HOSTS';
  } else if (publicUrl) {
    // Loopback names cannot be a rebinding page's Host (that names the attacker's domain): keeping
    // them lets local clients (curl, a camera agent, a proxy that passes its upstream's name) in.
    hosts = [publicUrl.host.toLowerCase(), ...(loopback ? LOOPBACK_HOSTS : [])];
    hostSource = loopback ? 'HBI_PUBLIC_URL and loopback' : 'HBI_PUBLIC_URL';
  } else if (loopback) {
    hosts = [...LOOPBACK_HOSTS];
    hostSource = 'loopback';
  } else {
    hosts = undefined;
    hostSource = 'any';
  }
  return { origins: new Set(origins), hosts, source: { origins: originSource, hosts: hostSource } };
}

/** Logs the lists in force at start; warns when any Host is accepted (no defence against DNS rebinding). */
export function logBrowserPolicy(logger: Logger, policy: BrowserPolicy, bindHost: string): void {
  if (policy.hosts === undefined) {
    logger.warn(
      `Accepting any Host header: bound to ${bindHost} with neither HBI_ALLOWED_HOSTS nor HBI_PUBLIC_URL set, ` +
        'so a web page can reach this server through DNS rebinding. Set HBI_ALLOWED_HOSTS to the names clients use.',
    );
  }
  logger.info('browser guards', {
    allowedOrigins: [...policy.origins],
    originsFrom: policy.source.origins,
    allowedHosts: policy.hosts ?? 'any',
    hostsFrom: policy.source.hosts,
  });
}

/** Splits a Host header into its lower-case name and port (undefined when it names none). */
function splitHost(header: string): { name: string; port: string | undefined } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  return match ? { name: match[1]!, port: match[2] } : undefined;
}

/** Whether a Host header is accepted: a bare rule matches the name on any port, `name:port` exactly. */
export function hostAllowed(policy: BrowserPolicy, header: string | undefined): boolean {
  if (policy.hosts === undefined) return true;
  const host = header === undefined ? undefined : splitHost(header);
  if (host === undefined) return false;
  return policy.hosts.some((rule) => {
    const wanted = splitHost(rule);
    return wanted !== undefined && wanted.name === host.name && (wanted.port ?? host.port) === host.port;
  });
}

/** Whether a request may proceed as far as its Origin goes: none (not a browser page) or a listed one. */
export function originAllowed(policy: BrowserPolicy, origin: string | undefined): boolean {
  return origin === undefined || policy.origins.has(origin);
}

/**
 * The Host and Origin checks for one request or WebSocket upgrade: undefined when it may proceed.
 * `checkHost: false` skips the Host check (health probes address pods by IP).
 */
export function refuseBrowserRequest(
  policy: BrowserPolicy,
  headers: IncomingHttpHeaders,
  options: { checkHost: boolean } = { checkHost: true },
): Refusal | undefined {
  if (options.checkHost && !hostAllowed(policy, headers.host)) {
    return {
      status: 421,
      code: 'HOST_NOT_ALLOWED',
      message: `This server does not answer for Host "${headers.host ?? ''}"; set HBI_ALLOWED_HOSTS (or HBI_PUBLIC_URL) to the names clients use`,
    };
  }
  if (!originAllowed(policy, headers.origin)) {
    return {
      status: 403,
      code: 'ORIGIN_NOT_ALLOWED',
      message: `Requests from web pages at ${headers.origin} are not allowed; list trusted origins in HBI_ALLOWED_ORIGINS`,
    };
  }
  return undefined;
}

/**
 * Whether a request shows the marks of a browser: an Origin header, or a `Sec-Fetch-Site` that is
 * neither `same-origin` nor `none` (typed into the address bar). Such requests get Apollo's CSRF
 * prevention; curl and servers send neither and keep plain GET queries.
 */
export function looksLikeBrowser(headers: IncomingHttpHeaders): boolean {
  if (headers.origin !== undefined) return true;
  const site = headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}

/** Whether a GraphQL POST's Content-Type is JSON: one of GRAPHQL_BODY_TYPES, no parameter but `charset=utf-8`. */
export function isGraphQLBodyType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [essence = '', ...parameters] = contentType.split(';');
  if (!(GRAPHQL_BODY_TYPES as readonly string[]).includes(essence.trim().toLowerCase())) return false;
  return parameters.every((parameter) => {
    if (parameter.trim() === '') return true;
    const [name = '', value = ''] = parameter.split('=', 2);
    const charset = value
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    return name.trim().toLowerCase() === 'charset' && (charset === 'utf-8' || charset === 'utf8');
  });
}

/** The 415 answer for a GraphQL POST whose body is not JSON. */
export function unsupportedBodyType(contentType: string | undefined): Refusal {
  return {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: `GraphQL POST bodies must be ${GRAPHQL_BODY_TYPES.join(' or ')} (optionally with charset=utf-8), not ${contentType === undefined ? 'a body without Content-Type' : `"${contentType}"`}`,
  };
}

/** CORS headers for any answer: `Vary: Origin` always, the allow-origin header for a listed origin. */
export function corsHeaders(policy: BrowserPolicy, origin: string | undefined): OutgoingHttpHeaders {
  return origin !== undefined && policy.origins.has(origin)
    ? { vary: 'Origin', 'access-control-allow-origin': origin }
    : { vary: 'Origin' };
}

/** The extra headers of a preflight answer (OPTIONS with Access-Control-Request-Method) for `methods`. */
export function preflightHeaders(methods: readonly string[]): OutgoingHttpHeaders {
  return {
    'access-control-allow-methods': methods.join(', '),
    'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
    'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
  };
}
