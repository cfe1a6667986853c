// Talking to the gateway: GraphQL over HTTP (POST /graphql), subscriptions over graphql-ws on the same
// path, uploads with XHR (for byte progress). Every failure becomes an ApiError with the server's code,
// its message and what the user can do about it.
import type { TadaDocumentNode } from 'gql.tada';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';

/** What to do about each error code the gateway sends (src/core/errors.ts). */
const REMEDIES: Record<string, string> = {
  UNAUTHENTICATED: 'Sign in again with a valid API key (hbi keys create, or ask an admin).',
  FORBIDDEN: 'Your key’s role does not allow this; ask an admin for a key with a higher role.',
  RATE_LIMITED: 'Too many requests for now; wait a minute and try again.',
  QUOTA_EXCEEDED: 'Your tenant’s quota is used up; delete videos or ask an operator to raise it.',
  LIMIT_EXCEEDED:
    'The request is over a server limit; send less (a smaller file, a shorter text, a smaller page).',
  BAD_USER_INPUT: 'Check the values you entered and try again.',
  NOT_FOUND: 'It may have been deleted; reload the list.',
  CONFLICT: 'Something else changed it at the same time; reload and try again.',
  UPLOAD_EXPIRED: 'The upload URL expired; start the upload again.',
  UNSUPPORTED_MEDIA_TYPE: 'Send a video file (mp4, webm, mov, mkv, avi).',
  VIDEO_UNREADABLE: 'ffmpeg could not read the video; check the file plays, or re-encode it.',
  VIDEO_FORMAT_UNSUPPORTED: 'Re-encode the video to H.264 MP4 and upload it again.',
  VIDEO_TOO_LARGE: 'The video is over the size or duration limit; cut it into shorter pieces.',
  MODEL_NOT_READY: 'The model is still warming up; try again in a few seconds.',
  ENCODER_OVERLOADED: 'The server is busy; try again in a few seconds.',
  UNAVAILABLE: 'The server is temporarily unavailable; try again shortly.',
  TIMEOUT: 'The server took too long; try again.',
  NETWORK: 'The server cannot be reached; check it is running and your connection.',
  INTERNAL: 'The server failed unexpectedly; try again, and check its log if it persists.',
};

export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
  /** What the user can do about it. */
  get remedy(): string {
    return REMEDIES[this.code] ?? 'Try again; if it persists, check the server log.';
  }
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: string };
}

function toApiError(errors: readonly GraphQLErrorShape[] | undefined, status: number): ApiError {
  const first = errors?.[0];
  return new ApiError(
    first?.extensions?.code ?? (status === 401 ? 'UNAUTHENTICATED' : 'INTERNAL'),
    first?.message ?? `HTTP ${status}`,
  );
}

/** Runs one query or mutation with the session's key; throws ApiError. */
export async function request<Result, Variables>(
  key: string,
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
  } catch (error) {
    throw new ApiError('NETWORK', (error as Error).message);
  }
  let body: { data?: Result | null; errors?: GraphQLErrorShape[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new ApiError(
      response.ok ? 'INTERNAL' : 'UNAVAILABLE',
      `The server answered HTTP ${response.status} without JSON`,
    );
  }
  if (body.errors && body.errors.length > 0) throw toApiError(body.errors, response.status);
  if (!response.ok || body.data === undefined || body.data === null)
    throw toApiError(undefined, response.status);
  return body.data;
}

let socket: { key: string; client: Client } | undefined;

/** The graphql-ws client of this key (one socket shared by every subscription). */
function subscriptionClient(key: string): Client {
  if (socket?.key === key) return socket.client;
  void socket?.client.dispose();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  socket = {
    key,
    client: createClient({ url, connectionParams: { authorization: `Bearer ${key}` }, lazy: true }),
  };
  return socket.client;
}

/** Closes the subscription socket (on sign-out). */
export function closeSubscriptions(): void {
  void socket?.client.dispose();
  socket = undefined;
}

/** Subscribes; returns the function that unsubscribes. */
export function subscribe<Result, Variables>(
  key: string,
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
  handlers: { next(value: Result): void; error?(error: ApiError): void; complete?(): void },
): () => void {
  return subscriptionClient(key).subscribe<Result>(
    { query: print(document), variables: variables as Record<string, unknown> },
    {
      next: (value) => {
        if (value.errors && value.errors.length > 0) handlers.error?.(toApiError(value.errors, 200));
        else if (value.data) handlers.next(value.data);
      },
      error: (error: unknown) => {
        const message =
          error instanceof Error
            ? error.message
            : Array.isArray(error)
              ? String((error[0] as GraphQLErrorShape).message)
              : 'The live connection closed';
        handlers.error?.(new ApiError('NETWORK', message));
      },
      complete: () => handlers.complete?.(),
    },
  );
}

/** PUTs a file to an upload URL with byte progress; resolves with the ingest job's id. */
export function uploadFile(
  uploadUrl: string,
  file: File,
  onProgress: (sent: number, total: number) => void,
): { done: Promise<string>; abort(): void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<string>((resolve, reject) => {
    xhr.upload.addEventListener('progress', (event) =>
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size),
    );
    xhr.addEventListener('load', () => {
      let body: { jobId?: string; errors?: GraphQLErrorShape[] } = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // Reported below as an HTTP error.
      }
      if (xhr.status >= 200 && xhr.status < 300 && typeof body.jobId === 'string') resolve(body.jobId);
      else reject(toApiError(body.errors, xhr.status));
    });
    xhr.addEventListener('error', () => reject(new ApiError('NETWORK', 'The upload connection failed')));
    xhr.addEventListener('abort', () => reject(new ApiError('BAD_USER_INPUT', 'Upload cancelled')));
  });
  // The ticket's URL is on this server; its path is what the browser sends to (same origin).
  xhr.open('PUT', new URL(uploadUrl, location.href).pathname);
  xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
  xhr.send(file);
  return { done, abort: () => xhr.abort() };
}
