/**
 * The Kafka task dispatcher against the real broker, in one process: a gateway-side dispatcher and
 * worker-side members of the `workers` group, the workers running items through an in-process
 * dispatcher over a fake plugin handler. Items come back to the right caller, batched per kind,
 * typed errors survive the trip, nobody answering is TIMEOUT, no broker is UNAVAILABLE.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { HbiError } from '../../../src/core/errors.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { TaskContext } from '../../../src/core/plugins/define-plugin.js';
import { defineTask } from '../../../src/core/plugins/define-plugin.js';
import { InProcessTaskDispatcher } from '../../../src/core/tasks/in-process.js';
import { KafkaTaskDispatcher } from '../../../src/core/tasks/kafka.js';
import { KafkaTaskWorker } from '../../../src/core/tasks/kafka-worker.js';
import { deleteKafkaLeftovers, infraSettings, uniqueName } from '../infra.js';

const settings = infraSettings();
const prefix = `${uniqueName('it-tasks-')}.`;
const logger = createMemoryLogger();
const bus = {
  brokers: settings.kafkaBrokers,
  topicPrefix: prefix,
  partitions: 3,
  sessionTimeoutMs: 8_000,
  logger,
};

const TENANT = '00000000-0000-4000-8000-00000000000a';
const OTHER = '00000000-0000-4000-8000-00000000000b';
const batches: number[] = [];
const echo = defineTask({
  kind: 'test.echo',
  input: z.object({ text: z.string() }),
  maxBatchSize: 8,
  async handle(batch, context: TaskContext) {
    batches.push(batch.length);
    return batch.map((item) =>
      item.input.text === 'bad'
        ? {
            ok: false as const,
            error: new HbiError('NOT_FOUND', 'no such thing', { details: { text: 'bad' } }),
          }
        : { ok: true as const, value: { echoed: item.input.text.toUpperCase(), tenant: context.tenantId } },
    );
  },
});

function workerDispatcher(): InProcessTaskDispatcher {
  return new InProcessTaskDispatcher({
    route: (kind) =>
      kind === 'test.echo'
        ? { handler: echo, context: (tenantId: string) => ({ tenantId }) as TaskContext }
        : undefined,
    kinds: ['test.echo'],
    maxDelayMs: 20,
    logger,
  });
}

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await deleteKafkaLeftovers(settings, prefix).catch(() => undefined);
});

describe('KafkaTaskDispatcher and KafkaTaskWorker', () => {
  it('answers each item through a worker, batched per kind, with typed errors per item', async () => {
    const gateway = await KafkaTaskDispatcher.start({
      ...bus,
      kinds: ['test.echo'],
      inputSchema: () => echo.input,
      defaultTimeoutMs: 60_000,
    });
    closers.push(() => gateway.close());
    for (const workerId of ['w1', 'w2']) {
      const dispatcher = workerDispatcher();
      const worker = await KafkaTaskWorker.start({ ...bus, dispatcher, workerId });
      closers.push(
        () => dispatcher.close(),
        () => worker.stop(),
      );
    }
    const texts = Array.from({ length: 40 }, (_, index) => `item ${index}`);
    // Every other item for a second tenant: the tenant crosses the bus and binds the worker's context.
    const tenantOf = (index: number) => (index % 2 ? OTHER : TENANT);
    const results = (await Promise.all(
      texts.map((text, index) => gateway.run('test.echo', { text }, { tenantId: tenantOf(index) })),
    )) as { echoed: string; tenant: string }[];
    expect(results.map((result) => result.echoed)).toEqual(texts.map((text) => text.toUpperCase()));
    expect(results.map((result) => result.tenant)).toEqual(texts.map((_, index) => tenantOf(index)));
    // Items pulled together ran together: fewer handler calls than items.
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(40);
    expect(batches.length).toBeLessThan(40);

    const failure = await gateway
      .run('test.echo', { text: 'bad' }, { tenantId: TENANT })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'NOT_FOUND', message: 'no such thing', details: { text: 'bad' } });
    await expect(gateway.run('test.echo', { text: 3 }, { tenantId: TENANT })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(gateway.run('test.nope', {}, { tenantId: TENANT })).rejects.toMatchObject({
      code: 'TASK_UNKNOWN',
    });
  });

  it('gives TIMEOUT (retriable) when no worker answers in time', async () => {
    const lonely = await KafkaTaskDispatcher.start({
      ...bus,
      topicPrefix: `${prefix}lonely.`,
      kinds: ['test.echo'],
    });
    closers.push(() => lonely.close());
    await expect(
      lonely.run('test.echo', { text: 'x' }, { tenantId: TENANT, timeoutMs: 1_500 }),
    ).rejects.toMatchObject({
      code: 'TIMEOUT',
      retriable: true,
    });
  });

  it('gives UNAVAILABLE (retriable) when Kafka cannot be reached', async () => {
    const started = KafkaTaskDispatcher.start({ ...bus, brokers: ['127.0.0.1:1'], kinds: ['test.echo'] });
    await expect(started).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
  });
});
