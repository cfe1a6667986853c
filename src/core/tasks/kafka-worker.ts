/**
 * The cluster task dispatcher (worker side): one member of the `workers` consumer group on the request
 * topic. What it pulls goes, a slice at a time, through the process's own in-process dispatcher, so
 * items of one kind are batched up to the handler's `maxBatchSize` (across partitions too) and each
 * settles with its own outcome; the outcomes go back to each caller's reply topic, and only then are
 * the offsets committed. A worker that dies mid-slice leaves it uncommitted: the partition's next
 * owner runs it again (tasks are reads or cache upserts, so a repeat is harmless and the gateway
 * takes the first answer). Items whose caller has stopped waiting are skipped.
 */
import type { Consumer, KafkaMessage, Producer } from 'kafkajs';

import { HbiError, toHbiError } from '../errors.js';
import type { TaskBusHealth, TaskDispatcher } from './port.js';
import type { KafkaTaskBusSettings, TaskReplyMessage, TaskRequestMessage } from './kafka.js';
import { TASK_REQUESTS_TOPIC, TASK_WORKER_GROUP, ensureTopic, taskBusClient } from './kafka.js';
import { encodeTaskError } from './wire.js';

export interface KafkaTaskWorkerOptions extends KafkaTaskBusSettings {
  /** Runs the items: the in-process dispatcher over this process's started plugins. */
  dispatcher: TaskDispatcher;
  /** Names this worker in replies and logs. */
  workerId: string;
  /** Messages handed to the dispatcher at once per partition before their replies go out. Default 64. */
  sliceSize?: number;
}

export class KafkaTaskWorker {
  readonly #options: KafkaTaskWorkerOptions;
  #consumer: Consumer | undefined;
  #producer: Producer | undefined;
  #kafka: ReturnType<typeof taskBusClient> | undefined;
  #stopped: Promise<void> | undefined;
  /** Why the request consumer is not working, or undefined while it is. */
  #trouble: string | undefined;

  private constructor(options: KafkaTaskWorkerOptions) {
    this.#options = options;
  }

