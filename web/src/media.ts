// The media fields (thumbnails, posters, playback URLs) every page selects, in one place. The server's
// URLs are signed and short-lived; null means none (yet): the UI shows a placeholder.
import { graphql } from './graphql.js';

export const HitMedia = graphql(`
  fragment HitMedia on SegmentHit {
    thumbnailUrl
    playbackUrl
  }
`);

export const SegmentMedia = graphql(`
  fragment SegmentMedia on Segment {
    thumbnailUrl
  }
`);

export const VideoMedia = graphql(`
  fragment VideoMedia on Video {
    posterUrl
  }
`);

/** The media URLs of anything that may carry them. */
export interface MediaUrls {
  thumbnailUrl?: string | null;
  posterUrl?: string | null;
  playbackUrl?: string | null;
}

export function thumbnailOf(item: object): string | null {
  const media = item as MediaUrls;
  return media.thumbnailUrl ?? media.posterUrl ?? null;
}

export function playbackOf(item: object): string | null {
  return (item as MediaUrls).playbackUrl ?? null;
}
