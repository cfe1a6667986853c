/**
 * The cluster task dispatcher (gateway side): `run` sends the item to the partitioned request topic
 * (keyed by the item's id, so items spread over every partition and so over every worker), any member
 * of the `workers` consumer group runs it (`kafka-worker.ts`) and answers on this gateway's own reply
 * topic, created at start (one partition, named after the instance) and deleted at stop. The pending
 * promise is found again by correlation id. Waiting is bounded: past the deadline the caller gets
 * TIMEOUT (retriable). When Kafka cannot be reached the caller gets UNAVAILABLE (retriable) at once;
 * kafkajs reconnects on the next send, so the gateway recovers by itself when the brokers return.
 */
import { randomUUID } from 'node:crypto';

import kafkajs from 'kafkajs';
import type { Admin, Consumer, Producer } from 'kafkajs';
import type { z } from 'zod';

import { isUuid } from '../util/ids.js';
import { HbiError, toHbiError } from '../errors.js';
import { createKafkaTopics } from '../events/kafka-topics.js';
import type { Logger } from '../logger.js';
import type { TaskBusHealth, TaskDispatcher, TaskRunOptions } from './port.js';
import { decodeTaskError, throughWire } from './wire.js';
import type { WireTaskOutcome } from './wire.js';

const { Kafka, logLevel: KafkaLogLevel } = kafkajs;

/** Requests from every gateway to every worker (prefixed with the deployment's topic prefix). */
export const TASK_REQUESTS_TOPIC = 'hbi.tasks.requests';
/** Each gateway's replies topic is this plus its instance id. */
export const TASK_REPLIES_TOPIC_STEM = 'hbi.tasks.replies.';
/** The consumer group every worker joins to share the requests. */
export const TASK_WORKER_GROUP = 'workers';

/** One item on the request topic. */
export interface TaskRequestMessage {
  /** Correlation id: the reply carries it back. */
  id: string;
  kind: string;
  /** The tenant the item runs for (the worker binds the handler's capabilities to it). */
  tenantId: string;
  input: unknown;
  /** The gateway's reply topic (full name, prefix included). */
  replyTo: string;
  /** Milliseconds since the epoch after which nobody waits: workers skip the item. */
  deadline: number;
}

/** One item's outcome on a reply topic. */
export interface TaskReplyMessage {
  id: string;
  outcome: WireTaskOutcome;
  /** Which worker ran it, for logs. */
  worker: string;
}

/** Where the cluster's task traffic lives; shared by gateways and workers. */
export interface KafkaTaskBusSettings {
  brokers: readonly string[];
  clientId?: string;
  /** Prepended to topic and group names (HBI_KAFKA_TOPIC_PREFIX). Default ''. */
  topicPrefix?: string;
  /** Partitions of the request topic when this process creates it: the most workers that get work. Default 6. */
  partitions?: number;
  replicationFactor?: number;
  /** A member silent this long loses its partitions. Default 30 000. */
  sessionTimeoutMs?: number;
  logger: Logger;
}

export interface KafkaTaskDispatcherOptions extends KafkaTaskBusSettings {
  /** Kinds the loaded plugins declare; anything else is TASK_UNKNOWN without a round trip. */
  kinds: readonly string[];
  /** The kind's input schema, so bad input fails at the gateway with BAD_USER_INPUT. */
  inputSchema?: (kind: string) => z.ZodType | undefined;
  /** Waiting limit when `run` gives none. Default 30 000 ms. */
  defaultTimeoutMs?: number;
  /** Names this gateway's reply topic and group; default a random UUID. */
  instanceId?: string;
  /** How often the broker is probed for `health()` (and for readiness). Default 5 000 ms. */
  healthIntervalMs?: number;
}

interface Pending {
  kind: string;
  resolve: (value: unknown) => void;
  reject: (error: HbiError) => void;
  timer: NodeJS.Timeout;
}

