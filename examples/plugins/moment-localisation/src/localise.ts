/**
 * Moment localisation: where in a long video does a text happen? The text goes through the shared
 * encoder's `text` graph once; every indexed segment of the video is scored against it by the
 * `interaction` graph (the HBI similarity, from the frame tokens stored at ingest); the per-segment
 * curve is smoothed over neighbouring segments and the best span is grown around its peak.
 */
import type { SegmentFrames, TaskContext, TextEncoding } from 'hbi-platform';
import { checkText } from 'hbi-platform';

import type { MomentConfig } from './config.js';
import { bestSpan, defaultWindowMs, smoothScores } from './smoothing.js';

export interface LocaliseInput {
  videoId: string;
  text: string;
  /** Smoothing width in ms (0 = none); the plugin's default when absent. */
  windowMs?: number | null;
}

/** One segment on the curve, in video order. */
export interface CurvePoint {
  segmentId: string;
  index: number;
  startMs: number;
  endMs: number;
  /** The segment's own HBI score against the text. */
  score: number;
  /** The score after smoothing over neighbouring segments. */
  smoothed: number;
}

/** The `moment.localise` task's output (plain JSON). */
export interface MomentResult {
  videoId: string;
  text: string;
  /** The best span: from the first segment's start to the last segment's end. */
  startMs: number;
  endMs: number;
  /** The smoothed score at the span's peak. */
  score: number;
  peakSegmentId: string;
  /** The smoothing width used. */
  windowMs: number;
  curve: CurvePoint[];
  unknownWords: string[];
  truncated: boolean;
  /** `name@version` of the model that scored the segments. */
  modelVersion: string;
}

/** Localises `input.text` in its video; NOT_FOUND for an unknown or unindexed video, BAD_USER_INPUT for an empty text. */
export async function localiseMoment(
  context: TaskContext<MomentConfig>,
  input: LocaliseInput,
): Promise<MomentResult> {
  const { config, segments: store, encoder, modelVersion } = context;
  const text = checkText(input.text, config.maxTextLength, 'The text');
  const segments = await store.frames({ kind: 'video', videoId: input.videoId });
  const encoded = await encoder.encodeText(text);
  const scores: number[] = [];
  for (let start = 0; start < segments.length; start += config.chunkSize) {
    scores.push(...(await scoreSegments(context, encoded, segments.slice(start, start + config.chunkSize))));
  }
  const windowMs = input.windowMs ?? (config.smoothingWindowMs || defaultWindowMs(segments));
  const smoothed = smoothScores(segments, scores, windowMs);
  const span = bestSpan(smoothed, config.spanThreshold);
  return {
    videoId: input.videoId,
    text,
    startMs: segments[span.first]!.startMs,
    endMs: segments[span.last]!.endMs,
    score: smoothed[span.peak]!,
    peakSegmentId: segments[span.peak]!.segmentId,
    windowMs,
    curve: segments.map((segment, i) => ({
      segmentId: segment.segmentId,
      index: segment.index,
      startMs: segment.startMs,
      endMs: segment.endMs,
      score: scores[i]!,
      smoothed: smoothed[i]!,
    })),
    unknownWords: encoded.unknownWords,
    truncated: encoded.truncated,
    modelVersion: modelVersion.modelId,
  };
}

/** HBI scores of one text against segments, through the shared encoder's `interaction` graph. */
async function scoreSegments(
  context: TaskContext<MomentConfig>,
  text: TextEncoding,
  segments: readonly SegmentFrames[],
): Promise<number[]> {
  return Array.from(await context.encoder.interaction([text], segments));
}
