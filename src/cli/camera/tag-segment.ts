/**
 * Stamps a finished segment with its camera, number and capture time (MP4 metadata, stream copy: no
 * re-encode). Besides saying where the file came from, this makes every segment's bytes unique: the
 * platform stores the same bytes once, and a looping or still scene can repeat a segment exactly.
 */
import { HbiError } from '../../core/errors.js';
import { confinedInputArgs } from '../../core/video/input-guard.js';
import { failureReason, runProcess } from '../../core/video/run-process.js';
import type { SegmentFacts } from './spool.js';

/** Longest a stamping run may take before it counts as failed. */
const TAG_TIMEOUT_MS = 30_000;

/** Writes `input` with the stamp to `output` (which must not exist); VIDEO_UNREADABLE when ffmpeg fails. */
export async function tagSegment(
  ffmpeg: string,
  input: string,
  output: string,
  facts: SegmentFacts,
): Promise<void> {
  const result = await runProcess(
    ffmpeg,
    [
      // The recorder's own MP4: nothing but that local file, read as MP4, may be opened.
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...confinedInputArgs(['mov']), '-i', input,
      '-map', '0', '-c', 'copy',
      '-metadata', `creation_time=${facts.capturedAt}`,
      '-metadata', `comment=hbi-camera ${facts.cameraId} segment ${facts.index} captured ${facts.capturedAt}`,
      '-movflags', '+faststart', '-f', 'mp4', output,
    ], // prettier-ignore
    { timeoutMs: TAG_TIMEOUT_MS },
  );
  if (result.code !== 0) {
    throw new HbiError(
      'VIDEO_UNREADABLE',
      `Cannot stamp segment ${facts.index}: ${failureReason(result.stderr, input)}`,
    );
  }
}