/** kafkajs settings both sides use: quick failure (a few hundred ms of retries) instead of long hangs. */
export function taskBusClient(settings: KafkaTaskBusSettings, role: string): InstanceType<typeof Kafka> {
  const logger = settings.logger;
  return new Kafka({
    clientId: `${settings.clientId ?? 'hbi-platform'}-${role}`,
    brokers: [...settings.brokers],
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry) => {
      const { message, timestamp: _timestamp, ...fields } = entry.log;
      if (entry.level <= KafkaLogLevel.ERROR) logger.warn(message, { ...fields, kafka: entry.namespace });
      else logger.debug(message, { ...fields, kafka: entry.namespace });
    },
  });
}

/** Creates `topic` with `partitions` unless it exists (another process may be creating it too). */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  replicas = 1,
  logger?: Logger,
): Promise<void> {
  await createKafkaTopics(admin, [{ topic, numPartitions: partitions, replicationFactor: replicas }], {
    onRetry: (error, attempt, backoffMs) =>
      logger?.info('kafka topic not ready yet; retrying', {
        topic,
        attempt,
        backoffMs,
        error: (error as Error)?.message ?? String(error),
      }),
  });
}

/** Broker trouble as the platform's retriable UNAVAILABLE, naming the bus and what was attempted. */
export function taskBusUnavailable(error: unknown, what: string): HbiError {
  return new HbiError(
    'UNAVAILABLE',
    `The task bus (Kafka) cannot be reached while ${what}; retry shortly (${(error as Error)?.message ?? error})`,
    { cause: error },
  );
}

export class KafkaTaskDispatcher implements TaskDispatcher {
  readonly kinds: readonly string[];
  /** This gateway's reply topic (full name). */
  readonly replyTopic: string;
  readonly #options: KafkaTaskDispatcherOptions;
  readonly #requestTopic: string;
  readonly #groupId: string;
  readonly #pending = new Map<string, Pending>();
  #admin: Admin | undefined;
  #producer: Producer | undefined;
  #consumer: Consumer | undefined;
  #kafka: ReturnType<typeof taskBusClient> | undefined;
  #closed = false;
  /** Why the broker does not answer (the last probe or send failed), or undefined. */
  #brokerDown: string | undefined;
  /** Why the reply listener is not running (replies would go unread), or undefined. */
  #listenerDown: string | undefined;
  #probe: NodeJS.Timeout | undefined;
  #probing = false;

  private constructor(options: KafkaTaskDispatcherOptions) {
    const prefix = options.topicPrefix ?? '';
    const instanceId = options.instanceId ?? randomUUID();
    this.#options = options;
    this.kinds = Object.freeze([...options.kinds]);
    this.#requestTopic = prefix + TASK_REQUESTS_TOPIC;
    this.replyTopic = `${prefix}${TASK_REPLIES_TOPIC_STEM}${instanceId}`;
    this.#groupId = `${prefix}hbi-gateway-${instanceId}`;
  }

  /** Connects, creates the request topic (if missing) and this gateway's reply topic, and listens on it. */
  static async start(options: KafkaTaskDispatcherOptions): Promise<KafkaTaskDispatcher> {
    const dispatcher = new KafkaTaskDispatcher(options);
    try {
      await dispatcher.#connect();
    } catch (error) {
      await dispatcher.close();
      throw taskBusUnavailable(error, 'starting the gateway');
    }
    return dispatcher;
  }

  run(kind: string, input: unknown, options: TaskRunOptions): Promise<unknown> {
    try {
      return this.#submit(kind, input, options);
    } catch (error) {
      return Promise.reject(toHbiError(error));
    }
  }

  /**
   * Whether the broker answered the last probe and the reply listener runs. A gateway is not ready
   * while this is false (load balancers route elsewhere); requests meanwhile fail fast with
   * UNAVAILABLE. Recovers by itself once the broker is back.
   */
  health(): TaskBusHealth {
    const reason = this.#listenerDown ?? this.#brokerDown;
    return reason === undefined ? { ok: true } : { ok: false, reason };
  }

