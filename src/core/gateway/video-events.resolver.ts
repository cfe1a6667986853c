/**
 * Subscriptions over graphql-ws for what ingest announces. The platform forwards each `video.indexed`
 * bus event into the gateway's pubSub (see `forwardVideoEvents`), so every gateway process sees every
 * event whichever worker indexed the video.
 */
import { Field, ID, Int, ObjectType, Resolver, Root, Subscription } from 'type-graphql';

import type { EventBus, Subscription as BusSubscription } from '../events/port.js';
import type { VideoIndexedEvent } from '../ingest/video-ingestor.js';
import { VIDEO_INDEXED } from '../ingest/video-ingestor.js';
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

@Resolver()
export class VideoEventsResolver {
  @Subscription(() => VideoIndexed, {
    topics: VIDEO_INDEXED,
    description: 'Each video as soon as it is indexed (no replay of earlier ones).',
  })
  videoIndexed(@Root() event: VideoIndexedEvent): VideoIndexed {
    return Object.assign(new VideoIndexed(), {
      videoId: event.videoId,
      segments: event.segments,
      model: event.model,
    });
  }
}

/** Subscribes this gateway to `video.indexed` under its own consumer group and republishes into `pubSub`. */
export function forwardVideoEvents(
  events: EventBus,
  pubSub: GatewayPubSub,
  group: string,
): Promise<BusSubscription> {
  return events.subscribe<VideoIndexedEvent>({
    topics: [VIDEO_INDEXED],
    group,
    fromBeginning: false,
    handler: (message) => {
      pubSub.publish(VIDEO_INDEXED, message.value);
      return Promise.resolve();
    },
  });
}
