/**
 * Subscriptions over graphql-ws for what ingest announces. The platform forwards each `video.indexed`
 * and `segment.indexed` bus event into the gateway's pubSub (see `forwardVideoEvents`), so every
 * gateway process sees every event whichever worker indexed the video. Each subscriber gets only its
 * own tenant's events: every subscription filters on the event's `tenantId` against the subscriber's
 * (`GatewayContext.tenantId`); an event without one reaches nobody.
 */
import { Arg, Field, ID, Int, ObjectType, Resolver, Root, Subscription } from 'type-graphql';

import { Policy } from '../auth/policy.js';
import type { SubscriptionHandlerData } from 'type-graphql';

import type { EventBus, Subscription as BusSubscription } from '../events/port.js';
import type { SegmentIndexedEvent, VideoIndexedEvent } from '../ingest/ingest-events.js';
import { SEGMENT_INDEXED, VIDEO_INDEXED } from '../ingest/ingest-events.js';
import type { GatewayContext } from './context.js';
import { Segment } from './library.types.js';
import type { GatewayPubSub } from './schema.js';

@ObjectType({ description: 'A video whose segments just became searchable.' })
export class VideoIndexed {
  @Field(() => ID)
  videoId!: string;

  @Field(() => Int)
  segments!: number;

  @Field(() => String, { description: 'The model (`name@version`) that encoded it.' })
  model!: string;
}

interface SegmentFilterArgs {
  cameraId?: string | null;
  videoId?: string | null;
}

/** True when the event belongs to the subscriber's tenant. */
export function sameTenant(
  payload: { tenantId?: unknown },
  context: Pick<GatewayContext, 'tenantId'>,
): boolean {
  return typeof payload.tenantId === 'string' && payload.tenantId === context.tenantId;
}

@Resolver()
export class VideoEventsResolver {
  @Policy('read')
  @Subscription(() => VideoIndexed, {
    topics: VIDEO_INDEXED,
    filter: ({ payload, context }: SubscriptionHandlerData<VideoIndexedEvent, object, GatewayContext>) =>
      sameTenant(payload, context),
    description: 'Each video of your tenant as soon as it is indexed (no replay of earlier ones).',
  })
  videoIndexed(@Root() event: VideoIndexedEvent): VideoIndexed {
    return Object.assign(new VideoIndexed(), {
      videoId: event.videoId,
      segments: event.segments,
      model: event.model,
    });
  }

  @Policy('read')
  @Subscription(() => Segment, {
    topics: SEGMENT_INDEXED,
    filter: ({
      payload,
      args,
      context,
    }: SubscriptionHandlerData<SegmentIndexedEvent, SegmentFilterArgs, GatewayContext>) =>
      sameTenant(payload, context) &&
      (!args.cameraId || payload.cameraId === args.cameraId) &&
      (!args.videoId || payload.videoId === args.videoId),
    description:
      'Each segment of your tenant as soon as its video is indexed (searchable), optionally only of one camera or one video; no replay.',
  })
  segmentIndexed(
    @Root() event: SegmentIndexedEvent,
    @Arg('cameraId', () => ID, { nullable: true }) _cameraId: string | null | undefined,
    @Arg('videoId', () => ID, { nullable: true }) _videoId: string | null | undefined,
  ): Segment {
    return Object.assign(new Segment(), {
      id: event.segmentId,
      videoId: event.videoId,
      index: event.index,
      startMs: event.startMs,
      endMs: event.endMs,
      createdAt: new Date(event.createdAt),
    });
  }
}

/**
 * Subscribes this gateway to `video.indexed` and `segment.indexed` under its own consumer group and
 * republishes them into `pubSub`.
 */
export function forwardVideoEvents(
  events: EventBus,
  pubSub: GatewayPubSub,
  group: string,
): Promise<BusSubscription> {
  return events.subscribe<VideoIndexedEvent | SegmentIndexedEvent>({
    topics: [VIDEO_INDEXED, SEGMENT_INDEXED],
    group,
    fromBeginning: false,
    handler: (message) => {
      pubSub.publish(message.topic, message.value);
      return Promise.resolve();
    },
  });
}