  /** Joins the `workers` group on the request topic; resolves once the first assignment arrived. */
  static async start(options: KafkaTaskWorkerOptions): Promise<KafkaTaskWorker> {
    const worker = new KafkaTaskWorker(options);
    try {
      await worker.#connect();
    } catch (error) {
      await worker.stop();
      throw new HbiError('UNAVAILABLE', `Task worker cannot join Kafka: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return worker;
  }

  /**
   * Whether the request consumer works: false from a crash (a lost broker: kafkajs retries, then
   * crashes and restarts the consumer) until it has joined its group again. Worker readiness follows it.
   */
  health(): TaskBusHealth {
    return this.#trouble === undefined ? { ok: true } : { ok: false, reason: this.#trouble };
  }

  /** Finishes the slice in hand, leaves the group (its partitions move at once) and disconnects. */
  stop(): Promise<void> {
    return (this.#stopped ??= (async () => {
      // A consumer being rebuilt is taken down too: #reconsume stops once #stopped is set.
      await this.#consumer?.disconnect().catch(() => undefined);
      await this.#producer?.disconnect().catch(() => undefined);
    })());
  }

  async #connect(): Promise<void> {
    const options = this.#options;
    const prefix = options.topicPrefix ?? '';
    const topic = prefix + TASK_REQUESTS_TOPIC;
    const kafka = taskBusClient(options, 'worker');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopic(
        admin,
        topic,
        options.partitions ?? 6,
        options.replicationFactor ?? 1,
        options.logger,
      );
    } finally {
      await admin.disconnect();
    }
    this.#producer = kafka.producer({ allowAutoTopicCreation: false });
    await this.#producer.connect();
    this.#kafka = kafka;
    await this.#consume();
    options.logger.info('task worker joined', { topic, group: prefix + TASK_WORKER_GROUP });
  }

  /** Joins the `workers` group on the request topic and runs it; resolves once it joined. */
  async #consume(): Promise<void> {
    const options = this.#options;
    const prefix = options.topicPrefix ?? '';
    const topic = prefix + TASK_REQUESTS_TOPIC;
    const consumer = this.#kafka!.consumer({
      groupId: prefix + TASK_WORKER_GROUP,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
    });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let isUp = false;
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        if (this.#trouble !== undefined) options.logger.info('task bus back: ready', { was: this.#trouble });
        this.#trouble = undefined;
        isUp = true;
        resolve();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!isUp) {
          if (!payload.restart) reject(payload.error);
          return;
        }
        if (this.#trouble === undefined) {
          options.logger.warn('task bus down: not ready', { error: payload.error, restart: payload.restart });
        }
        this.#trouble = `the request consumer stopped: ${payload.error.message}`;
        // kafkajs restarts the consumer itself after retriable trouble (a broker outage is that); when it
        // gives up instead, this worker would stay deaf for good, so it builds a new consumer with back-off.
        if (!payload.restart) {
          options.logger.error('task request consumer stopped; starting a new one', { error: payload.error });
          void this.#reconsume(consumer);
        }
      });
    });
    await consumer.run({
      partitionsConsumedConcurrently: options.partitions ?? 6,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const size = options.sliceSize ?? 64;
        for (let start = 0; start < batch.messages.length; start += size) {
          if (!payload.isRunning() || payload.isStale()) return;
          const slice = batch.messages.slice(start, start + size);
          await this.#runSlice(slice, () => payload.heartbeat());
          payload.resolveOffset(slice[slice.length - 1]!.offset);
          await payload.commitOffsetsIfNecessary();
        }
      },
    });
    await joined;
  }

  /** Replaces a consumer kafkajs gave up on, retrying with doubling back-off until one joins. */
  async #reconsume(dead: Consumer): Promise<void> {
    await dead.disconnect().catch(() => undefined);
    for (let delay = 500; this.#stopped === undefined; delay = Math.min(delay * 2, 15_000)) {
      try {
        await this.#consume(); // its GROUP_JOIN marks the worker ready again
        return;
      } catch (error) {
        this.#options.logger.warn('task request consumer not back yet', { error, retryInMs: delay });
        await this.#consumer?.disconnect().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  /** Runs the slice's live items together and sends each reply; heartbeats while they run. */
  async #runSlice(slice: readonly KafkaMessage[], heartbeat: () => Promise<void>): Promise<void> {
    const { dispatcher, workerId, logger } = this.#options;
    const beat = setInterval(() => void heartbeat().catch(() => undefined), 1_000);
    try {
      const replies = await Promise.all(
        slice.map(async (message): Promise<{ topic: string; reply: TaskReplyMessage } | undefined> => {
          const request = parseRequest(message);
          if (!request) return undefined;
          const left = request.deadline - Date.now();
          if (left <= 0) return undefined;
          try {
            const value = await dispatcher.run(request.kind, request.input, {
              tenantId: request.tenantId,
              timeoutMs: left,
            });
            return {
              topic: request.replyTo,
              reply: { id: request.id, outcome: { ok: true, value }, worker: workerId },
            };
          } catch (error) {
            const failure = toHbiError(error);
            if (failure.code === 'INTERNAL') logger.error('task failed', { kind: request.kind, error });
            const outcome = { ok: false as const, error: encodeTaskError(failure) };
            return { topic: request.replyTo, reply: { id: request.id, outcome, worker: workerId } };
          }
        }),
      );
      const byTopic = new Map<string, { key: string; value: string }[]>();
      for (const entry of replies) {
        if (!entry) continue;
        const list = byTopic.get(entry.topic) ?? [];
        list.push({ key: entry.reply.id, value: JSON.stringify(entry.reply) });
        byTopic.set(entry.topic, list);
      }
      // One topic at a time, so a gateway that left (its topic deleted) costs only its own replies.
      for (const [topic, messages] of byTopic) {
        await this.#producer!.send({ topic, acks: 1, messages }).catch((error: unknown) => {
          logger.warn('task replies not delivered (gateway gone?)', { topic, count: messages.length, error });
        });
      }
    } finally {
      clearInterval(beat);
    }
  }
}

function parseRequest(message: KafkaMessage): TaskRequestMessage | undefined {
  try {
    const request = JSON.parse(message.value?.toString('utf8') ?? '') as TaskRequestMessage;
    const valid =
      typeof request.id === 'string' &&
      typeof request.kind === 'string' &&
      typeof request.tenantId === 'string' &&
      typeof request.replyTo === 'string' &&
      typeof request.deadline === 'number';
    return valid ? request : undefined;
  } catch {
    return undefined;
  }
}
