/**
 * Optional and MinIO-specific: a bucket can publish its object events to a notification target that
 * the server was started with (`infra/up.sh` configures a Kafka target, `arn:minio:sqs::HBI:kafka`),
 * so a camera or another system that only writes objects still gets them indexed. Plain S3 servers
 * have other targets or none; nothing else in the platform depends on this file.
 */
import { NotificationConfig, ObjectCreatedAll, ObjectRemovedAll, QueueConfig } from 'minio';

import type { S3ObjectStore } from './s3.js';

export interface BucketEventRule {
  /** Only objects whose name starts with this (the store's own prefix is not added). */
  prefix?: string;
  /** Only objects whose name ends with this, e.g. `.mp4`. */
  suffix?: string;
}

/**
 * Sends the bucket's created and removed events to `targetArn`. Replaces the bucket's whole
 * notification configuration (S3 has no "add one rule"), so calling it again is harmless.
 */
export async function enableBucketEvents(
  store: S3ObjectStore,
  targetArn: string,
  rule: BucketEventRule = {},
): Promise<void> {
  const queue = new QueueConfig(targetArn);
  queue.addEvent(ObjectCreatedAll);
  queue.addEvent(ObjectRemovedAll);
  if (rule.prefix) queue.addFilterPrefix(rule.prefix);
  if (rule.suffix) queue.addFilterSuffix(rule.suffix);
  const config = new NotificationConfig();
  config.add(queue);
  await store.client.setBucketNotification(store.bucket, config);
}

/** One object event, as read from a notification message. */
export interface BucketEvent {
  kind: 'created' | 'removed';
  /** The S3 event name, e.g. `s3:ObjectCreated:Put` or `s3:ObjectCreated:CompleteMultipartUpload`. */
  eventName: string;
  bucket: string;
  /** The object's name in the bucket (decoded; includes the store's prefix, if any). */
  objectName: string;
  /** Bytes; absent for removals. */
  size: number | undefined;
  eTag: string | undefined;
}

interface S3EventRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string } };
}

/** Reads the records of a notification message body (S3's event JSON); [] for anything else. */
export function parseBucketEvents(body: unknown): BucketEvent[] {
  const records = (body as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) return [];
  return (records as S3EventRecord[]).flatMap((record) => {
    const eventName = record.eventName ?? '';
    const kind = eventName.startsWith('s3:ObjectCreated:')
      ? 'created'
      : eventName.startsWith('s3:ObjectRemoved:')
        ? 'removed'
        : undefined;
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (!kind || !bucket || key === undefined) return [];
    return [
      {
        kind,
        eventName,
        bucket,
        // S3 URL-encodes keys in events, spaces as '+'.
        objectName: decodeURIComponent(key.replaceAll('+', ' ')),
        size: record.s3?.object?.size,
        eTag: record.s3?.object?.eTag,
      },
    ];
  });
}
