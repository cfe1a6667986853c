/**
 * Cluster event/task bus on Kafka (`kafkajs`). The port was modelled on Kafka, so this is a thin
 * mapping: topics are created with the configured partitions before first use, the message key picks
 * the partition (one video's events stay in order), each subscription is one consumer-group member.
 *
 * Delivery is at-least-once: offsets are committed by hand, one message at a time, only after its
 * handler succeeded or it was dead-lettered. Retriable failures are retried in place with doubling
 * back-off (heartbeating meanwhile, so the member keeps its partitions); anything else, or a retriable
 * failure out of attempts, goes to `<topic>.dead-letter` with the reason in headers. A member that
 * stops leaves its group after the message in hand; a message interrupted mid-back-off stays
 * uncommitted and is redelivered to whoever takes the partition.
 */
import kafkajs from 'kafkajs';
import type { Admin, Consumer, KafkaMessage, LogEntry, Producer } from 'kafkajs';

import { HbiError, isHbiError, isRetriable, toHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { decodeRecord } from './kafka-codec.js';
import { listKafkaDeadLetters } from './kafka-dead-letters.js';
import { createKafkaTopics } from './kafka-topics.js';
import type {
  DeadLetter,
  EventBus,
  EventMessage,
  ListDeadLettersOptions,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
} from './port.js';
import { DEAD_LETTER_HEADERS, deadLetterTopic } from './port.js';

const { Kafka, Partitioners, logLevel: KafkaLogLevel } = kafkajs;

export interface KafkaBusOptions {
  /** `host:port` of one or more brokers. */
  brokers: readonly string[];
  clientId?: string;
  /** Partitions of each topic this bus creates (existing topics keep theirs). Default 6. */
  partitions?: number;
  /** Replicas of each topic this bus creates. Default 1 (one broker). */
  replicationFactor?: number;
  /** Prepended to every consumer group id: lets deployments (or test runs) share a cluster. Default ''. */
  groupPrefix?: string;
  /**
   * Prepended to every topic name on the wire (handlers still see the names they subscribed to), so
   * deployments or test runs share a cluster. Default ''.
   */
  topicPrefix?: string;
  /** Topics other systems own (MinIO's bucket events): used exactly as named, never prefixed. */
  externalTopics?: readonly string[];
  /** A member silent this long is dropped from its group and its partitions move. Default 30 000. */
  sessionTimeoutMs?: number;
  /** How often members heartbeat; also how fast they notice a rebalance. Default 3 000. */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for new messages; bounds how long stop() waits. Default 1 000. */
  fetchMaxWaitMs?: number;
  /** How long subscribe() waits to join its group before failing with UNAVAILABLE. Default 60 000. */
  joinTimeoutMs?: number;
  /** Retries of a failed broker request (doubling back-off from 300 ms) before UNAVAILABLE. Default 5. */
  retries?: number;
  /** Partitions one member handles at the same time (order is kept within each). Default `partitions`. */
  concurrency?: number;
  logger?: Logger;
}

export interface KafkaEventBus extends EventBus {
  /** Creates the topics that do not exist yet (with this bus's partitions); cached per topic. */
  ensureTopics(topics: readonly string[]): Promise<void>;
  listDeadLetters(topic: string, options?: ListDeadLettersOptions): Promise<DeadLetter[]>;
}

/** Connects the producer and admin client; UNAVAILABLE when no broker answers. */
export async function createKafkaEventBus(options: KafkaBusOptions): Promise<KafkaEventBus> {
  const logger = options.logger;
  const partitions = options.partitions ?? 6;
  const groupPrefix = options.groupPrefix ?? '';
  const topicPrefix = options.topicPrefix ?? '';
  const external = new Set(options.externalTopics ?? []);
  /** The name on the wire, and back. */
  const wire = (topic: string) => (external.has(topic) ? topic : topicPrefix + topic);
  const local = (topic: string) =>
    external.has(topic) || !topic.startsWith(topicPrefix) ? topic : topic.slice(topicPrefix.length);
  const kafka = new Kafka({
    clientId: options.clientId ?? 'hbi-platform',
    brokers: [...options.brokers],
    logLevel: KafkaLogLevel.WARN,
    retry: { retries: options.retries ?? 5 },
    logCreator: () => (entry: LogEntry) => forwardLog(logger, entry),
  });
  const admin: Admin = kafka.admin();
  // Idempotent: a send retried after a lost acknowledgement is not written twice.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await admin.connect();
    await producer.connect();
  } catch (error) {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    throw busError(error, `Cannot reach Kafka at ${options.brokers.join(',')}`);
  }

  const known = new Map<string, Promise<void>>();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  function ensureTopics(topics: readonly string[]): Promise<void> {
    const missing = [...new Set(topics)].filter((topic) => !known.has(topic));
    if (missing.length > 0) {
      const created = createKafkaTopics(
        admin,
        missing.map((topic) => ({
          topic,
          numPartitions: partitions,
          replicationFactor: options.replicationFactor ?? 1,
        })),
        {
          onRetry: (error, attempt, backoffMs) =>
            logger?.info('kafka topics not ready yet; retrying', {
              topics: missing,
              attempt,
              backoffMs,
              error: (error as Error)?.message ?? String(error),
            }),
        },
      );
      for (const topic of missing) {
        known.set(topic, created);
        // Forget a failed creation so the next call tries again.
        created.catch(() => known.delete(topic));
      }
    }
    return Promise.all(topics.map((topic) => known.get(topic) ?? Promise.resolve())).then(
      () => undefined,
      (error: unknown) => {
        throw busError(error, `Cannot create Kafka topics ${topics.join(', ')}`);
      },
    );
  }

  async function publish<T>(topic: string, messages: readonly OutgoingMessage<T>[]): Promise<void> {
    if (closed) throw new HbiError('UNAVAILABLE', 'Event bus is closed');
    if (messages.length === 0) return;
    await ensureTopics([wire(topic)]);
    try {
      await producer.send({
        topic: wire(topic),
        acks: -1,
        messages: messages.map((message) => ({
          key: message.key,
          value: JSON.stringify(message.value) ?? 'null',
          headers: { ...message.headers },
        })),
      });
    } catch (error) {
      throw busError(error, `Cannot publish to ${topic}`);
    }
  }

  async function subscribe<T>(subscribeOptions: SubscribeOptions<T>): Promise<Subscription> {
    if (closed) throw new HbiError('UNAVAILABLE', 'Event bus is closed');
    const settings = { fromBeginning: true, maxAttempts: 5, retryDelayMs: 100, ...subscribeOptions };
    const topics = [...settings.topics];
    // Dead-letter topics exist from the start, so listing them works before anything failed.
    const deadLetters = topics.filter((topic) => !topic.endsWith(deadLetterTopic(''))).map(deadLetterTopic);
    await ensureTopics([...topics, ...deadLetters].map(wire));
    const groupId = groupPrefix + settings.group;
    const consumer: Consumer = kafka.consumer({
      groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      maxWaitTimeInMs: options.fetchMaxWaitMs ?? 1_000,
    });
    let stopping = false;
    let wake: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (wake = resolve));

    /** Sleeps `ms` unless stopped first (then false), heartbeating so the group keeps this member. */
    async function backOff(ms: number, heartbeat: () => Promise<void>): Promise<boolean> {
      const until = Date.now() + ms;
      const slice = Math.max(50, Math.floor((options.heartbeatIntervalMs ?? 3_000) / 2));
      while (!stopping && Date.now() < until) {
        await Promise.race([sleep(Math.min(slice, until - Date.now())), stopped]);
        await heartbeat();
      }
      return !stopping;
    }

    async function handle(
      topic: string,
      partition: number,
      raw: KafkaMessage,
      heartbeat: () => Promise<void>,
    ): Promise<void> {
      if (stopping) return;
      const base = decode(local(topic), partition, raw);
      for (let attempt = 1; ; attempt++) {
        if (stopping) return; // left uncommitted: redelivered to the partition's next owner
        try {
          if (base.failure) throw base.failure;
          await whileHeartbeating(
            heartbeat,
            options.heartbeatIntervalMs ?? 3_000,
            () => settings.handler({ ...base.message, attempt } as EventMessage<T>),
            // A rebalance in progress: kafkajs rejoins after this message; the next beat tries again.
            (error) => logger?.debug('heartbeat during a handler failed', { groupId, error }),
          );
          break;
        } catch (error) {
          if (isRetriable(error) && attempt < settings.maxAttempts) {
            logger?.warn('event handler failed; will retry', { topic, offset: raw.offset, attempt, error });
            if (!(await backOff(settings.retryDelayMs * 2 ** (attempt - 1), heartbeat))) return;
            continue;
          }
          await sendToDeadLetter(base.message, attempt, error);
          break;
        }
      }
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(raw.offset) + 1n).toString() }]);
    }

    // Where a brand-new group starts when it must skip older messages: read before joining.
    const seeks = settings.fromBeginning
      ? []
      : await retryWhileLeadersMove(() => newGroupStarts(admin, groupId, topics.map(wire))).catch(
          (error: unknown) => {
            throw busError(error, `Cannot read the offsets of group ${groupId}`);
          },
        );
    const firstJoin = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        logger?.debug('joined consumer group', { groupId, assignment: event.payload.memberAssignment });
        // Synchronous: kafkajs applies seeks at its next fetch, which this join is about to start.
        for (const seek of seeks.splice(0)) {
          if (event.payload.memberAssignment[seek.topic]?.includes(seek.partition)) consumer.seek(seek);
        }
        resolve();
      });
    });
    const crashed = new Promise<never>((_, reject) => {
      consumer.on(consumer.events.CRASH, (event) => {
        const { error, restart } = event.payload;
        logger?.error('Kafka consumer crashed', { groupId, restart, error });
        if (!restart) reject(busError(error, `Kafka consumer of ${groupId} stopped`));
      });
    });
    crashed.catch(() => undefined);

    let stopPromise: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () =>
        (stopPromise ??= (async () => {
          stopping = true;
          wake();
          subscriptions.delete(subscription);
          // Waits for the message in hand, then leaves the group so its partitions move at once.
          await consumer
            .disconnect()
            .catch((error: unknown) => logger?.warn('consumer disconnect failed', { groupId, error }));
        })()),
    };
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: topics.map(wire), fromBeginning: settings.fromBeginning });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: options.concurrency ?? partitions,
        eachMessage: (payload) =>
          handle(payload.topic, payload.partition, payload.message, () => payload.heartbeat()),
      });
      const joinTimeout = options.joinTimeoutMs ?? 60_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new HbiError('UNAVAILABLE', `Kafka group ${groupId} not joined within ${joinTimeout} ms`)),
          joinTimeout,
        );
      });
      await Promise.race([firstJoin, crashed, timedOut]).finally(() => clearTimeout(timer));
      if (closed) throw new HbiError('UNAVAILABLE', 'Event bus was closed while subscribing');
    } catch (error) {
      await subscription.stop();
      throw busError(error, `Cannot subscribe group ${groupId} to ${topics.join(', ')}`);
    }
    subscriptions.add(subscription);
    return subscription;
  }

  async function sendToDeadLetter(
    message: Omit<EventMessage, 'attempt'>,
    attempts: number,
    error: unknown,
  ): Promise<void> {
    const failure = toHbiError(error);
    logger?.error('event moved to dead-letter topic', {
      topic: message.topic,
      offset: message.offset,
      error,
    });
    await publish(deadLetterTopic(message.topic), [
      {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [DEAD_LETTER_HEADERS.topic]: message.topic,
          [DEAD_LETTER_HEADERS.partition]: String(message.partition),
          [DEAD_LETTER_HEADERS.offset]: message.offset,
          [DEAD_LETTER_HEADERS.errorCode]: failure.code,
          [DEAD_LETTER_HEADERS.errorMessage]: failure.message,
          [DEAD_LETTER_HEADERS.attempts]: String(attempts),
        },
      },
    ]);
  }

  return {
    kind: 'kafka',
    ensureTopics,
    publish,
    subscribe,
    listDeadLetters: (topic, listOptions = {}) =>
      listKafkaDeadLetters(kafka, admin, wire(deadLetterTopic(topic)), {
        limit: listOptions.limit ?? 100,
        groupId: `${groupPrefix}hbi-dead-letter-reader`,
        timeoutMs: options.joinTimeoutMs ?? 60_000,
      }).catch((error: unknown) => {
        throw busError(error, `Cannot list dead letters of ${topic}`);
      }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((subscription) => subscription.stop()));
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
}

