/**
 * Lookups of the video library: `video`, `videos`, `segment`, `segments`, `camera`, `cameras`, and the
 * links between them (`Video.segments`, `Video.camera`, `Segment.video`). Pages are Relay connections
 * with keyset cursors. An unknown (or malformed) id answers NOT_FOUND with a null field.
 */
import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';

import { Policy } from '../auth/policy.js';

import { HbiError } from '../errors.js';
import type { LibraryServices } from '../library/library.js';
import { isUuid } from '../util/ids.js';
import { checkPageSize, decodeCursor, encodeCursor, toConnection } from './connections.js';
import type { GatewayContext } from './context.js';
import {
  Camera,
  CameraConnection,
  Segment,
  SegmentConnection,
  Video,
  VideoConnection,
  VideoStatus,
  toCamera,
  toSegment,
  toVideo,
} from './library.types.js';

/** The tenant a request works in: the embedded default until API keys name one. */
export function tenantOf(context: GatewayContext): string {
  return context.tenantId;
}

export function libraryOf(context: GatewayContext): LibraryServices {
  return context.services.library;
}

export function notFound(what: string, id: string): HbiError {
  return new HbiError('NOT_FOUND', `${what} ${id} not found`, { details: { id } });
}

/** A filter id: BAD_USER_INPUT when malformed (a lookup id would read as not found instead). */
export function checkFilterId(name: string, id: string | null | undefined): string | undefined {
  if (id === null || id === undefined) return undefined;
  if (!isUuid(id))
    throw new HbiError('BAD_USER_INPUT', `${name} is not an id: ${JSON.stringify(id)}`, { details: { id } });
  return id;
}

const pageArgs = {
  first: {
    nullable: true,
    description: 'Page size: at most the server limit; 20 (or that limit) when omitted.',
  },
  after: { nullable: true, description: 'endCursor of the previous page.' },
} as const;

