/**
 * How search/ask/caption report a server that is down, refuses, or is busy: each its own exit code.
 * The server is a fake `fetch` here; client-commands.test.ts runs them against a real server.
 */
import 'reflect-metadata';

import { describe, expect, it } from 'vitest';

import { DEFAULT_API_URL } from '../../../src/cli/api-client.js';
import { EXIT_CODES } from '../../../src/cli/exit-codes.js';
import { runCli } from '../../../src/cli/run.js';
import { captureIo } from '../../helpers/cli-io.js';

interface Sent {
  url: string;
  query: string;
  variables: Record<string, unknown>;
}

/** A fake server: `answer` gets each request and returns the JSON body to send back. */
function fakeServer(answer: (sent: Sent) => unknown) {
  const sent: Sent[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const body = JSON.parse(init.body as string) as Omit<Sent, 'url'>;
    sent.push({ url, ...body });
    return new Response(JSON.stringify(answer(sent.at(-1)!)), {
      headers: { 'content-type': 'application/json' },
    });
  }) as unknown as typeof fetch;
  return { sent, fetchImpl };
}

const graphqlError = (message: string, code: string, retriable = false) => ({
  errors: [{ message, extensions: { code, retriable } }],
});

async function hbi(argv: string[], fetchImpl: typeof fetch, env: Record<string, string> = {}) {
  const captured = captureIo(env, fetchImpl);
  const code = await runCli(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

const ANSWER = {
  question: 'what colour?',
  answer: 'red',
  confidence: 0.9,
  scope: 'VIDEO',
  videoId: 'v',
  segmentId: null,
  alternatives: [{ answer: 'blue', confidence: 0.05 }],
  segments: [{ segmentId: 's', index: 0, startMs: 0, endMs: 3000, answer: 'red', confidence: 0.9 }],
  warnings: [],
  cached: false,
  modelVersion: 'm@1',
};

describe('hbi search/ask/caption: talking to the server', () => {
  it('uses the default URL, then HBI_URL, then --url', async () => {
    const { sent, fetchImpl } = fakeServer(() => ({
      data: { search: { totalCount: 0, model: 'm', warnings: [], edges: [] } },
    }));
    await hbi(['search', 'a red ball'], fetchImpl);
    await hbi(['search', 'a red ball'], fetchImpl, { HBI_URL: 'http://env.example/graphql' });
    await hbi(['search', 'a red ball', '--url', 'http://flag.example/graphql'], fetchImpl, {
      HBI_URL: 'http://env.example/graphql',
    });
    expect(sent.map((request) => request.url)).toEqual([
      DEFAULT_API_URL,
      'http://env.example/graphql',
      'http://flag.example/graphql',
    ]);
    expect(sent[0]!.variables).toEqual({ text: 'a red ball', first: 10 });
  });

  it('exits 3 when the server cannot be reached', async () => {
    const refused = (() =>
      Promise.reject(
        new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
      )) as unknown as typeof fetch;
    const { code, stderr } = await hbi(['search', 'a red ball'], refused);
    expect(code).toBe(EXIT_CODES.UNREACHABLE);
    expect(stderr).toContain(`Cannot reach the hbi server at ${DEFAULT_API_URL} (ECONNREFUSED)`);
  });

  it('exits 3 when the URL answers something that is not GraphQL', async () => {
    const html = (async () => new Response('<html>', { status: 404 })) as unknown as typeof fetch;
    expect((await hbi(['search', 'x'], html)).code).toBe(EXIT_CODES.UNREACHABLE);
  });

  it('exits 4 with the server’s code when it refuses, and 5 when the error is retriable', async () => {
    const refusing = fakeServer(() => graphqlError('first must be between 1 and 100', 'LIMIT_EXCEEDED'));
    expect(await hbi(['search', 'x'], refusing.fetchImpl)).toMatchObject({
      code: EXIT_CODES.REFUSED,
      stderr: expect.stringContaining('LIMIT_EXCEEDED: first must be between 1 and 100'),
    });
    const warming = fakeServer(() =>
      graphqlError('The encoder is warming; retry shortly', 'MODEL_NOT_READY', true),
    );
    expect((await hbi(['search', 'x'], warming.fetchImpl)).code).toBe(EXIT_CODES.BUSY);
  });

  it('asks about a segment first, then the same id as a video when no such segment exists', async () => {
    const { sent, fetchImpl } = fakeServer((request) =>
      request.variables.segmentId
        ? graphqlError('No segment "x"', 'NOT_FOUND')
        : { data: { answer: ANSWER } },
    );
    const { code, stdout } = await hbi(['ask', 'x', 'what colour?'], fetchImpl);
    expect(code).toBe(EXIT_CODES.OK);
    expect(sent.map((request) => [request.variables.segmentId, request.variables.videoId])).toEqual([
      ['x', null],
      [null, 'x'],
    ]);
    expect(stdout).toBe('red (90%)\n  also: blue 5%\n  0.0 s–3.0 s: red (90%)\n');
  });

  it('asks once when --video or --segment says what the id is, and fails with 4 when it is unknown', async () => {
    const { sent, fetchImpl } = fakeServer(() => graphqlError('No video "x"', 'NOT_FOUND'));
    const { code, stderr } = await hbi(['ask', 'x', 'what colour?', '--video'], fetchImpl);
    expect(sent).toHaveLength(1);
    expect(code).toBe(EXIT_CODES.REFUSED);
    expect(stderr).toContain('NOT_FOUND: No video "x"');
  });

  it('says which plugin is missing when the server has no answer or caption query', async () => {
    const { fetchImpl } = fakeServer(() =>
      graphqlError('Cannot query field "caption" on type "Query".', 'GRAPHQL_VALIDATION_FAILED'),
    );
    const { code, stderr } = await hbi(['caption', 'x'], fetchImpl);
    expect(code).toBe(EXIT_CODES.REFUSED);
    expect(stderr).toContain('has no "caption" query: is the captioning plugin loaded?');
  });

  it('captions with beam search when --beam is given, printing each segment of a video', async () => {
    const caption = {
      text: 'a red ball rises; a blue box falls',
      segments: [
        { segmentId: 'a', index: 0, startMs: 0, endMs: 3000, text: 'a red ball rises', score: -0.1 },
        { segmentId: 'b', index: 1, startMs: 3000, endMs: 6000, text: 'a blue box falls', score: -0.2 },
      ],
    };
    const { sent, fetchImpl } = fakeServer(() => ({ data: { caption } }));
    const { code, stdout } = await hbi(['caption', 'v', '--beam', '4', '--video'], fetchImpl);
    expect(code).toBe(EXIT_CODES.OK);
    expect(sent[0]!.variables).toEqual({ decoding: 'BEAM', beamSize: 4, segmentId: null, videoId: 'v' });
    expect(stdout).toBe(
      'a red ball rises; a blue box falls\n  0.0 s–3.0 s: a red ball rises\n  3.0 s–6.0 s: a blue box falls\n',
    );
  });

  it('prints the server’s answer as JSON with --json', async () => {
    const { fetchImpl } = fakeServer(() => ({ data: { answer: ANSWER } }));
    const { stdout } = await hbi(['ask', 'x', 'what colour?', '--segment', '--json'], fetchImpl);
    expect(JSON.parse(stdout)).toEqual(ANSWER);
  });
});
