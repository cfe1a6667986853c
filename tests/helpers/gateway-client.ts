/** A small GraphQL client for tests that drive the gateway as a frontend would: HTTP, uploads, graphql-ws. */
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

type Json = Record<string, any>;

export interface GraphQLAnswer {
  status: number;
  body: Json;
}

export interface GatewayClient {
  /** POSTs one operation; the body as JSON, whatever the status. */
  graphql(query: string, variables?: Json): Promise<GraphQLAnswer>;
  /** The error codes of an answer, in order. */
  codes(answer: GraphQLAnswer): string[];
  /** createUpload for `bytes`, then PUT them; the ticket and the PUT's status and JSON body. */
  upload(
    bytes: Uint8Array,
    options?: { filename?: string; title?: string; cameraId?: string; declaredBytes?: number },
  ): Promise<{ ticket: Json; status: number; body: Json }>;
  /** Polls `job(id)` until it is SUCCEEDED, FAILED or CANCELLED; returns it. */
  finishedJob(jobId: string, timeoutMs?: number): Promise<Json>;
  /** A graphql-ws client on the same URL (dispose it when done). */
  webSocket(): Client;
  /** Collects what a subscription sends until it completes, errors, or `until` says stop. */
  collect(client: Client, query: string, variables?: Json, until?: (value: Json) => boolean): Promise<Json[]>;
}

export const JOB_FIELDS =
  'id kind status progress doneSteps totalSteps attempts videoId error { code message }';

/** A client of the gateway at `url`, sending `apiKey` (when given) as the bearer token, on HTTP and WebSocket. */
export function gatewayClient(url: string, apiKey?: string): GatewayClient {
  const authorization: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const graphql = async (query: string, variables: Json = {}): Promise<GraphQLAnswer> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authorization },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };
  return {
    graphql,
    codes: (answer) => (answer.body.errors ?? []).map((error: Json) => error.extensions?.code as string),
    async upload(bytes, options = {}) {
      const created = await graphql(
        `
          mutation ($filename: String!, $size: SafeInt!, $title: String, $cameraId: ID) {
            createUpload(
              filename: $filename
              contentType: "video/mp4"
              sizeBytes: $size
              title: $title
              cameraId: $cameraId
            ) {
              uploadId
              uploadUrl
              objectKey
              expiresAt
              maxBytes
            }
          }
        `,
        {
          filename: options.filename ?? 'clip.mp4',
          size: options.declaredBytes ?? bytes.length,
          title: options.title ?? null,
          cameraId: options.cameraId ?? null,
        },
      );
      if (created.body.errors) throw new Error(`createUpload failed: ${JSON.stringify(created.body.errors)}`);
      const ticket = created.body.data.createUpload as Json;
      const response = await fetch(ticket.uploadUrl as string, { method: 'PUT', body: bytes });
      return { ticket, status: response.status, body: (await response.json()) as Json };
    },
    async finishedJob(jobId, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { body } = await graphql(`query ($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id: jobId });
        const job = body.data?.job as Json | undefined;
        if (job && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status as string)) return job;
        if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish: ${JSON.stringify(body)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    webSocket: () =>
      createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: authorization,
      }),
    collect(client, query, variables = {}, until = () => false) {
      return new Promise((resolve, reject) => {
        const seen: Json[] = [];
        const stop = client.subscribe(
          { query, variables },
          {
            next: (value) => {
              seen.push(value);
              if (until(value)) {
                stop();
                resolve(seen);
              }
            },
            // graphql-ws hands operation errors over as the GraphQL error list.
            error: (error) =>
              reject(
                error instanceof Error
                  ? error
                  : Object.assign(new Error('subscription failed'), { errors: error }),
              ),
            complete: () => resolve(seen),
          },
        );
      });
    },
  };
}
