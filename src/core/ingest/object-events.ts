/**
 * Ingest triggered by the object store itself: MinIO publishes the bucket's object events to Kafka
 * (`infra/` configures the target), and workers consume that topic in one consumer group. An object
 * created under the configured prefix (default `videos/`) by any system — a camera, a sync job — gets
 * an ingest job, once per object version (the job's idempotency key is the key and ETag), so a
 * redelivered notification never queues it twice and ingest itself is idempotent by content.
 * Objects the platform wrote itself are skipped: its own copies are named `videos/<sha256>.<ext>`
 * and are indexed by the job that wrote them.
 */
import type { EventBus, EventMessage, Subscription } from '../events/port.js';
import type { Logger } from '../logger.js';
import { parseBucketEvents } from '../storage/s3-bucket-events.js';
import type { IngestRequests } from './ingest-requests.js';

/** The consumer group sharing the bucket's events among workers. */
export const OBJECT_INGEST_GROUP = 'object-ingest';

/** The platform's own content-addressed copies (see `VideoIngestor.ingestFile`). */
const OWN_COPY = /^videos\/[0-9a-f]{64}(\.[a-z0-9]{1,10})?$/;

export interface ObjectEventIngestOptions {
  events: EventBus;
  requests: Pick<IngestRequests, 'ingestStoredObject'>;
  /** The topic MinIO's Kafka target writes to (HBI_KAFKA_OBJECT_EVENTS_TOPIC). */
  topic: string;
  /** Only this bucket's events count (several deployments may share the topic). */
  bucket: string;
  /** Only objects whose key starts with this (HBI_OBJECT_EVENTS_PREFIX). */
  prefix: string;
  logger: Logger;
}

/** Joins the group; events published from now on are handled (older ones belong to earlier members). */
export async function startObjectEventIngest(options: ObjectEventIngestOptions): Promise<Subscription> {
  const { events, topic, logger } = options;
  const subscription = await events.subscribe<unknown>({
    topics: [topic],
    group: OBJECT_INGEST_GROUP,
    fromBeginning: false,
    maxAttempts: 5,
    handler: async (message) => void (await handleObjectEvent(options, message)),
  });
  logger.info('ingesting objects from bucket events', {
    topic,
    bucket: options.bucket,
    prefix: options.prefix,
  });
  return subscription;
}

/** Queues a job for each created object of ours under the prefix; exported for unit tests. */
export async function handleObjectEvent(
  options: Omit<ObjectEventIngestOptions, 'events' | 'topic'>,
  message: Pick<EventMessage<unknown>, 'value'>,
): Promise<number> {
  let queued = 0;
  for (const event of parseBucketEvents(message.value)) {
    if (event.kind !== 'created' || event.bucket !== options.bucket) continue;
    if (!event.objectName.startsWith(options.prefix) || OWN_COPY.test(event.objectName)) continue;
    if (event.objectName.endsWith('/') || event.size === 0) continue;
    const job = await options.requests.ingestStoredObject({
      key: event.objectName,
      version: event.eTag ?? String(event.size ?? ''),
    });
    options.logger.info('object event queued an ingest', { key: event.objectName, jobId: job.id });
    queued++;
  }
  return queued;
}
