/**
 * What a camera agent asks of the platform, over its public GraphQL API only (so the agent runs on any
 * machine that reaches a gateway): register the camera, report its status, upload a segment through
 * `createUpload` + PUT (the gateway stores it and queues its ingest job), and read the state of those
 * jobs. Failures carry `retriable`: the platform unreachable or busy (retry later) versus a refusal
 * (retrying the same request will not help).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { SpooledSegment } from './spool.js';

/** A request the platform did not accept; `retriable` says whether the same request may work later. */
export class PlatformRequestError extends Error {
  override readonly name = 'PlatformRequestError';
  constructor(
    message: string,
    readonly retriable: boolean,
    /** The server's error code, when it answered with one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export type CameraState = 'ONLINE' | 'OFFLINE';
export type JobState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface JobReport {
  id: string;
  status: JobState;
  finishedAt: string | null;
  videoId: string | null;
  error: { code: string; message: string } | null;
}

/** The agent's view of the platform (a fake in unit tests). */
export interface PlatformClient {
  registerCamera(input: {
    id?: string;
    name: string;
    sourceUrl?: string;
  }): Promise<{ id: string; name: string }>;
  setCameraStatus(id: string, status: CameraState): Promise<void>;
  /** Uploads one spooled segment; resolves with its ingest job's id once the server accepted the bytes. */
  uploadSegment(segment: SpooledSegment): Promise<{ jobId: string }>;
  /** The current state of jobs, by id (unknown ids are left out). */
  jobs(ids: readonly string[]): Promise<JobReport[]>;
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string; retriable?: boolean } }[];
}

/** Codes a retry can cure even when the server did not flag them retriable. */
const RETRY_CODES = new Set([
  'UNAVAILABLE',
  'TIMEOUT',
  'MODEL_NOT_READY',
  'ENCODER_OVERLOADED',
  'UPLOAD_EXPIRED',
]);

/** A client of the gateway at `url` (its /graphql endpoint); `timeoutMs` bounds each request. */
export function createPlatformClient(
  url: string,
  options: { timeoutMs?: number; fetch?: typeof fetch; apiKey?: string } = {},
): PlatformClient {
  const authorization: Record<string, string> = options.apiKey
    ? { authorization: `Bearer ${options.apiKey}` }
    : {};
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function send(target: string, init: RequestInit): Promise<{ status: number; body: GraphQLBody }> {
    let response: Response;
    try {
      response = await fetchImpl(target, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new PlatformRequestError(
        `Cannot reach the platform at ${new URL(target).origin} (${cause})`,
        true,
      );
    }
    const text = await response.text().catch(() => '');
    let body: GraphQLBody = {};
    try {
      body = text ? (JSON.parse(text) as GraphQLBody) : {};
    } catch {
      throw new PlatformRequestError(
        `The platform answered HTTP ${response.status} without JSON`,
        response.status >= 500,
      );
    }
    const [first] = body.errors ?? [];
    if (first || response.status >= 400) {
      const code = first?.extensions?.code;
      const retriable =
        first?.extensions?.retriable === true ||
        (code !== undefined && RETRY_CODES.has(code)) ||
        response.status >= 500 ||
        response.status === 429;
      throw new PlatformRequestError(
        `${code ? `${code}: ` : ''}${first?.message ?? `HTTP ${response.status}`}`,
        retriable,
        code,
      );
    }
    return { status: response.status, body };
  }

  async function graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const { body } = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...authorization },
      body: JSON.stringify({ query, variables }),
    });
    if (!body.data) throw new PlatformRequestError('The platform answered without data', true);
    return body.data as T;
  }

  return {
    async registerCamera(input) {
      const data = await graphql<{ registerCamera: { id: string; name: string } }>(
        `
          mutation ($name: String!, $id: ID, $sourceUrl: String) {
            registerCamera(name: $name, id: $id, sourceUrl: $sourceUrl) {
              id
              name
            }
          }
        `,
        { name: input.name, id: input.id ?? null, sourceUrl: input.sourceUrl ?? null },
      );
      return data.registerCamera;
    },
    async setCameraStatus(id, status) {
      await graphql(
        `
          mutation ($id: ID!, $status: CameraStatus!) {
            setCameraStatus(id: $id, status: $status) {
              id
            }
          }
        `,
        {
          id,
          status,
        },
      );
    },
    async uploadSegment(segment) {
      const bytes = await readFile(segment.file);
      const data = await graphql<{ createUpload: { uploadUrl: string } }>(
        `
          mutation (
            $filename: String!
            $size: SafeInt!
            $title: String
            $cameraId: ID
            $capturedAt: DateTime
          ) {
            createUpload(
              filename: $filename
              contentType: "video/mp4"
              sizeBytes: $size
              title: $title
              cameraId: $cameraId
              capturedAt: $capturedAt
            ) {
              uploadUrl
            }
          }
        `,
        {
          filename: path.basename(segment.file),
          size: bytes.length,
          title: `camera ${segment.cameraId} segment ${segment.index} at ${segment.capturedAt}`,
          cameraId: segment.cameraId,
          capturedAt: segment.capturedAt,
        },
      );
      const { status, body } = await send(data.createUpload.uploadUrl, {
        method: 'PUT',
        headers: { 'content-type': 'video/mp4' },
        body: bytes,
      });
      const jobId = (body as { jobId?: unknown }).jobId;
      if (status !== 202 || typeof jobId !== 'string') {
        throw new PlatformRequestError(`The upload answered HTTP ${status} without a job`, true);
      }
      return { jobId };
    },
    async jobs(ids) {
      if (ids.length === 0) return [];
      const fields = ids.map(
        (_, i) => `j${i}: job(id: $id${i}) { id status finishedAt videoId error { code message } }`,
      );
      const declared = ids.map((_, i) => `$id${i}: ID!`).join(', ');
      const variables = Object.fromEntries(ids.map((id, i) => [`id${i}`, id]));
      const data = await graphql<Record<string, JobReport | null>>(
        `query (${declared}) { ${fields.join(' ')} }`,
        variables,
      );
      return Object.values(data).filter((job): job is JobReport => job !== null);
    },
  };
}
