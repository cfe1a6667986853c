/**
 * In-process event bus for the embedded mode. It keeps Kafka's semantics (partitions by key, consumer
 * groups, commit after success, retries then dead-letter) so code tested against it behaves the same on
 * Kafka. Messages are JSON-serialised on publish, as on the wire, so no handler shares mutable state
 * with the publisher.
 */
import { createHash } from 'node:crypto';

import { HbiError, isRetriable, toHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type {
  DeadLetter,
  EventBus,
  EventMessage,
  ListDeadLettersOptions,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
} from './port.js';
import { DEAD_LETTER_HEADERS, deadLetterTopic, newestDeadLetters, toDeadLetter } from './port.js';

export interface MemoryBusOptions {
  /** Partitions per topic; more lets members of one group work in parallel. Default 4. */
  partitions?: number;
  /** Messages kept per partition once every group has consumed them. Default 10 000. */
  retention?: number;
  logger?: Logger;
}

interface StoredMessage {
  offset: number;
  key: string;
  json: string;
  headers: Record<string, string>;
  timestamp: number;
}

interface Partition {
  /** Offset of `messages[0]`; older messages were trimmed. */
  base: number;
  messages: StoredMessage[];
}

interface Member {
  id: number;
  options: Required<Omit<SubscribeOptions, 'handler' | 'topics' | 'group'>> & SubscribeOptions;
  stopped: boolean;
  inFlight: Set<Promise<void>>;
}

interface Cursor {
  committed: number;
  attempt: number;
  busy: boolean;
  retryAt: number;
}

interface Group {
  members: Member[];
  /** `${topic}/${partition}` → position. */
  cursors: Map<string, Cursor>;
}

/** Creates the embedded bus. */
export function createMemoryEventBus(options: MemoryBusOptions = {}): EventBus {
  const partitionCount = options.partitions ?? 4;
  const retention = options.retention ?? 10_000;
  const topics = new Map<string, Partition[]>();
  const groups = new Map<string, Group>();
  let nextMemberId = 1;
  let closed = false;

  const topicPartitions = (topic: string): Partition[] => {
    let partitions = topics.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: partitionCount }, () => ({ base: 0, messages: [] }));
      topics.set(topic, partitions);
    }
    return partitions;
  };

  const partitionOf = (key: string) =>
    createHash('md5').update(key).digest().readUInt32BE(0) % partitionCount;

  /** Hands every deliverable message to its partition's owner; runs after anything changes. */
  function pump(): void {
    if (closed) return;
    for (const group of groups.values()) {
      for (const topic of topics.keys()) {
        const members = group.members.filter((m) => !m.stopped && m.options.topics.includes(topic));
        if (members.length === 0) continue;
        topicPartitions(topic).forEach((partition, index) => {
          const owner = members[index % members.length]!;
          const cursor = cursorFor(group, topic, index, partition, owner);
          if (cursor.busy || cursor.committed >= partition.base + partition.messages.length) return;
          const wait = cursor.retryAt - Date.now();
          if (wait > 0) {
            setTimeout(pump, wait).unref?.();
            return;
          }
          deliver(owner, cursor, topic, index, partition.messages[cursor.committed - partition.base]!);
        });
      }
    }
  }

  function cursorFor(
    group: Group,
    topic: string,
    index: number,
    partition: Partition,
    owner: Member,
  ): Cursor {
    const id = `${topic}/${index}`;
    let cursor = group.cursors.get(id);
    if (!cursor) {
      const start = owner.options.fromBeginning ? partition.base : partition.base + partition.messages.length;
      cursor = { committed: start, attempt: 0, busy: false, retryAt: 0 };
      group.cursors.set(id, cursor);
    }
    return cursor;
  }

  function deliver(
    member: Member,
    cursor: Cursor,
    topic: string,
    partition: number,
    stored: StoredMessage,
  ): void {
    cursor.busy = true;
    cursor.attempt += 1;
    const message: EventMessage = {
      topic,
      partition,
      offset: String(stored.offset),
      key: stored.key,
      value: JSON.parse(stored.json) as unknown,
      headers: { ...stored.headers },
      timestamp: stored.timestamp,
      attempt: cursor.attempt,
    };
    const run = (async () => {
      try {
        await member.options.handler(message);
        advance(cursor);
      } catch (error) {
        const attemptsLeft = isRetriable(error) && cursor.attempt < member.options.maxAttempts;
        if (attemptsLeft) {
          cursor.retryAt = Date.now() + member.options.retryDelayMs * 2 ** (cursor.attempt - 1);
          options.logger?.warn('event handler failed; will retry', { topic, offset: message.offset, error });
        } else {
          await sendToDeadLetter(message, error);
          advance(cursor);
        }
      } finally {
        cursor.busy = false;
      }
    })();
    member.inFlight.add(run);
    void run.finally(() => {
      member.inFlight.delete(run);
      trim(topic);
      queueMicrotask(pump);
    });
  }

  function advance(cursor: Cursor): void {
    cursor.committed += 1;
    cursor.attempt = 0;
    cursor.retryAt = 0;
  }

  async function sendToDeadLetter(message: EventMessage, error: unknown): Promise<void> {
    const failure = toHbiError(error);
    options.logger?.error('event moved to dead-letter topic', {
      topic: message.topic,
      offset: message.offset,
      error,
    });
    append(deadLetterTopic(message.topic), {
      key: message.key,
      value: message.value,
      headers: {
        ...message.headers,
        [DEAD_LETTER_HEADERS.topic]: message.topic,
        [DEAD_LETTER_HEADERS.partition]: String(message.partition),
        [DEAD_LETTER_HEADERS.offset]: message.offset,
        [DEAD_LETTER_HEADERS.errorCode]: failure.code,
        [DEAD_LETTER_HEADERS.errorMessage]: failure.message,
        [DEAD_LETTER_HEADERS.attempts]: String(message.attempt),
      },
    });
    return Promise.resolve();
  }

  function append(topic: string, message: OutgoingMessage): void {
    const partition = topicPartitions(topic)[partitionOf(message.key)]!;
    partition.messages.push({
      offset: partition.base + partition.messages.length,
      key: message.key,
      json: JSON.stringify(message.value) ?? 'null',
      headers: { ...message.headers },
      timestamp: Date.now(),
    });
  }

  /** Drops messages every group has committed, keeping at most `retention` per partition. */
  function trim(topic: string): void {
    topicPartitions(topic).forEach((partition, index) => {
      let safe = partition.base + partition.messages.length;
      for (const group of groups.values()) {
        const cursor = group.cursors.get(`${topic}/${index}`);
        if (cursor) safe = Math.min(safe, cursor.committed);
      }
      const drop = Math.min(safe - partition.base, partition.messages.length - retention);
      if (drop > 0) {
        partition.messages.splice(0, drop);
        partition.base += drop;
      }
    });
  }

  return {
    kind: 'memory',
    async publish<T>(topic: string, messages: readonly OutgoingMessage<T>[]): Promise<void> {
      if (closed) throw new HbiError('UNAVAILABLE', 'Event bus is closed');
      for (const message of messages) append(topic, message);
      queueMicrotask(pump);
      return Promise.resolve();
    },
    subscribe<T>(subscribeOptions: SubscribeOptions<T>): Promise<Subscription> {
      if (closed) return Promise.reject(new HbiError('UNAVAILABLE', 'Event bus is closed'));
      const member: Member = {
        id: nextMemberId++,
        options: {
          fromBeginning: true,
          maxAttempts: 5,
          retryDelayMs: 100,
          ...(subscribeOptions as SubscribeOptions),
        },
        stopped: false,
        inFlight: new Set(),
      };
      for (const topic of member.options.topics) topicPartitions(topic);
      let group = groups.get(subscribeOptions.group);
      if (!group) {
        group = { members: [], cursors: new Map() };
        groups.set(subscribeOptions.group, group);
      }
      group.members.push(member);
      const owning = group;
      queueMicrotask(pump);
      return Promise.resolve({
        async stop(): Promise<void> {
          member.stopped = true;
          owning.members = owning.members.filter((m) => m !== member);
          await Promise.allSettled([...member.inFlight]);
          queueMicrotask(pump);
        },
      });
    },
    listDeadLetters(topic: string, listOptions: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
      const letters = (topics.get(deadLetterTopic(topic)) ?? []).flatMap((partition) =>
        partition.messages.map((stored) =>
          toDeadLetter({
            key: stored.key,
            value: JSON.parse(stored.json) as unknown,
            headers: stored.headers,
            timestamp: stored.timestamp,
          }),
        ),
      );
      return Promise.resolve(newestDeadLetters(letters, listOptions.limit ?? 100));
    },
    async close(): Promise<void> {
      closed = true;
      const inFlight = [...groups.values()].flatMap((g) => g.members.flatMap((m) => [...m.inFlight]));
      for (const group of groups.values()) for (const member of group.members) member.stopped = true;
      await Promise.allSettled(inFlight);
    },
  };
}
