import { describe, expect, it } from 'vitest';

import { parseBucketEvents } from '../../../src/core/storage/s3-bucket-events.js';

describe('parseBucketEvents', () => {
  it('reads created and removed records, decoding object names', () => {
    const body = {
      EventName: 's3:ObjectCreated:Put',
      Key: 'hbi-videos/videos/cam%201/a+b.mp4',
      Records: [
        {
          eventName: 's3:ObjectCreated:CompleteMultipartUpload',
          s3: {
            bucket: { name: 'hbi-videos' },
            object: { key: 'videos/cam%201/a+b.mp4', size: 42, eTag: 'e' },
          },
        },
        {
          eventName: 's3:ObjectRemoved:Delete',
          s3: { bucket: { name: 'hbi-videos' }, object: { key: 'x' } },
        },
        { eventName: 's3:ObjectAccessed:Get', s3: { bucket: { name: 'hbi-videos' }, object: { key: 'y' } } },
      ],
    };
    expect(parseBucketEvents(body)).toEqual([
      {
        kind: 'created',
        eventName: 's3:ObjectCreated:CompleteMultipartUpload',
        bucket: 'hbi-videos',
        objectName: 'videos/cam 1/a b.mp4',
        size: 42,
        eTag: 'e',
      },
      {
        kind: 'removed',
        eventName: 's3:ObjectRemoved:Delete',
        bucket: 'hbi-videos',
        objectName: 'x',
        size: undefined,
        eTag: undefined,
      },
    ]);
  });

  it('answers [] for anything that is not an S3 event', () => {
    expect(parseBucketEvents(null)).toEqual([]);
    expect(parseBucketEvents({ Records: 'no' })).toEqual([]);
    expect(parseBucketEvents('text')).toEqual([]);
  });
});
