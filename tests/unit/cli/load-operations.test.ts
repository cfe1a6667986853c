/**
 * The load bench's subscription client against sockets that go wrong: each becomes the operation's
 * outcome, never an unhandled rejection that would end the bench mid-run (a real run crashed on one).
 */
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';

import { subscribeOnce } from '../../../src/cli/bench/load-operations.js';

let server: WebSocketServer | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function serve(onConnection: (socket: WebSocket) => void): Promise<string> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'graphql-transport-ws' });
  server.on('connection', onConnection);
  await new Promise((resolve) => server!.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

const target = (url: string) => ({ url, apiKey: 'hbi_test', timeoutMs: 5_000, checkUrl: () => undefined });

describe('subscribeOnce', () => {
  it('reports a socket the server closes before acknowledging as WS_CLOSED_<code>', async () => {
    const url = await serve((socket) => socket.close(1013, 'try again later'));
    const outcome = await subscribeOnce(target(url), '00000000-0000-4000-8000-000000000000');
    expect(outcome).toMatchObject({ ok: false, code: 'WS_CLOSED_1013' });
  });

  it('reports a socket cut without a close frame, and the bench process goes on', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const url = await serve((socket) => socket.terminate());
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () => subscribeOnce(target(url), '00000000-0000-4000-8000-000000000000')),
      );
      for (const outcome of outcomes) expect(outcome.ok).toBe(false);
      // Rejections surface on a later turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
