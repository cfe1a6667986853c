import { describe, expect, it } from 'vitest';

import { createKafkaTopics, isRetriableKafkaError } from '../../../src/core/events/kafka-topics.js';
import type { TopicAdmin, TopicSpec } from '../../../src/core/events/kafka-topics.js';

/** What a KafkaJS protocol error looks like (name, type, code, retriable). */
function protocolError(type: string, code: number, retriable: boolean): Error {
  return Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, code, retriable });
}

const UNKNOWN_TOPIC = () => protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true);
const INVALID_PARTITIONS = () => protocolError('INVALID_PARTITIONS', 37, false);

/**
 * An in-process stand-in for a broker whose metadata lags behind topic creation: `createTopics`
 * records the topic, but the first `lagCalls` calls that look at metadata fail as a settling KRaft
 * broker does.
 */
class SettlingAdmin implements TopicAdmin {
  readonly topics = new Map<string, number>();
  createCalls = 0;
  metadataFailures: number;
  createError: (() => Error) | undefined;

  constructor(metadataFailures: number, createError?: () => Error) {
    this.metadataFailures = metadataFailures;
    this.createError = createError;
  }

  listTopics(): Promise<string[]> {
    return Promise.resolve([...this.topics.keys()]);
  }

  createTopics(options: { topics: { topic: string; numPartitions?: number }[] }): Promise<boolean> {
    this.createCalls += 1;
    if (this.createError) return Promise.reject(this.createError());
    let created = false;
    for (const spec of options.topics) {
      if (!this.topics.has(spec.topic)) {
        this.topics.set(spec.topic, spec.numPartitions ?? 1);
        created = true;
      }
    }
    // Like KafkaJS: the wait for leaders fails while metadata has not caught up.
    if (this.metadataFailures > 0) {
      this.metadataFailures -= 1;
      return Promise.reject(UNKNOWN_TOPIC());
    }
    return Promise.resolve(created);
  }

  fetchTopicMetadata(options?: { topics: string[] }) {
    if (this.metadataFailures > 0) {
      this.metadataFailures -= 1;
      return Promise.reject(UNKNOWN_TOPIC());
    }
    const names = options?.topics ?? [...this.topics.keys()];
    return Promise.resolve({
      topics: names.map((name) => {
        const count = this.topics.get(name);
        if (count === undefined) throw UNKNOWN_TOPIC();
        return {
          name,
          partitions: Array.from({ length: count }, (_, partitionId) => ({
            partitionErrorCode: 0,
            partitionId,
            leader: 1,
            replicas: [1],
            isr: [1],
            offlineReplicas: [],
          })),
        };
      }),
    });
  }
}

/** A clock that only moves when the helper sleeps, so back-off and deadlines are exact. */
function fakeClock() {
  let time = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => time,
    sleep: (ms: number) => {
      sleeps.push(ms);
      time += ms;
      return Promise.resolve();
    },
  };
}

const SPECS: TopicSpec[] = [
  { topic: 'a', numPartitions: 3, replicationFactor: 1 },
  { topic: 'b', numPartitions: 1, replicationFactor: 1 },
];

describe('createKafkaTopics', () => {
  it('creates missing topics once and returns when every partition has a leader', async () => {
    const admin = new SettlingAdmin(0);
    const clock = fakeClock();
    await createKafkaTopics(admin, SPECS, clock);
    expect(Object.fromEntries(admin.topics)).toEqual({ a: 3, b: 1 });
    expect(admin.createCalls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('does not call createTopics for topics that already exist', async () => {
    const admin = new SettlingAdmin(0);
    admin.topics.set('a', 3);
    admin.topics.set('b', 1);
    await createKafkaTopics(admin, SPECS, fakeClock());
    expect(admin.createCalls).toBe(0);
  });

  it('retries "This server does not host this topic-partition" with doubling back-off until it settles', async () => {
    const admin = new SettlingAdmin(3);
    const clock = fakeClock();
    const retries: number[] = [];
    await createKafkaTopics(admin, SPECS, {
      ...clock,
      onRetry: (_error, attempt) => retries.push(attempt),
    });
    expect(Object.fromEntries(admin.topics)).toEqual({ a: 3, b: 1 });
    expect(clock.sleeps).toEqual([200, 400, 800]);
    expect(retries).toEqual([1, 2, 3]);
    // The topics existed after the first call: later rounds only waited for metadata.
    expect(admin.createCalls).toBe(1);
  });

  it('fails at once on an error another try cannot fix', async () => {
    const admin = new SettlingAdmin(0, INVALID_PARTITIONS);
    const clock = fakeClock();
    await expect(createKafkaTopics(admin, SPECS, clock)).rejects.toMatchObject({
      type: 'INVALID_PARTITIONS',
    });
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up with the last error once the deadline has passed', async () => {
    const admin = new SettlingAdmin(Number.POSITIVE_INFINITY);
    const clock = fakeClock();
    await expect(createKafkaTopics(admin, SPECS, { ...clock, deadlineMs: 5_000 })).rejects.toMatchObject({
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    const waited = clock.sleeps.reduce((sum, ms) => sum + ms, 0);
    expect(waited).toBeLessThanOrEqual(5_000);
    expect(Math.max(...clock.sleeps)).toBe(2_000);
  });
});

describe('isRetriableKafkaError', () => {
  it('follows KafkaJS: retriable protocol errors, connection trouble, exhausted retries of retriable errors', () => {
    expect(isRetriableKafkaError(UNKNOWN_TOPIC())).toBe(true);
    expect(isRetriableKafkaError(INVALID_PARTITIONS())).toBe(false);
    expect(isRetriableKafkaError(Object.assign(new Error('x'), { name: 'KafkaJSConnectionError' }))).toBe(
      true,
    );
    expect(
      isRetriableKafkaError(
        Object.assign(new Error('x'), {
          name: 'KafkaJSNumberOfRetriesExceeded',
          originalError: UNKNOWN_TOPIC(),
        }),
      ),
    ).toBe(true);
    expect(
      isRetriableKafkaError(
        Object.assign(new Error('x'), {
          name: 'KafkaJSNumberOfRetriesExceeded',
          originalError: INVALID_PARTITIONS(),
        }),
      ),
    ).toBe(false);
    expect(
      isRetriableKafkaError(Object.assign(new Error('x'), { errors: [UNKNOWN_TOPIC(), UNKNOWN_TOPIC()] })),
    ).toBe(true);
    expect(
      isRetriableKafkaError(
        Object.assign(new Error('x'), { errors: [UNKNOWN_TOPIC(), INVALID_PARTITIONS()] }),
      ),
    ).toBe(false);
    expect(isRetriableKafkaError(new Error('plain'))).toBe(false);
    expect(isRetriableKafkaError(undefined)).toBe(false);
  });
});