async function segmentPage(
  context: GatewayContext,
  videoId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<SegmentConnection> {
  const limit = checkPageSize(first, context.services.config.maxPageSize);
  const afterIndex = after ? decodeCursor('segment', after, 1)[0] : undefined;
  if (afterIndex !== undefined && !Number.isInteger(afterIndex))
    throw new HbiError('BAD_USER_INPUT', `Invalid cursor ${JSON.stringify(after)}`);
  const page = await libraryOf(context).catalog.segments(tenantOf(context), videoId, {
    limit: limit + 1,
    ...(afterIndex === undefined ? {} : { afterIndex: Number(afterIndex) }),
  });
  return Object.assign(
    new SegmentConnection(),
    toConnection(page.segments, {
      first: limit,
      after,
      totalCount: page.totalCount,
      cursor: (segment) => encodeCursor('segment', [segment.index]),
      node: toSegment,
    }),
  );
}

@Resolver(() => Video)
export class VideoResolver {
  @Policy('read')
  @Query(() => Video, { nullable: true, description: 'One video by id.' })
  async video(@Arg('id', () => ID) id: string, @Ctx() context: GatewayContext): Promise<Video> {
    const record = await libraryOf(context).catalog.video(tenantOf(context), id);
    if (!record) throw notFound('Video', id);
    return toVideo(record);
  }

  @Policy('read')
  @Query(() => VideoConnection, { description: 'Videos, newest first.' })
  async videos(
    @Arg('first', () => Int, pageArgs.first) first: number | null | undefined,
    @Arg('after', () => String, pageArgs.after) after: string | null | undefined,
    @Arg('cameraId', () => ID, { nullable: true, description: 'Only videos this camera recorded.' })
    cameraId: string | null | undefined,
    @Arg('status', () => VideoStatus, { nullable: true }) status: VideoStatus | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<VideoConnection> {
    const limit = checkPageSize(first, context.services.config.maxPageSize);
    const camera = checkFilterId('cameraId', cameraId);
    const key = after ? decodeCursor('video', after, 2) : undefined;
    if (key && (typeof key[0] !== 'number' || typeof key[1] !== 'string' || !isUuid(key[1])))
      throw new HbiError('BAD_USER_INPUT', `Invalid cursor ${JSON.stringify(after)}`);
    const page = await libraryOf(context).catalog.videos(tenantOf(context), {
      limit: limit + 1,
      ...(key ? { after: { createdAt: new Date(key[0]!), id: String(key[1]) } } : {}),
      ...(camera ? { cameraId: camera } : {}),
      ...(status ? { status: status } : {}),
    });
    return Object.assign(
      new VideoConnection(),
      toConnection(page.videos, {
        first: limit,
        after,
        totalCount: page.totalCount,
        cursor: (video) => encodeCursor('video', [video.createdAt.getTime(), video.id]),
        node: toVideo,
      }),
    );
  }

  @FieldResolver(() => SegmentConnection, { description: "The video's segments, in timeline order." })
  segments(
    @Root() video: Video,
    @Arg('first', () => Int, pageArgs.first) first: number | null | undefined,
    @Arg('after', () => String, pageArgs.after) after: string | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<SegmentConnection> {
    return segmentPage(context, video.id, first, after);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'A JPEG of the frame at the middle of the middle segment (at most 640 px wide): a short-lived URL (HBI_MEDIA_URL_TTL_SECONDS); null until indexed.',
  })
  async posterUrl(@Root() video: Video, @Ctx() context: GatewayContext): Promise<string | null> {
    return (await context.media.video(video.id)).posterUrl;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'A URL a browser plays (the source when it is H.264/VP9 MP4 or WebM, else an H.264 MP4 made at ingest): short-lived, supports HTTP Range; null until indexed or when no playable form exists.',
  })
  async playbackUrl(@Root() video: Video, @Ctx() context: GatewayContext): Promise<string | null> {
    return (await context.media.video(video.id)).playbackUrl;
  }

  @FieldResolver(() => Camera, { nullable: true, description: 'The camera that recorded it.' })
  async camera(@Root() video: Video, @Ctx() context: GatewayContext): Promise<Camera | null> {
    if (!video.cameraId) return null;
    const record = await libraryOf(context).catalog.camera(tenantOf(context), video.cameraId);
    return record ? toCamera(record) : null;
  }
}

@Resolver(() => Segment)
export class SegmentResolver {
  @Policy('read')
  @Query(() => Segment, { nullable: true, description: 'One segment by id.' })
  async segment(@Arg('id', () => ID) id: string, @Ctx() context: GatewayContext): Promise<Segment> {
    const record = await libraryOf(context).catalog.segment(tenantOf(context), id);
    if (!record) throw notFound('Segment', id);
    return toSegment(record);
  }

  @Policy('read')
  @Query(() => SegmentConnection, { description: "A video's segments, in timeline order." })
  async segments(
    @Arg('videoId', () => ID) videoId: string,
    @Arg('first', () => Int, pageArgs.first) first: number | null | undefined,
    @Arg('after', () => String, pageArgs.after) after: string | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<SegmentConnection> {
    if (!(await libraryOf(context).catalog.video(tenantOf(context), videoId)))
      throw notFound('Video', videoId);
    return segmentPage(context, videoId, first, after);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'A JPEG of the frame at the middle of the segment (at most 320 px wide): a short-lived URL (HBI_MEDIA_URL_TTL_SECONDS); null until indexed.',
  })
  async thumbnailUrl(@Root() segment: Segment, @Ctx() context: GatewayContext): Promise<string | null> {
    const [links] = await context.media.segments([segment]);
    return links?.thumbnailUrl ?? null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      "The video's playbackUrl with a media fragment `#t=<startSec>,<endSec>`, so a player starts at the segment.",
  })
  async playbackUrl(@Root() segment: Segment, @Ctx() context: GatewayContext): Promise<string | null> {
    const [links] = await context.media.segments([segment]);
    return links?.playbackUrl ?? null;
  }

  @FieldResolver(() => Video, { nullable: true, description: 'The video it belongs to.' })
  async video(@Root() segment: Segment, @Ctx() context: GatewayContext): Promise<Video | null> {
    const record = await libraryOf(context).catalog.video(tenantOf(context), segment.videoId);
    return record ? toVideo(record) : null;
  }
}

@Resolver(() => Camera)
export class CameraResolver {
  @Policy('read')
  @Query(() => Camera, { nullable: true, description: 'One camera by id.' })
  async camera(@Arg('id', () => ID) id: string, @Ctx() context: GatewayContext): Promise<Camera> {
    const record = await libraryOf(context).catalog.camera(tenantOf(context), id);
    if (!record) throw notFound('Camera', id);
    return toCamera(record);
  }

  @Policy('read')
  @Query(() => CameraConnection, { description: 'Cameras, by name.' })
  async cameras(
    @Arg('first', () => Int, pageArgs.first) first: number | null | undefined,
    @Arg('after', () => String, pageArgs.after) after: string | null | undefined,
    @Ctx() context: GatewayContext,
  ): Promise<CameraConnection> {
    const limit = checkPageSize(first, context.services.config.maxPageSize);
    const afterName = after ? String(decodeCursor('camera', after, 1)[0]) : undefined;
    const page = await libraryOf(context).catalog.cameras(tenantOf(context), {
      limit: limit + 1,
      ...(afterName === undefined ? {} : { afterName }),
    });
    return Object.assign(
      new CameraConnection(),
      toConnection(page.cameras, {
        first: limit,
        after,
        totalCount: page.totalCount,
        cursor: (camera) => encodeCursor('camera', [camera.name]),
        node: toCamera,
      }),
    );
  }
}
