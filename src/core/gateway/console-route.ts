/**
 * The web console's files, built by `npm run build` (Vite, from `web/`) into `dist/web`: `GET /` and
 * every client route answer the console's `index.html` (the single-page app routes itself), `/assets/*`
 * the hashed scripts and styles, and `GET /graphql` asked for by a browser (Accept: text/html, no
 * `query` parameter) answers GraphiQL, bundled from npm. Every answer carries a Content-Security-Policy
 * allowing this origin only, so the console runs no script and loads nothing from elsewhere.
 */
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where `npm run build` writes the console: `dist/web` at the package root. This module is three folders
 * below the root both as a source (`src/core/gateway`) and built (`dist/core/gateway`).
 */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/** The console's own pages: the app, and GraphiQL at /graphql. */
const CONSOLE_PAGE = 'index.html';
const GRAPHIQL_PAGE = 'graphiql.html';

/**
 * Only this origin: scripts, styles, fonts, images, media and connections (fetch, XHR uploads and the
 * graphql-ws socket, which `'self'` covers on the same host and port). `data:` and `blob:` images are
 * GraphiQL's icons and locally chosen files; nothing may frame the console. With an S3 object store the
 * browser also loads thumbnails, posters and videos from, and PUTs uploads to, the store's own origin
 * (presigned URLs): `objectStoreOrigins` adds exactly those origins to img-src, media-src and connect-src.
 */
export function consoleCsp(objectStoreOrigins: readonly string[] = []): string {
  const extra = objectStoreOrigins.map((origin) => ` ${origin}`).join('');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${extra}`,
    `media-src 'self' blob:${extra}`,
    "font-src 'self' data:",
    `connect-src 'self'${extra}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The console's policy with the embedded store (everything from this origin). */
export const CONSOLE_CSP = consoleCsp();

/** The origin (`scheme://host[:port]`) of an object store URL, for the console's policy; undefined if none. */
export function objectStoreOrigin(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

function securityHeaders(objectStoreOrigins: readonly string[]): Readonly<Record<string, string>> {
  return {
    'content-security-policy': consoleCsp(objectStoreOrigins),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** True when the client asks for a page (a browser's navigation), not data. */
export function wantsHtml(request: IncomingMessage): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && /(^|,)\s*text\/html\b/i.test(accept);
}

/** GraphiQL is served on GET /graphql to a browser navigating there; a GET query (?query=) stays GraphQL. */
export function isGraphiQLRequest(request: IncomingMessage, url: URL): boolean {
  return request.method === 'GET' && wantsHtml(request) && !url.searchParams.has('query');
}

/**
 * Answers a console request: a file under the console folder, or (for a page navigation to any other
 * path) the app's index.html. Returns false when the request is not the console's, so the caller can
 * answer its own 404.
 */
export async function handleConsole(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: { dir?: string; page?: 'console' | 'graphiql'; objectStoreOrigins?: readonly string[] } = {},
): Promise<boolean> {
  const dir = options.dir ?? CONSOLE_DIR;
  const headers = securityHeaders(options.objectStoreOrigins ?? []);
  const method = (request.method ?? 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (options.page === 'graphiql') return sendPage(request, response, dir, GRAPHIQL_PAGE, headers);
  const file = resolveInside(dir, url.pathname);
  if (file !== undefined && (await isFile(file))) {
    request.resume();
    return sendFile(request, response, file, url.pathname.startsWith('/assets/'), headers);
  }
  // A client route (/search, /library, …) is the app's page; other requests keep their JSON 404.
  if (!wantsHtml(request) || url.pathname.startsWith('/assets/')) return false;
  return sendPage(request, response, dir, CONSOLE_PAGE, headers);
}

async function sendPage(
  request: IncomingMessage,
  response: ServerResponse,
  dir: string,
  page: string,
  headers: Readonly<Record<string, string>>,
): Promise<boolean> {
  request.resume();
  const file = path.join(dir, page);
  if (await isFile(file)) return sendFile(request, response, file, false, headers);
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.statusCode = 503;
  response.setHeader('content-type', 'text/plain; charset=utf-8');
  response.end(
    `The web console is not built (${path.join(dir, page)} is missing): run \`npm run build\` ` +
      '(or `npm start`, which builds it first). The GraphQL API answers POST /graphql meanwhile.\n',
  );
  return true;
}

async function sendFile(
  request: IncomingMessage,
  response: ServerResponse,
  file: string,
  immutable: boolean,
  headers: Readonly<Record<string, string>>,
): Promise<boolean> {
  const body = await readFile(file);
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.statusCode = 200;
  response.setHeader(
    'content-type',
    CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
  );
  response.setHeader('content-length', body.length);
  // Vite names assets by their content hash: a changed file is a new URL. Pages are always revalidated.
  response.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  response.end(request.method === 'HEAD' ? undefined : body);
  return true;
}

/** The file a URL path names inside `dir`, or undefined when the path leaves it or names a folder. */
function resolveInside(dir: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.endsWith('/')) return undefined;
  const root = path.resolve(dir);
  const file = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  return file.startsWith(root + path.sep) ? file : undefined;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
