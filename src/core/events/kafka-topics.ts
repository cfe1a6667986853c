/**
 * Topic creation that survives a broker which is still settling.
 *
 * A freshly started (or freshly elected) KRaft controller accepts `CreateTopics` before every broker's
 * metadata cache has the new topic, so KafkaJS's own wait for leaders can fail with
 * `UNKNOWN_TOPIC_OR_PARTITION` ("This server does not host this topic-partition") or time out although
 * the topic is on its way. Both are retriable: this helper tries again with doubling back-off until the
 * topics exist with leaders or a deadline passes, and fails at once on errors that another try cannot
 * fix (invalid partitions, replication factor, names, authorisation).
 */
import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
}

export interface CreateTopicsOptions {
  /** Give up after this long and throw the last error. Default 30 000 ms. */
  deadlineMs?: number;
  /** First back-off; doubles up to 2 s. Default 200 ms. */
  initialBackoffMs?: number;
  /** Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Told about each retried failure. */
  onRetry?: (error: unknown, attempt: number, backoffMs: number) => void;
}

/** The subset of the KafkaJS admin client this helper uses (a fake implements it in unit tests). */
export type TopicAdmin = Pick<Admin, 'listTopics' | 'createTopics' | 'fetchTopicMetadata'>;

const RETRIABLE_ERROR_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSTimeout',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSLockTimeout',
]);

/**
 * True when trying again may succeed: KafkaJS marks protocol errors `retriable`, wraps exhausted
 * retries and connection trouble in named errors, and aggregates per-topic errors (all must be
 * retriable).
 */
export function isRetriableKafkaError(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const candidate = error as {
    name?: string;
    retriable?: boolean;
    errors?: unknown[];
    originalError?: unknown;
    cause?: unknown;
  };
  if (Array.isArray(candidate.errors) && candidate.errors.length > 0) {
    return candidate.errors.every((inner) => isRetriableKafkaError(inner, depth + 1));
  }
  if (candidate.retriable === true) return true;
  if (candidate.name !== undefined && RETRIABLE_ERROR_NAMES.has(candidate.name)) {
    // An exhausted retry is only worth another round when what it retried was retriable.
    if (candidate.name === 'KafkaJSNumberOfRetriesExceeded' && candidate.originalError !== undefined) {
      return isRetriableKafkaError(candidate.originalError, depth + 1);
    }
    return true;
  }
  if (candidate.originalError !== undefined) return isRetriableKafkaError(candidate.originalError, depth + 1);
  if (candidate.cause !== undefined) return isRetriableKafkaError(candidate.cause, depth + 1);
  return false;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Makes every topic in `specs` exist with a leader for each partition. Topics that exist already keep
 * their partitions; several processes may call this for the same topics at once.
 */
export async function createKafkaTopics(
  admin: TopicAdmin,
  specs: readonly TopicSpec[],
  options: CreateTopicsOptions = {},
): Promise<void> {
  if (specs.length === 0) return;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const deadline = now() + (options.deadlineMs ?? 30_000);
  let backoff = options.initialBackoffMs ?? 200;
  const names = specs.map((spec) => spec.topic);
  for (let attempt = 1; ; attempt += 1) {
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.topic));
      if (missing.length > 0) {
        // Resolves false when another process created them first: that is success too.
        await admin.createTopics({ waitForLeaders: true, topics: missing.map((spec) => ({ ...spec })) });
      }
      // Every partition has a leader (throws a retriable error while metadata is still propagating).
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const leaderless = metadata.topics.filter(
        (topic) =>
          topic.partitions.length === 0 || topic.partitions.some((partition) => partition.leader < 0),
      );
      if (leaderless.length === 0) return;
      throw Object.assign(
        new Error(`Topics without a leader yet: ${leaderless.map((topic) => topic.name).join(', ')}`),
        { retriable: true },
      );
    } catch (error) {
      if (!isRetriableKafkaError(error) || now() + backoff > deadline) throw error;
      options.onRetry?.(error, attempt, backoff);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 2_000);
    }
  }
}