/** A received message as the port shapes it, or why it cannot be (not JSON: dead-lettered at once). */
function decode(
  topic: string,
  partition: number,
  raw: KafkaMessage,
): { message: Omit<EventMessage, 'attempt'>; failure?: HbiError } {
  const { notJson, ...record } = decodeRecord(raw);
  const message = { topic, partition, offset: raw.offset, ...record };
  if (notJson === undefined) return { message };
  const where = `${topic}/${partition}@${raw.offset}`;
  return {
    message,
    failure: new HbiError('BAD_USER_INPUT', `Message at ${where} is not JSON`, { cause: notJson }),
  };
}

/**
 * For a group with no members yet: the end of each partition it has never committed, so that
 * `fromBeginning: false` means "from the moment subscribe was called" rather than "from whenever the
 * first fetch happened". A group already running keeps Kafka's own rule (the latest offset).
 */
async function newGroupStarts(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<{ topic: string; partition: number; offset: string }[]> {
  const { groups } = await admin.describeGroups([groupId]);
  const state = groups[0]?.state ?? 'Dead';
  if (state !== 'Empty' && state !== 'Dead') return [];
  const committed = await admin.fetchOffsets({ groupId, topics });
  const seeks: { topic: string; partition: number; offset: string }[] = [];
  for (const { topic, partitions } of committed) {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    for (const { partition, offset } of partitions) {
      if (offset === '-1') seeks.push({ topic, partition, offset: ends.get(partition) ?? '0' });
    }
  }
  return seeks;
}

/**
 * Reruns `work` while the broker says a just-created topic's leaders are not settled yet (kafkajs
 * marks those errors retriable; its metadata can lag the creation by a moment). At most 5 tries.
 */
async function retryWhileLeadersMove<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= 5 || (error as { retriable?: boolean })?.retriable !== true) throw error;
      await sleep(200 * 2 ** (attempt - 1));
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Broker trouble is UNAVAILABLE (retriable), judged as kafkajs judges it for restarts: retries ran
 * out, or the root cause says it is retriable. An HbiError passes through unchanged.
 */
