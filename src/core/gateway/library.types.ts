/** GraphQL types of the video library: videos, segments, cameras, their connections, and client-safe errors. */
import { GraphQLDateTime, GraphQLJSONObject, GraphQLSafeInt } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

import type { PublicError } from '../errors.js';
import { redact, redactDetails } from '../errors.js';
import type { CameraRecord, SegmentRecord, VideoRecord } from '../library/video-catalog.js';
import { Connection } from './connections.js';

/** Where a video is in its life. */
export enum VideoStatus {
  PENDING = 'PENDING',
  INDEXING = 'INDEXING',
  INDEXED = 'INDEXED',
  FAILED = 'FAILED',
  DELETED = 'DELETED',
}
registerEnumType(VideoStatus, {
  name: 'VideoStatus',
  description:
    'Where a video is: stored (PENDING), being encoded, searchable (INDEXED), or FAILED with an error.',
});

export enum CameraStatus {
  ONLINE = 'ONLINE',
  OFFLINE = 'OFFLINE',
  DISABLED = 'DISABLED',
}
registerEnumType(CameraStatus, { name: 'CameraStatus', description: 'Whether a camera is streaming.' });

@ObjectType({
  description: 'Why something failed, as safe to show a client: a catalogue code and a message.',
})
export class ErrorInfo {
  @Field(() => String, {
    description: 'A code from the error catalogue (VIDEO_UNREADABLE, LIMIT_EXCEEDED, …).',
  })
  code!: string;

  @Field(() => String)
  message!: string;

  @Field(() => Boolean, { description: 'Whether the same work may succeed when tried again.' })
  retriable!: boolean;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Facts about the failure (limits, sizes).' })
  details!: Record<string, unknown> | null;
}

@ObjectType({ description: 'A stored video: an upload, a file, a download or a camera chunk.' })
export class Video {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  title!: string | null;

  @Field(() => VideoStatus)
  status!: VideoStatus;

  @Field(() => Int, { nullable: true, description: 'Known once the video is probed.' })
  durationMs!: number | null;

  @Field(() => GraphQLSafeInt)
  sizeBytes!: number;

  @Field(() => Int, { nullable: true })
  width!: number | null;

  @Field(() => Int, { nullable: true })
  height!: number | null;

  @Field(() => Float, { nullable: true })
  fps!: number | null;

  @Field(() => String, { nullable: true, description: 'Container as ffmpeg names it (e.g. mov,mp4,…).' })
  container!: string | null;

  @Field(() => String, { nullable: true })
  codec!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Where it came from: `upload:<name>`, a URL, a path, a library id.',
  })
  sourceUri!: string | null;

  @Field(() => ID, { nullable: true, description: 'The camera that recorded it.' })
  cameraId!: string | null;

  @Field(() => GraphQLDateTime, {
    nullable: true,
    description: 'Wall-clock time it was recorded (camera videos).',
  })
  capturedAt!: Date | null;

  @Field(() => ErrorInfo, { nullable: true, description: 'Why indexing failed, while status is FAILED.' })
  error!: ErrorInfo | null;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => GraphQLDateTime)
  updatedAt!: Date;
}

@ObjectType({
  description: 'A fixed window of a video: the unit that is encoded, searched and answered about.',
})
export class Segment {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  videoId!: string;

  @Field(() => Int, { description: '0-based position in the video.' })
  index!: number;

  @Field(() => Int)
  startMs!: number;

  @Field(() => Int)
  endMs!: number;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;
}

@ObjectType({ description: 'A camera whose recordings arrive as videos.' })
export class Camera {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => CameraStatus)
  status!: CameraStatus;

  @Field(() => GraphQLDateTime)
  createdAt!: Date;

  @Field(() => GraphQLDateTime, { nullable: true })
  lastSeenAt!: Date | null;
}

@ObjectType({ description: 'A page of videos, newest first.' })
export class VideoConnection extends Connection(Video, 'VideoEdge') {}

@ObjectType({ description: "A page of a video's segments, in timeline order." })
export class SegmentConnection extends Connection(Segment, 'SegmentEdge') {}

@ObjectType({ description: 'A page of cameras, by name.' })
export class CameraConnection extends Connection(Camera, 'CameraEdge') {}

export function toErrorInfo(error: PublicError | null): ErrorInfo | null {
  if (!error) return null;
  return Object.assign(new ErrorInfo(), {
    code: error.code,
    // Rows written before paths and secrets were redacted at the source may still hold one.
    message: redact(error.message),
    retriable: error.retriable ?? false,
    details: error.details ? redactDetails(error.details) : null,
  });
}

export function toVideo(record: VideoRecord): Video {
  return Object.assign(new Video(), {
    id: record.id,
    title: record.title,
    status: record.status as VideoStatus,
    durationMs: record.durationMs,
    sizeBytes: record.sizeBytes,
    width: record.width,
    height: record.height,
    fps: record.fps,
    container: record.container,
    codec: record.codec,
    sourceUri: record.sourceUri,
    cameraId: record.cameraId,
    capturedAt: record.capturedAt,
    error: toErrorInfo(record.error),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  });
}

export function toSegment(record: SegmentRecord): Segment {
  return Object.assign(new Segment(), {
    id: record.id,
    videoId: record.videoId,
    index: record.index,
    startMs: record.startMs,
    endMs: record.endMs,
    createdAt: record.createdAt,
  });
}

export function toCamera(record: CameraRecord): Camera {
  return Object.assign(new Camera(), {
    id: record.id,
    name: record.name,
    status: record.status as CameraStatus,
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
  });
}
