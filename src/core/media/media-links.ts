/**
 * Media URLs for one request's tenant: what the `thumbnailUrl`, `posterUrl` and `playbackUrl` fields
 * read (core resolvers and plugins alike, through `context.media`). A URL is short-lived
 * (HBI_MEDIA_URL_TTL_SECONDS) and names one object of one tenant's video: a presigned GET where the
 * object store has its own HTTP endpoint (S3/MinIO), else the gateway's `/media/<token>` route. Null
 * whenever the media is not there (still ingesting, failed, switched off, another tenant's video).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';

import type { Config } from '../config.js';
import type { RelationalDatabase } from '../db/relational.js';
import { inTenantScope } from '../db/scope.js';
import { HbiError } from '../errors.js';
import type { ObjectInfo, ObjectStore } from '../storage/port.js';
import { isUuid } from '../util/ids.js';
import type { VideoMediaRecord } from './media-record.js';
import { mediaContentType, mediaPrefix, parseMediaRecord, thumbnailKey } from './media-record.js';
import type { MediaGrant } from './media-tokens.js';
import { MediaTokens } from './media-tokens.js';

/** Where the gateway serves media from. */
export const MEDIA_PATH = '/media/';

/** A segment whose media is asked for (a search hit, a `Segment`). */
export interface SegmentMediaRef {
  videoId: string;
  index: number;
  startMs: number;
  endMs: number;
}

export interface SegmentMediaLinks {
  /** A JPEG of the frame at the middle of the segment. */
  thumbnailUrl: string | null;
  /** The video's playable URL with a media fragment `#t=<startSec>,<endSec>`. */
  playbackUrl: string | null;
}

export interface VideoMediaLinks {
  posterUrl: string | null;
  playbackUrl: string | null;
}

/** The media capability handed to resolvers, bound to the request's tenant (it has no tenant argument). */
export interface MediaLinks {
  /** One entry per ref, in order; another tenant's or an unknown video reads as nulls. */
  segments(refs: readonly SegmentMediaRef[]): Promise<SegmentMediaLinks[]>;
  video(videoId: string): Promise<VideoMediaLinks>;
}

/** A MediaLinks that knows no media (gateways built without a media service, tests). */
export const NO_MEDIA: MediaLinks = {
  segments: (refs) => Promise.resolve(refs.map(() => ({ thumbnailUrl: null, playbackUrl: null }))),
  video: () => Promise.resolve({ posterUrl: null, playbackUrl: null }),
};

export interface MediaServiceOptions {
  db: Pick<RelationalDatabase, 'prisma'>;
  storage: ObjectStore;
  config: Pick<Config, 'mediaUrlTtlSeconds' | 'publicUrl' | 'uploadSecret'>;
  /** The clock (tests move it past expiries). */
  now?: () => number;
}

/** What the `/media/<token>` route serves once a token checks out. */
export interface OpenedMedia {
  grant: MediaGrant;
  info: ObjectInfo;
  /** The bytes `start`..`end` (inclusive) of the object. */
  read: (start: number, end: number) => Promise<Readable>;
}

interface VideoMedia {
  id: string;
  objectKey: string;
  media: VideoMediaRecord | null;
}

/** Signs media URLs and checks them when they come back; one per process. */
export class MediaService {
  readonly #options: MediaServiceOptions;
  readonly #tokens: MediaTokens;
  readonly #now: () => number;

  constructor(options: MediaServiceOptions) {
    this.#options = options;
    this.#tokens = new MediaTokens(options.config.uploadSecret);
    this.#now = options.now ?? Date.now;
  }

