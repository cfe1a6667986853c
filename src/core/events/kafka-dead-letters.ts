/**
 * Reads the newest messages of a dead-letter topic without disturbing anyone: a short-lived consumer
 * in a group of its own seeks each partition to `limit` before its end, reads up to the end as it was
 * when the call started, commits nothing and deletes its group afterwards.
 */
import { randomUUID } from 'node:crypto';

import type { Admin, Kafka, KafkaMessage } from 'kafkajs';

import { HbiError } from '../errors.js';
import { decodeRecord } from './kafka-codec.js';
import type { DeadLetter } from './port.js';
import { newestDeadLetters, toDeadLetter } from './port.js';

export interface ListOptions {
  limit: number;
  /** A unique suffix is added: concurrent listings never share a group. */
  groupId: string;
  timeoutMs: number;
}

/** The newest `limit` messages of `topic` as dead letters, newest first; [] when the topic is empty or absent. */
export async function listKafkaDeadLetters(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  options: ListOptions,
): Promise<DeadLetter[]> {
  if (options.limit <= 0) return [];
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) return [];
  // Where to start and stop in each partition: the last `limit` messages as of now.
  const ranges = new Map<number, { start: bigint; end: bigint }>();
  for (const { partition, low, high } of await admin.fetchTopicOffsets(topic)) {
    const end = BigInt(high);
    const start = end - BigInt(options.limit) > BigInt(low) ? end - BigInt(options.limit) : BigInt(low);
    if (end > start) ranges.set(partition, { start, end });
  }
  if (ranges.size === 0) return [];

  const groupId = `${options.groupId}-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  const letters: DeadLetter[] = [];
  const pending = new Set(ranges.keys());
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new HbiError('UNAVAILABLE', `Reading ${topic} took longer than ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition, { start }] of ranges)
          consumer.seek({ topic, partition, offset: String(start) });
      });
      void consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const range = ranges.get(partition);
            const offset = BigInt(message.offset);
            if (range && offset >= range.start && offset < range.end) letters.push(read(message));
            if (!range || offset >= range.end - 1n) pending.delete(partition);
            if (pending.size === 0) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return newestDeadLetters(letters, options.limit);
}

function read(message: KafkaMessage): DeadLetter {
  const { key, value, headers, timestamp } = decodeRecord(message);
  return toDeadLetter({ key, value, headers, timestamp });
}
