/**
 * The Kafka event bus against the broker from infra/: the shared EventBus contract, then what only a
 * real broker shows: topics created with the configured partitions, one key on one partition, a
 * member stopped mid-back-off handing its message on uncommitted, foreign non-JSON records
 * dead-lettered, and a clear retriable error when no broker answers. Topics and groups carry this
 * run's id and are deleted at the end.
 */
import kafkajs from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';

import { HbiError } from '../../../src/core/errors.js';
import type { KafkaBusOptions, KafkaEventBus } from '../../../src/core/events/kafka.js';
import { createKafkaEventBus } from '../../../src/core/events/kafka.js';
import type { EventMessage } from '../../../src/core/events/port.js';
import { deadLetterTopic } from '../../../src/core/events/port.js';
import { eventually } from '../../helpers/fixtures.js';
import { eventBusContract } from '../../unit/events/event-bus-contract.js';
import { RUN_ID, deleteKafkaLeftovers, infraSettings, uniqueName } from '../infra.js';

const settings = infraSettings();
const TOPIC_PREFIX = `it-${RUN_ID}.`;
const GROUP_PREFIX = `it-${RUN_ID}`;
const WAIT_MS = 60_000;

/** Quick to notice rebalances, so members join and leave groups in about a second. */
function open(options: Partial<KafkaBusOptions> = {}): Promise<KafkaEventBus> {
  return createKafkaEventBus({
    brokers: settings.kafkaBrokers,
    partitions: 4,
    groupPrefix: `${uniqueName(GROUP_PREFIX)}.`,
    heartbeatIntervalMs: 300,
    sessionTimeoutMs: 10_000,
    fetchMaxWaitMs: 200,
    ...options,
  });
}

afterAll(() => deleteKafkaLeftovers(settings, `it-${RUN_ID}`));

eventBusContract('kafka', () => open(), { timeoutMs: WAIT_MS, topicPrefix: TOPIC_PREFIX });

describe('Kafka bus specifics', () => {
  const topic = (name: string) => `${uniqueName(TOPIC_PREFIX)}.${name}`;
  const withBus = (test: (bus: KafkaEventBus) => Promise<void>) => async () => {
    const bus = await open();
    try {
      await test(bus);
    } finally {
      await bus.close();
    }
  };

  it(
    'creates topics (and their dead-letter topics) with the configured partitions',
    withBus(async (bus) => {
      const name = topic('video.stored');
      await bus.subscribe({ topics: [name], group: 'g', handler: () => Promise.resolve() });
      const admin = new kafkajs.Kafka({
        brokers: settings.kafkaBrokers,
        logLevel: kafkajs.logLevel.NOTHING,
      }).admin();
      await admin.connect();
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [name, deadLetterTopic(name)] });
        expect(topics.map((t) => t.partitions.length)).toEqual([4, 4]);
      } finally {
        await admin.disconnect();
      }
    }),
  );

  it(
    'puts every message of one key on one partition, and spreads keys over partitions',
    withBus(async (bus) => {
      const name = topic('t');
      const seen: EventMessage<number>[] = [];
      await bus.subscribe<number>({ topics: [name], group: 'g', handler: async (m) => void seen.push(m) });
      const keys = Array.from({ length: 8 }, (_, i) => `video-${i}`);
      await bus.publish(
        name,
        keys.flatMap((key) => [0, 1, 2].map((value) => ({ key, value }))),
      );
      await eventually(() => seen.length === 24, WAIT_MS);
      for (const key of keys) {
        const mine = seen.filter((m) => m.key === key);
        expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
        expect(mine.map((m) => m.value)).toEqual([0, 1, 2]);
      }
      expect(new Set(seen.map((m) => m.partition)).size).toBeGreaterThan(1);
    }),
  );

  it(
    'hands a message on uncommitted when its member stops during a retry back-off',
    withBus(async (bus) => {
      const name = topic('t');
      const first: EventMessage[] = [];
      const member = await bus.subscribe({
        topics: [name],
        group: 'g',
        retryDelayMs: 120_000,
        handler: async (m) => {
          first.push(m);
          throw new HbiError('UNAVAILABLE', 'worker is going away');
        },
      });
      await bus.publish(name, [{ key: 'v1', value: 'work' }]);
      await eventually(() => first.length === 1, WAIT_MS);
      const started = Date.now();
      await member.stop();
      expect(Date.now() - started).toBeLessThan(30_000); // not the two-minute back-off
      const second: EventMessage[] = [];
      await bus.subscribe({ topics: [name], group: 'g', handler: async (m) => void second.push(m) });
      await eventually(() => second.length === 1, WAIT_MS);
      expect(second[0]).toMatchObject({ value: 'work', offset: first[0]!.offset, attempt: 1 });
    }),
  );

  it(
    'dead-letters a record that is not JSON (a foreign producer), then carries on',
    withBus(async (bus) => {
      const name = topic('t');
      await bus.ensureTopics([name]);
      const producer = new kafkajs.Kafka({
        brokers: settings.kafkaBrokers,
        logLevel: kafkajs.logLevel.NOTHING,
      }).producer();
      await producer.connect();
      try {
        await producer.send({ topic: name, messages: [{ key: 'k', value: 'not json {' }] });
      } finally {
        await producer.disconnect();
      }
      await bus.publish(name, [{ key: 'k', value: 'fine' }]);
      const handled: unknown[] = [];
      await bus.subscribe({ topics: [name], group: 'g', handler: async (m) => void handled.push(m.value) });
      await eventually(() => handled.length === 1, WAIT_MS);
      expect(handled).toEqual(['fine']);
      let letters: Awaited<ReturnType<KafkaEventBus['listDeadLetters']>> = [];
      await eventually(async () => (letters = await bus.listDeadLetters(name)).length === 1, WAIT_MS);
      expect(letters[0]).toMatchObject({ value: 'not json {', errorCode: 'BAD_USER_INPUT', attempts: 1 });
    }),
  );

  it('waits for the message in hand on close, and refuses work afterwards', async () => {
    const bus = await open();
    const name = topic('t');
    let finished = false;
    let started = false;
    await bus.subscribe({
      topics: [name],
      group: 'g',
      handler: async () => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        finished = true;
      },
    });
    await bus.publish(name, [{ key: 'k', value: 1 }]);
    await eventually(() => started, WAIT_MS);
    await bus.close();
    expect(finished).toBe(true);
    await expect(bus.publish(name, [{ key: 'k', value: 2 }])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('fails to start with UNAVAILABLE (retriable) when no broker answers', async () => {
    await expect(open({ brokers: ['127.0.0.1:1'], retries: 1 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retriable: true,
    });
  });
});