  /** The media links of one request: `tenantId`'s videos only, URLs on `origin` (or HBI_PUBLIC_URL). */
  forTenant(tenantId: string, origin: string | undefined): MediaLinks {
    const cache = new Map<string, Promise<VideoMedia | null>>();
    const load = (ids: readonly string[]): void => {
      const missing = [...new Set(ids)].filter((id) => !cache.has(id) && isUuid(id));
      if (missing.length === 0) return;
      const rows = inTenantScope(tenantId, () =>
        this.#options.db.prisma.video.findMany({
          where: { tenantId, id: { in: missing } },
          select: { id: true, objectKey: true, media: true },
        }),
      ).then((found) => new Map(found.map((row) => [row.id, row])));
      for (const id of missing) {
        cache.set(
          id,
          rows.then((byId) => {
            const row = byId.get(id);
            return row ? { id, objectKey: row.objectKey, media: parseMediaRecord(row.media) } : null;
          }),
        );
      }
    };
    const get = (id: string) => cache.get(id) ?? Promise.resolve(null);
    const base = (this.#options.config.publicUrl ?? origin ?? '').replace(/\/+$/, '');
    return {
      segments: async (refs) => {
        load(refs.map((ref) => ref.videoId));
        return Promise.all(
          refs.map(async (ref) => {
            const video = await get(ref.videoId);
            const media = video?.media;
            if (!video || !media) return { thumbnailUrl: null, playbackUrl: null };
            const thumbnailUrl = media.thumbnails.includes(ref.index)
              ? await this.#url(base, tenantId, video.id, thumbnailKey(tenantId, video.id, ref.index))
              : null;
            const playback = media.playback
              ? await this.#url(base, tenantId, video.id, media.playback.key, media.playback.contentType)
              : null;
            return {
              thumbnailUrl,
              playbackUrl: playback ? `${playback}#t=${seconds(ref.startMs)},${seconds(ref.endMs)}` : null,
            };
          }),
        );
      },
      video: async (videoId) => {
        load([videoId]);
        const video = await get(videoId);
        const media = video?.media;
        if (!video || !media) return { posterUrl: null, playbackUrl: null };
        return {
          posterUrl: media.posterKey ? await this.#url(base, tenantId, video.id, media.posterKey) : null,
          playbackUrl: media.playback
            ? await this.#url(base, tenantId, video.id, media.playback.key, media.playback.contentType)
            : null,
        };
      },
    };
  }

  /**
   * Checks a token from `/media/<token>` and finds its object: FORBIDDEN for a token not ours or whose
   * object is not its tenant's video's, MEDIA_URL_EXPIRED past its expiry, NOT_FOUND when the video or
   * the object is gone (deleted, re-indexed).
   */
  async open(token: string): Promise<OpenedMedia> {
    const grant = this.#tokens.verify(token, this.#now());
    const { db, storage } = this.#options;
    const gone = () => new HbiError('NOT_FOUND', 'The media is gone (the video was deleted or re-indexed)');
    const video = await inTenantScope(grant.tenantId, () =>
      db.prisma.video.findFirst({
        where: { id: grant.videoId, tenantId: grant.tenantId },
        select: { objectKey: true, media: true },
      }),
    );
    if (!video) throw gone();
    const media = parseMediaRecord(video.media);
    const own = grant.key.startsWith(mediaPrefix(grant.tenantId, grant.videoId));
    const source = grant.key === video.objectKey && media?.playback?.key === grant.key;
    if (!own && !source) throw new HbiError('FORBIDDEN', 'The media URL is not valid');
    const info = await storage.head(grant.key);
    if (!info) throw gone();
    const file = await storage.localPath(grant.key);
    const read = async (start: number, end: number): Promise<Readable> =>
      file
        ? createReadStream(file, { start, end })
        : (await storage.get(grant.key)).pipe(byteWindow(start, end));
    return { grant, info, read };
  }

  async #url(
    base: string,
    tenantId: string,
    videoId: string,
    key: string,
    contentType = mediaContentType(key),
  ): Promise<string> {
    const { storage, config } = this.#options;
    if (storage.presignedUrl) {
      return storage.presignedUrl('GET', key, { expiresInSeconds: config.mediaUrlTtlSeconds });
    }
    const token = this.#tokens.sign({
      tenantId,
      videoId,
      key,
      contentType,
      expiresAt: this.#now() + config.mediaUrlTtlSeconds * 1000,
    });
    return `${base}${MEDIA_PATH}${token}`;
  }
}

/** Milliseconds as seconds for a media fragment: `12.5`, `3`. */
function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

/** Cuts bytes `start`..`end` (inclusive) out of a stream of a whole object. */
export function byteWindow(start: number, end: number): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const from = Math.max(0, start - offset);
      const to = Math.min(chunk.length, end + 1 - offset);
      offset += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}
