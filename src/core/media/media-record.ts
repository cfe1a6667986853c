/**
 * What ingest made for one video's media, kept on its row (`videos.media`): which segments have a
 * thumbnail, the poster, and what a browser plays (the source itself, or a rendition made at ingest).
 * Every key but a played-as-is source lives under the video's media prefix, `tenants/<tenantId>/media/
 * <videoId>/`, so deleting a video removes exactly its media and never another tenant's (sources are
 * content-addressed and shared across tenants; media is not).
 */
import { z } from 'zod';

import { tenantObjectKey } from '../storage/port.js';

/** The media of one video, as stored on its row. */
export interface VideoMediaRecord {
  /** Segment indexes that have a thumbnail (`thumbnailKey`). */
  thumbnails: number[];
  /** Object key of the poster, or null when none was made. */
  posterKey: string | null;
  /** What a browser plays: the source (`videos/<sha256>…`) or a rendition; null when nothing playable. */
  playback: { key: string; contentType: string; kind: 'source' | 'rendition' } | null;
  /** Why something is missing (client-safe, one line each), for logs and operators. */
  warnings: string[];
}

const recordSchema = z.object({
  thumbnails: z.array(z.number().int().nonnegative()),
  posterKey: z.string().nullable(),
  playback: z
    .object({ key: z.string(), contentType: z.string(), kind: z.enum(['source', 'rendition']) })
    .nullable(),
  warnings: z.array(z.string()).default([]),
});

/** The record in a row's `media` column; null when absent or not one of ours. */
export function parseMediaRecord(value: unknown): VideoMediaRecord | null {
  if (value === null || value === undefined) return null;
  const parsed = recordSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** `tenants/<tenantId>/media/<videoId>/`: everything made for the video (validated key segments). */
export function mediaPrefix(tenantId: string, videoId: string): string {
  return `${tenantObjectKey(tenantId, `media/${videoId}`)}/`;
}

/** The thumbnail of segment `index`. */
export function thumbnailKey(tenantId: string, videoId: string, index: number): string {
  return `${mediaPrefix(tenantId, videoId)}thumbs/${index}.jpg`;
}

/** The video's poster. */
export function posterKey(tenantId: string, videoId: string): string {
  return `${mediaPrefix(tenantId, videoId)}poster.jpg`;
}

/** The browser-playable rendition (H.264 MP4). */
export function renditionKey(tenantId: string, videoId: string): string {
  return `${mediaPrefix(tenantId, videoId)}playback.mp4`;
}

/** Content type of a media key by its extension (thumbnails, posters, renditions, sources). */
export function mediaContentType(key: string): string {
  const extension = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  switch (extension) {
    case 'jpg':
    case 'jpeg':
      return 'image/jpeg';
    case 'webp':
      return 'image/webp';
    case 'webm':
      return 'video/webm';
    case 'mp4':
    case 'm4v':
    case 'mov':
      return 'video/mp4';
    default:
      return 'application/octet-stream';
  }
}
