/**
 * The event bus port, modelled on Kafka so the cluster adapter is a thin mapping: named topics split
 * into partitions by message key (same key → same partition → delivered in order), consumer groups
 * (every group sees every message; members of one group share the partitions), and at-least-once
 * delivery (an offset is committed only after the handler succeeds, so a failure or a crash means
 * redelivery — handlers must be idempotent). Event names follow `<noun>.<past-tense-verb>`.
 */

/** A message as a handler receives it. */
export interface EventMessage<T = unknown> {
  topic: string;
  partition: number;
  /** Position in the partition, as a decimal string (Kafka offsets exceed 2^53). */
  offset: string;
  key: string;
  value: T;
  headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch when the message was published. */
  timestamp: number;
  /** 1 on first delivery to this group, 2 on the first retry, and so on. */
  attempt: number;
}

/** A message to publish. `value` must be JSON-serialisable: adapters serialise it. */
export interface OutgoingMessage<T = unknown> {
  key: string;
  value: T;
  headers?: Record<string, string>;
}

export interface SubscribeOptions<T = unknown> {
  /** Topics this member consumes. */
  topics: readonly string[];
  /** Consumer group id: members of one group share the work; each group gets every message. */
  group: string;
  /** Called once per message, in order per partition; throwing means "not done" (retry or dead-letter). */
  handler: (message: EventMessage<T>) => Promise<void>;
  /** A new group starts at the oldest retained message (true, the default) or at the next new one. */
  fromBeginning?: boolean;
  /** Deliveries of one message before it goes to the dead-letter topic; non-retriable errors go at once. Default 5. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt. Default 100 ms. */
  retryDelayMs?: number;
}

/** One group member's handle. */
export interface Subscription {
  /** Leaves the group after the in-flight message finishes; its partitions move to other members. */
  stop(): Promise<void>;
}

export interface EventBus {
  readonly kind: string;
  /** Resolves once the messages are durably accepted (Kafka: acknowledged by the brokers). */
  publish<T>(topic: string, messages: readonly OutgoingMessage<T>[]): Promise<void>;
  subscribe<T>(options: SubscribeOptions<T>): Promise<Subscription>;
  /**
   * The newest messages on `topic`'s dead-letter topic, newest first, with why each failed: for
   * operators and the API. Optional so thin wrappers need not forward it; both adapters have it.
   */
  listDeadLetters?(topic: string, options?: ListDeadLettersOptions): Promise<DeadLetter[]>;
  /** Stops every subscription and releases connections. */
  close(): Promise<void>;
}

export interface ListDeadLettersOptions {
  /** At most this many, newest first. Default 100. */
  limit?: number;
}

/** A message that ran out of attempts (or failed for good) and was moved to its dead-letter topic. */
export interface DeadLetter<T = unknown> {
  /** Where it was consumed from, and its position there. */
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: T;
  /** The original headers, without the dead-letter bookkeeping below. */
  headers: Readonly<Record<string, string>>;
  /** The error code of the last failure (INTERNAL for anything that was not an HbiError). */
  errorCode: string;
  errorMessage: string;
  /** Deliveries made before it was dead-lettered. */
  attempts: number;
  /** Milliseconds since the epoch when it was dead-lettered. */
  deadLetteredAt: number;
}

/** Where messages go after their last failed attempt; headers say which topic, why and when. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dead-letter`;
}

/** Header names the bus adds to dead-lettered messages. */
export const DEAD_LETTER_HEADERS = {
  topic: 'hbi-original-topic',
  partition: 'hbi-original-partition',
  offset: 'hbi-original-offset',
  errorCode: 'hbi-error-code',
  errorMessage: 'hbi-error-message',
  attempts: 'hbi-attempts',
} as const;

/** Reads a message of a dead-letter topic back into a DeadLetter (both adapters use this). */
export function toDeadLetter<T>(message: {
  key: string;
  value: T;
  headers: Readonly<Record<string, string>>;
  timestamp: number;
}): DeadLetter<T> {
  const headers: Record<string, string> = {};
  const bookkeeping = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  for (const [name, value] of Object.entries(message.headers)) {
    if (!bookkeeping.has(name)) headers[name] = value;
  }
  const read = (name: keyof typeof DEAD_LETTER_HEADERS) => message.headers[DEAD_LETTER_HEADERS[name]] ?? '';
  return {
    topic: read('topic'),
    partition: Number(read('partition') || -1),
    offset: read('offset'),
    key: message.key,
    value: message.value,
    headers,
    errorCode: read('errorCode') || 'INTERNAL',
    errorMessage: read('errorMessage'),
    attempts: Number(read('attempts') || 0),
    deadLetteredAt: message.timestamp,
  };
}

/** Newest first, at most `limit`. */
export function newestDeadLetters<T>(letters: DeadLetter<T>[], limit: number): DeadLetter<T>[] {
  return letters.sort((a, b) => b.deadLetteredAt - a.deadLetteredAt).slice(0, Math.max(0, limit));
}
