/**
 * Makes a video's media at ingest, after its segments are indexed: thumbnails and poster (one ffmpeg
 * pass, extract-previews.ts) and, when browsers cannot play the source, a rendition (rendition.ts).
 * Media is a convenience: whatever fails here is logged, noted in the record's warnings and left out
 * (its URL reads null); the video stays indexed and its neighbours never notice. Re-indexing a video
 * first removes what an earlier ingest made, so the media always matches the current segments.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Config } from '../config.js';
import { toHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ObjectStore } from '../storage/port.js';
import type { DecodeSlots } from '../video/decode-slots.js';
import type { FfmpegTools } from '../video/ffmpeg-tools.js';
import type { Previews } from '../video/preview-outputs.js';
import type { SegmentSpan } from '../video/segments.js';
import { extractPreviews } from './extract-previews.js';
import type { VideoMediaRecord } from './media-record.js';
import { mediaPrefix, posterKey, renditionKey, thumbnailKey } from './media-record.js';
import type { PlayabilityFacts } from './rendition.js';
import { browserPlayableType, makeRendition } from './rendition.js';

export type MediaSettings = Pick<
  Config,
  'mediaPreviews' | 'playbackRenditions' | 'mediaTimeoutMs' | 'allowedContainers'
>;

export interface MediaMakerOptions {
  config: MediaSettings;
  storage: ObjectStore;
  ffmpeg: FfmpegTools;
  logger: Logger;
  /** The process's decode slots: media runs are ffmpeg decodes too and wait their turn. */
  decodeSlots: DecodeSlots;
}

/** The video the media is for: its id, tenant and source object. */
export interface MediaSubject {
  id: string;
  tenantId: string;
  /** The source object (`videos/<sha256>…`), played as-is when browsers can. */
  key: string;
}

export class MediaMaker {
  readonly #options: MediaMakerOptions;

  constructor(options: MediaMakerOptions) {
    this.#options = options;
  }

  /** Whether ingest should take thumbnails and a poster from its decode (HBI_MEDIA_PREVIEWS=on). */
  get previewsWanted(): boolean {
    return this.#options.config.mediaPreviews === 'on';
  }

  /**
   * Makes and stores the media of `video` from its local `file`; never throws for a bad file.
   * `previews`: the thumbnails and poster ingest's decode already wrote; without them (and with
   * HBI_MEDIA_PREVIEWS=on) one extra ffmpeg pass makes them.
   */
  async make(
    video: MediaSubject,
    file: string,
    facts: PlayabilityFacts,
    spans: readonly SegmentSpan[],
    previews?: Previews,
  ): Promise<VideoMediaRecord> {
    const { config, logger } = this.#options;
    const record: VideoMediaRecord = { thumbnails: [], posterKey: null, playback: null, warnings: [] };
    const note = (what: string, error: unknown) => {
      const failure = toHbiError(error, 'VIDEO_UNREADABLE');
      record.warnings.push(`${what}: ${failure.message}`);
      logger.warn('video media not made; the video stays indexed without it', {
        videoId: video.id,
        what,
        code: failure.code,
        error,
      });
    };
    await this.removeAll(video.tenantId, video.id).catch((error: unknown) => note('old media', error));
    const dir = await mkdtemp(path.join(tmpdir(), 'hbi-media-'));
    try {
      if (config.mediaPreviews === 'on') {
        await this.#previews(video, file, spans, dir, record, previews).catch((error: unknown) =>
          note('thumbnails', error),
        );
      }
      const playable = browserPlayableType(facts);
      if (playable) {
        record.playback = { key: video.key, contentType: playable, kind: 'source' };
      } else if (config.playbackRenditions === 'auto') {
        await this.#rendition(video, file, dir, record).catch((error: unknown) =>
          note('playable rendition', error),
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return record;
  }

  /** Removes every media object of the video (its thumbnails, poster, rendition); the source stays. */
  async removeAll(tenantId: string, videoId: string): Promise<number> {
    const { storage } = this.#options;
    return removeVideoMedia(storage, tenantId, videoId);
  }

  async #previews(
    video: MediaSubject,
    file: string,
    spans: readonly SegmentSpan[],
    dir: string,
    record: VideoMediaRecord,
    made: Previews | undefined,
  ): Promise<void> {
    const { config, storage, ffmpeg, decodeSlots } = this.#options;
    const previewDir = await mkdtemp(path.join(dir, 'previews-'));
    const previews =
      made ??
      (await decodeSlots.run(() =>
        extractPreviews(ffmpeg, {
          file,
          spans,
          outDir: previewDir,
          containers: config.allowedContainers,
          timeoutMs: config.mediaTimeoutMs,
        }),
      ));
    for (const [index, thumbnail] of previews.thumbnails) {
      await storage.put(thumbnailKey(video.tenantId, video.id, index), await readFile(thumbnail), {
        contentType: 'image/jpeg',
      });
      record.thumbnails.push(index);
    }
    record.thumbnails.sort((a, b) => a - b);
    if (previews.poster) {
      const key = posterKey(video.tenantId, video.id);
      await storage.put(key, await readFile(previews.poster), { contentType: 'image/jpeg' });
      record.posterKey = key;
    }
  }

  async #rendition(video: MediaSubject, file: string, dir: string, record: VideoMediaRecord): Promise<void> {
    const { config, storage, ffmpeg, decodeSlots } = this.#options;
    const output = path.join(dir, 'playback.mp4');
    await decodeSlots.run(() =>
      makeRendition(ffmpeg, file, output, {
        timeoutMs: config.mediaTimeoutMs,
        containers: config.allowedContainers,
      }),
    );
    const key = renditionKey(video.tenantId, video.id);
    await storage.put(key, createReadStream(output), { contentType: 'video/mp4' });
    record.playback = { key, contentType: 'video/mp4', kind: 'rendition' };
  }
}

/** Deletes everything under the video's media prefix; returns how many objects went. */
export async function removeVideoMedia(
  storage: ObjectStore,
  tenantId: string,
  videoId: string,
): Promise<number> {
  const keys: string[] = [];
  for await (const object of storage.list(mediaPrefix(tenantId, videoId))) keys.push(object.key);
  for (const key of keys) await storage.delete(key);
  return keys.length;
}