  /** Fails the items still waiting with UNAVAILABLE, leaves Kafka and deletes the reply topic. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probe);
    const reason = new HbiError('UNAVAILABLE', 'The task dispatcher is shutting down');
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(reason);
    }
    const logger = this.#options.logger;
    await this.#consumer?.disconnect().catch((error: unknown) => logger.warn('reply consumer', { error }));
    await this.#producer?.disconnect().catch(() => undefined);
    if (this.#admin) {
      // Best effort: a topic left behind expires with the broker's retention.
      await this.#admin.deleteTopics({ topics: [this.replyTopic], timeout: 5_000 }).catch(() => undefined);
      await this.#admin.deleteGroups([this.#groupId]).catch(() => undefined);
      await this.#admin.disconnect().catch(() => undefined);
    }
  }

  async #connect(): Promise<void> {
    const { logger } = this.#options;
    const kafka = taskBusClient(this.#options, 'gateway');
    this.#admin = kafka.admin();
    await this.#admin.connect();
    const replicas = this.#options.replicationFactor ?? 1;
    await ensureTopic(this.#admin, this.#requestTopic, this.#options.partitions ?? 6, replicas, logger);
    await ensureTopic(this.#admin, this.replyTopic, 1, replicas, logger);
    this.#producer = kafka.producer({ allowAutoTopicCreation: false });
    await this.#producer.connect();
    this.#kafka = kafka;
    await this.#listen();
    this.#probe = setInterval(() => void this.#probeBroker(), this.#options.healthIntervalMs ?? 5_000);
    this.#probe.unref();
    logger.info('task dispatcher connected', { requests: this.#requestTopic, replies: this.replyTopic });
  }

  /** Starts the reply listener (this gateway's own group on its reply topic) and waits until it joined. */
  async #listen(): Promise<void> {
    const logger = this.#options.logger;
    const consumer = this.#kafka!.consumer({
      groupId: this.#groupId,
      sessionTimeout: this.#options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
    });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.replyTopic], fromBeginning: true });
    let isUp = false;
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        isUp = true;
        this.#markRecovered('listener');
        resolve();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!isUp) {
          if (!payload.restart) reject(payload.error);
          return;
        }
        this.#markTrouble('listener', `the reply listener stopped: ${payload.error.message}`);
        // kafkajs restarts the consumer itself after retriable trouble (a broker outage is that);
        // anything else would leave this gateway deaf, so it builds a new listener with back-off.
        if (!payload.restart) {
          logger.error('task reply listener stopped; starting a new one', { error: payload.error });
          void this.#relisten(consumer);
        }
      });
    });
    await consumer.run({
      eachMessage: ({ message }) => {
        const text = message.value?.toString('utf8');
        if (text) this.#settle(text);
        return Promise.resolve();
      },
    });
    await joined;
  }

  /** Replaces a listener that kafkajs gave up on, retrying with doubling back-off until one joins. */
  async #relisten(dead: Consumer): Promise<void> {
    await dead.disconnect().catch(() => undefined);
    for (let delay = 500; !this.#closed; delay = Math.min(delay * 2, 15_000)) {
      try {
        await this.#listen(); // its GROUP_JOIN marks the bus usable again
        return;
      } catch (error) {
        this.#options.logger.warn('task reply listener not back yet', { error, retryInMs: delay });
        await this.#consumer?.disconnect().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  /** Asks the broker for its cluster description; a failure marks the bus down until one succeeds. */
  async #probeBroker(): Promise<void> {
    if (this.#probing || this.#closed || !this.#admin) return;
    this.#probing = true;
    try {
      await this.#admin.describeCluster();
      // A probe alone does not clear a stopped reply listener: its GROUP_JOIN does.
      this.#markRecovered('broker');
    } catch (error) {
      this.#markTrouble('broker', `Kafka unreachable: ${(error as Error)?.message ?? error}`);
    } finally {
      this.#probing = false;
    }
  }

  #markTrouble(part: 'broker' | 'listener', reason: string): void {
    if (this.#closed) return;
    if (this.health().ok) this.#options.logger.warn('task bus down: not ready', { reason });
    if (part === 'broker') this.#brokerDown = reason;
    else this.#listenerDown = reason;
  }

  /** A joined listener proves the broker answers too, so it clears both. */
  #markRecovered(part: 'broker' | 'listener'): void {
    if (this.#closed) return;
    const was = this.health();
    this.#brokerDown = undefined;
    if (part === 'listener') this.#listenerDown = undefined;
    if (!was.ok && this.health().ok) this.#options.logger.info('task bus back: ready', { was: was.reason });
  }

  #submit(kind: string, raw: unknown, options: TaskRunOptions): Promise<unknown> {
    if (this.#closed) throw new HbiError('UNAVAILABLE', 'The task dispatcher is shutting down');
    if (!isUuid(options?.tenantId ?? '')) {
      throw new HbiError('INTERNAL', `Task ${kind} was sent without a tenant: every task runs for one`);
    }
    if (!this.kinds.includes(kind)) {
      throw new HbiError('TASK_UNKNOWN', `No loaded plugin handles task kind "${kind}"`, {
        details: { kind, known: [...this.kinds] },
      });
    }
    const input = throughWire(raw, `The input of task ${kind}`);
    const parsed = this.#options.inputSchema?.(kind)?.safeParse(input);
    if (parsed && !parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(input)'}: ${issue.message}`,
      );
      throw new HbiError('BAD_USER_INPUT', `Invalid ${kind} task: ${problems.join('; ')}`, {
        details: { kind, problems },
      });
    }
    if (this.#listenerDown !== undefined) {
      // The request could be sent, but its answer would have nobody to read it.
      throw new HbiError(
        'UNAVAILABLE',
        `The task bus (Kafka) is not usable; retry shortly (${this.#listenerDown})`,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.#options.defaultTimeoutMs ?? 30_000;
    const request: TaskRequestMessage = {
      id: randomUUID(),
      kind,
      tenantId: options.tenantId,
      input,
      replyTo: this.replyTopic,
      deadline: Date.now() + timeoutMs,
    };
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(request.id);
        reject(
          new HbiError('TIMEOUT', `Task ${kind} got no answer from a worker within ${timeoutMs} ms`, {
            details: { kind, timeoutMs },
          }),
        );
      }, timeoutMs);
      this.#pending.set(request.id, { kind, resolve, reject, timer });
      this.#producer!.send({
        topic: this.#requestTopic,
        acks: -1,
        messages: [{ key: request.id, value: JSON.stringify(request), headers: { 'hbi-task-kind': kind } }],
      }).then(
        () => {
          this.#markRecovered('broker');
        },
        (error: unknown) => {
          const pending = this.#pending.get(request.id);
          if (!pending) return;
          clearTimeout(pending.timer);
          this.#pending.delete(request.id);
          this.#options.logger.warn('task not sent: Kafka unreachable', { kind, error });
          this.#markTrouble('broker', `Kafka unreachable: ${(error as Error)?.message ?? error}`);
          pending.reject(taskBusUnavailable(error, `sending a ${kind} task`));
        },
      );
    });
  }

  /** A reply arrived: settle its item (unknown ids belong to callers that stopped waiting). */
  #settle(text: string): void {
    let reply: TaskReplyMessage;
    try {
      reply = JSON.parse(text) as TaskReplyMessage;
    } catch (error) {
      this.#options.logger.warn('malformed task reply skipped', { error });
      return;
    }
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(reply.id);
    if (reply.outcome?.ok === true) pending.resolve(reply.outcome.value);
    else pending.reject(decodeTaskError(reply.outcome?.ok === false ? reply.outcome.error : undefined));
  }
}