function busError(error: unknown, message: string): HbiError {
  if (isHbiError(error)) return error;
  let root = error as { cause?: unknown; retriable?: boolean; name?: string } | undefined;
  while (root?.cause) root = root.cause;
  const retriable = (error as Error)?.name === 'KafkaJSNumberOfRetriesExceeded' || root?.retriable === true;
  const detail = `${message}: ${(error as Error)?.message ?? String(error)}`;
  return new HbiError(retriable ? 'UNAVAILABLE' : 'INTERNAL', detail, { cause: error });
}

/** kafkajs logs through ours: its INFO chatter (joins, rebalances) at debug. */
function forwardLog(logger: Logger | undefined, entry: LogEntry): void {
  if (!logger) return;
  const { message, timestamp: _timestamp, ...fields } = entry.log;
  const record = { ...fields, kafka: entry.namespace };
  switch (entry.level) {
    case KafkaLogLevel.ERROR:
      logger.error(message, record);
      return;
    case KafkaLogLevel.WARN:
      logger.warn(message, record);
      return;
    case KafkaLogLevel.INFO:
    case KafkaLogLevel.DEBUG:
    case KafkaLogLevel.NOTHING:
      logger.debug(message, record);
      return;
  }
}

/**
 * Runs `work` (one handler call) while calling `heartbeat` every `intervalMs`: kafkajs heartbeats only
 * between messages, so a handler longer than the session timeout (an hour-long ingest) would get its
 * member dropped from the group and the message delivered again elsewhere while it still ran.
 */
export async function whileHeartbeating<R>(
  heartbeat: () => Promise<void>,
  intervalMs: number,
  work: () => Promise<R>,
  onError: (error: unknown) => void,
): Promise<R> {
  const timer = setInterval(() => void heartbeat().catch(onError), intervalMs);
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
