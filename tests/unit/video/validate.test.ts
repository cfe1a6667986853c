import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import type { HbiError } from '../../../src/core/errors.js';
import type { VideoProbe } from '../../../src/core/video/probe.js';
import { validateVideo } from '../../../src/core/video/validate.js';

const limits = loadConfig({
  HBI_MAX_UPLOAD_BYTES: '1000000',
  HBI_MAX_VIDEO_SECONDS: '60',
  HBI_MAX_VIDEO_WIDTH: '1920',
  HBI_MAX_VIDEO_HEIGHT: '1080',
});
const good: VideoProbe = {
  formatNames: ['mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2'],
  durationMs: 5_000,
  sizeBytes: 50_000,
  video: { codec: 'h264', width: 640, height: 480, fps: 25 },
  hasAudio: false,
};

function failure(probe: Partial<VideoProbe>): HbiError {
  try {
    validateVideo({ ...good, ...probe }, limits);
  } catch (error) {
    return error as HbiError;
  }
  throw new Error('expected validation to fail');
}

describe('validateVideo', () => {
  it('accepts a video within every limit', () => {
    expect(validateVideo(good, limits).durationMs).toBe(5_000);
  });

  it.each([
    [{ sizeBytes: 2_000_000 }, 'VIDEO_TOO_LARGE', 'is 2000000 bytes; the limit is 1000000'],
    [{ durationMs: 61_000 }, 'VIDEO_TOO_LARGE', 'lasts 61 s; the limit is 60 s'],
    [
      { video: { codec: 'h264', width: 640, height: 480, fps: 90_000 } },
      'VIDEO_TOO_LARGE',
      'declares 90000 frames a second; the limit is 240 (HBI_MAX_VIDEO_FPS)',
    ],
    [
      { video: { codec: 'h264', width: 3840, height: 2160, fps: 30 } },
      'VIDEO_TOO_LARGE',
      '3840x2160; the limit is 1920x1080',
    ],
    [{ formatNames: ['png_pipe'] }, 'VIDEO_FORMAT_UNSUPPORTED', 'Container png_pipe'],
    [
      { video: { codec: 'prores', width: 64, height: 64, fps: 25 } },
      'VIDEO_FORMAT_UNSUPPORTED',
      'Codec prores',
    ],
    [{ video: null }, 'VIDEO_UNREADABLE', 'no video stream'],
    [{ durationMs: null }, 'VIDEO_UNREADABLE', 'no known duration'],
  ] as const)('refuses %j with %s', (probe, code, message) => {
    const error = failure(probe as Partial<VideoProbe>);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });
});
