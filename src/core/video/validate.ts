/**
 * Checks a probed video against the configured limits before any decoding work is spent on it. Each
 * failure is a typed error saying which limit and by how much, so a client can fix its upload.
 */
import type { Config } from '../config.js';
import { HbiError } from '../errors.js';
import type { VideoProbe } from './probe.js';

export type VideoLimits = Pick<
  Config,
  | 'maxUploadBytes'
  | 'maxVideoSeconds'
  | 'maxVideoWidth'
  | 'maxVideoHeight'
  | 'allowedContainers'
  | 'allowedCodecs'
  | 'maxVideoFps'
>;

/** A probe that passed validation: it has a video stream and a known duration. */
export type ValidVideo = VideoProbe & { video: NonNullable<VideoProbe['video']>; durationMs: number };

/** Throws VIDEO_TOO_LARGE, VIDEO_FORMAT_UNSUPPORTED or VIDEO_UNREADABLE; returns the probe narrowed. */
export function validateVideo(probe: VideoProbe, limits: VideoLimits): ValidVideo {
  if (probe.sizeBytes > limits.maxUploadBytes) {
    throw new HbiError(
      'VIDEO_TOO_LARGE',
      `The video is ${probe.sizeBytes} bytes; the limit is ${limits.maxUploadBytes}`,
      {
        details: { sizeBytes: probe.sizeBytes, limit: limits.maxUploadBytes },
      },
    );
  }
  if (!probe.formatNames.some((name) => limits.allowedContainers.includes(name))) {
    throw new HbiError(
      'VIDEO_FORMAT_UNSUPPORTED',
      `Container ${probe.formatNames.join('/') || 'unknown'} is not accepted (allowed: ${limits.allowedContainers.join(', ')})`,
      { details: { container: probe.formatNames, allowed: limits.allowedContainers } },
    );
  }
  const video = probe.video;
  if (!video) throw new HbiError('VIDEO_UNREADABLE', 'The file has no video stream');
  if (!limits.allowedCodecs.includes(video.codec)) {
    throw new HbiError(
      'VIDEO_FORMAT_UNSUPPORTED',
      `Codec ${video.codec} is not accepted (allowed: ${limits.allowedCodecs.join(', ')})`,
      {
        details: { codec: video.codec, allowed: limits.allowedCodecs },
      },
    );
  }
  if (video.width < 1 || video.height < 1)
    throw new HbiError('VIDEO_UNREADABLE', 'The video stream has no frame size');
  if (video.width > limits.maxVideoWidth || video.height > limits.maxVideoHeight) {
    throw new HbiError(
      'VIDEO_TOO_LARGE',
      `Frames are ${video.width}x${video.height}; the limit is ${limits.maxVideoWidth}x${limits.maxVideoHeight}`,
      {
        details: {
          width: video.width,
          height: video.height,
          maxWidth: limits.maxVideoWidth,
          maxHeight: limits.maxVideoHeight,
        },
      },
    );
  }
  if (video.fps !== null && video.fps > limits.maxVideoFps) {
    throw new HbiError(
      'VIDEO_TOO_LARGE',
      `The video declares ${Math.round(video.fps * 100) / 100} frames a second; the limit is ${limits.maxVideoFps} (HBI_MAX_VIDEO_FPS): re-encode it at a lower frame rate`,
      { details: { fps: video.fps, maxFps: limits.maxVideoFps } },
    );
  }
  const durationMs = probe.durationMs;
  if (durationMs === null || durationMs <= 0)
    throw new HbiError('VIDEO_UNREADABLE', 'The video has no known duration');
  if (durationMs > limits.maxVideoSeconds * 1000) {
    throw new HbiError(
      'VIDEO_TOO_LARGE',
      `The video lasts ${durationMs / 1000} s; the limit is ${limits.maxVideoSeconds} s`,
      {
        details: { durationMs, limitSeconds: limits.maxVideoSeconds },
      },
    );
  }
  return { ...probe, video, durationMs };
}
