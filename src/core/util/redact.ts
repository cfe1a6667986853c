/**
 * The one place that makes text safe to show a client: server filesystem paths, URL credentials
 * (`scheme://user:pass@host`) and secret query parameters (`?token=…`, `X-Amz-Signature=…`) never leave
 * the server in a message, a dead letter, a job error or provenance. Logs keep the full text (operators
 * need it); everything that crosses the API goes through `redact` or `redactValue`. Stored source URLs
 * lose their secrets before they are written at all (`stripUrlSecrets`).
 */
import path from 'node:path';

/** What replaces a server path in a message. */
export const PATH_PLACEHOLDER = '[path]';
/** What replaces URL credentials and secret values. */
export const SECRET_PLACEHOLDER = '***';

/**
 * Query parameter (and `name=value`) names whose values are secrets: anything naming a token, key,
 * secret, signature, password or credential, and every `X-Amz-*` / `X-Goog-*` parameter of signed URLs.
 */
const SECRET_PARAM =
  /^(?:x-amz-.*|x-goog-.*|.*(?:token|secret|signature|passw(?:or)?d|pwd|credential).*|.*key(?:id)?|.*auth|authorization|sig|jwt)$/i;

/** JSON fields whose whole value is a secret (narrower than parameters: `objectKey` is no secret). */
const SECRET_FIELD =
  /^(?:.*(?:token|secret|signature|passw(?:or)?d|credentials?)|pwd|authorization|api[-_]?key|access[-_]?key|secret[-_]?key|private[-_]?key)$/i;

/** True when a query parameter (or `name=value` pair) with this name holds a secret. */
export function isSecretParameter(name: string): boolean {
  return SECRET_PARAM.test(decodeSafe(name));
}

/**
 * A filesystem path (`/srv/data/x.mp4`, `./data/x.mp4`, `C:\\data\\x.mp4`) not inside a URL: not preceded
 * by a word character, `:`, `/`, `.` or `~`, so `https://host/a/b` and `mov/mp4` are left alone.
 */
const SERVER_PATH = /(?<![\w:/.~-])(?:[A-Za-z]:[\\/]|\.{0,2}\/)[^\s'"`<>|:,;()[\]]+/g;

/** A URL with a scheme inside free text, up to whitespace or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"`<>]+/gi;

/** `name=value` after `?`, `&`, `;` or whitespace (query strings, connection strings, "token=… in text"). */
const PARAMETER = /(^|[?&;\s])([^=&?#;\s]+)=([^&#;\s]*)/g;

/** Top-level folders of this repository: a build path is shown from the first of them on. */
const REPOSITORY_FOLDERS = new Set([
  'model',
  'models',
  'examples',
  'src',
  'tests',
  'infra',
  'scripts',
  'schema',
  'prisma',
  'docs',
  'web',
]);

export interface RedactOptions {
  /**
   * How a server path is shown: `placeholder` (default) replaces it with `[path]`; `repository` keeps
   * an absolute path from this repository's top-level folder on (`/work/x/model/runs/a` → `model/runs/a`),
   * else its base name, and leaves relative paths as they are (for build provenance).
   */
  paths?: 'placeholder' | 'repository';
}

/** `text` safe for a client: URL credentials and secret parameters masked, server paths redacted. */
export function redact(text: string, options: RedactOptions = {}): string {
  const masked = redactSecrets(text);
  return options.paths === 'repository' ? repositoryPaths(masked) : redactServerPaths(masked);
}

/** Only the secrets: `scheme://***@host` for URL credentials, `name=***` for secret parameters. */
export function redactSecrets(text: string): string {
  return text.replace(URL_IN_TEXT, maskUrl).replace(PARAMETER, maskParameter);
}

/** Replaces server filesystem paths with `[path]` (URLs and `a/b` words are left alone). */
export function redactServerPaths(text: string): string {
  return text.replace(SERVER_PATH, PATH_PLACEHOLDER);
}

/**
 * A JSON-like value with every string passed through `redact` and every field named like a secret
 * (`password`, `token`, `apiKey`, …) replaced by `***`; arrays and nested objects included.
 */
export function redactValue(value: unknown, options: RedactOptions = {}): unknown {
  if (typeof value === 'string') return redact(value, options);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, options));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        SECRET_FIELD.test(key) && item !== null && item !== undefined
          ? SECRET_PLACEHOLDER
          : redactValue(item, options),
      ]),
    );
  }
  return value;
}

/** `redactValue` for a record (GraphQL `details`, provenance), typed as one. */
export function redactRecord(
  record: Readonly<Record<string, unknown>>,
  options: RedactOptions = {},
): Record<string, unknown> {
  return redactValue(record, options) as Record<string, unknown>;
}

/**
 * The URL as it may be stored, published and logged: no `user:pass@` and no secret query parameters
 * (dropped, not masked). Text that is not a URL is returned as it is.
 */
export function stripUrlSecrets(text: string): string {
  // `C:\\clip.mp4` parses as a URL with the scheme `c:`; a path is no URL.
  if (!URL.canParse(text) || /^[a-z]:[\\/]/i.test(text)) return text;
  const url = new URL(text);
  url.username = '';
  url.password = '';
  for (const name of [...new Set(url.searchParams.keys())]) {
    if (isSecretParameter(name)) url.searchParams.delete(name);
  }
  return url.href;
}

/** True when the URL carries credentials or secret query parameters that `stripUrlSecrets` would drop. */
export function hasUrlSecrets(text: string): boolean {
  return URL.canParse(text) && stripUrlSecrets(text) !== new URL(text).href;
}

function maskUrl(url: string): string {
  const withoutUser = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/i, `$1${SECRET_PLACEHOLDER}@`);
  return withoutUser;
}

function maskParameter(match: string, lead: string, name: string, value: string): string {
  if (value.length === 0 || value === SECRET_PLACEHOLDER || !isSecretParameter(name)) return match;
  return `${lead}${name}=${SECRET_PLACEHOLDER}`;
}

function repositoryPaths(text: string): string {
  return text.replace(SERVER_PATH, (found) => {
    if (!path.isAbsolute(found) && !/^[A-Za-z]:[\\/]/.test(found)) return found;
    const parts = found.split(/[\\/]+/).filter((part) => part.length > 0);
    const start = parts.findIndex((part) => REPOSITORY_FOLDERS.has(part));
    if (start >= 0) return parts.slice(start).join('/');
    return parts.at(-1) ?? PATH_PLACEHOLDER;
  });
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
