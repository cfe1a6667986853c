/**
 * The bus topics of the ingest path and what each carries. Values are plain JSON (the bus serialises
 * them); every topic is keyed so that one video's (or one job's) messages stay in order.
 */

/** A queued ingest or re-index job, for the ingest worker (key: job id). */
export const JOB_QUEUED = 'job.queued';
/** A video's segments became searchable (key: video id). */
export const VIDEO_INDEXED = 'video.indexed';
/** One segment of a just-indexed video (key: video id), for `segmentIndexed` subscribers. */
export const SEGMENT_INDEXED = 'segment.indexed';
/** A video and everything derived from it were removed (key: video id). */
export const VIDEO_DELETED = 'video.deleted';

export interface VideoIndexedEvent {
  videoId: string;
  tenantId: string;
  contentSha256: string;
  segments: number;
  model: string;
}

export interface SegmentIndexedEvent {
  segmentId: string;
  videoId: string;
  tenantId: string;
  cameraId: string | null;
  index: number;
  startMs: number;
  endMs: number;
  /** ISO time the segment row was first written. */
  createdAt: string;
  /** ISO wall-clock time the segment's first frame was recorded (camera videos), else null. */
  capturedAt?: string | null;
  model: string;
}

export interface VideoDeletedEvent {
  videoId: string;
  tenantId: string;
  segments: number;
}

/** Where the bytes of an ingest come from. */
export type IngestSource =
  | { kind: 'object'; key: string }
  | { kind: 'path'; path: string }
  | {
      kind: 'url';
      /** The URL without credentials or secret query parameters (what may be shown and logged). */
      url: string;
      /** The full URL, sealed (`source-secrets.ts`), when it carried secrets the download needs. */
      sealedUrl?: string;
    };

/** The work a `job.queued` message asks for. */
export type JobQueuedEvent =
  | {
      kind: 'ingest';
      jobId: string;
      tenantId: string;
      source: IngestSource;
      title: string | null;
      cameraId: string | null;
      /** ISO wall-clock time the video starts at (camera segments); absent in older messages. */
      capturedAt?: string | null;
      /** Shown with the video: `upload:<filename>`, the URL (without its secrets), or the path. */
      sourceUri: string;
    }
  | {
      kind: 'reindex';
      jobId: string;
      tenantId: string;
      /** Null: every video of the tenant. */
      videoId: string | null;
      /** Re-encode videos this model already encoded too (only with `videoId: null`). */
      force: boolean;
    };
