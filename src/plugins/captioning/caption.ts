/**
 * Video captioning. A segment is captioned by decoding the `caption` head over its stored frame
 * tokens (greedy or beam search, decoding.ts) and detokenising with the package tokenizer. A whole
 * video is captioned segment by segment; its text is the segments' captions in order, a caption equal
 * to the one before it skipped (overlapping windows often see the same thing), joined with "; ".
 * Captions are cached per (model version, segment or video, decoding) when `maxTokens` is the default.
 */
import type { SegmentFrames, SegmentScope, TaskContext } from 'hbi-platform';
import { HbiError, mapConcurrent } from 'hbi-platform';
import { z } from 'zod';

import { captionStep } from './caption-head.js';
import type { CaptioningConfig } from './config.js';
import type { DecodedSequence } from './decoding.js';
import { beamDecode, greedyDecode } from './decoding.js';

export type Decoding = 'GREEDY' | 'BEAM';

/** A cached caption: its text and length-normalised log-probability (for a video, the mean over its segments). */
export interface StoredCaption {
  text: string;
  score: number | null;
}

const storedSchema = z.object({ text: z.string(), score: z.number().nullable() });

/** The cache key of a scope's caption under one decoding (`greedy`, `beam:<width>[:lp<exponent>]`). */
function cacheKey(scope: SegmentScope, decoding: string): string {
  const where = scope.kind === 'segment' ? `segment:${scope.segmentId}` : `video:${scope.videoId}`;
  return `${where}|${decoding}`;
}

export interface CaptionRequest {
  scope: SegmentScope;
  decoding: Decoding;
  /** Beam width (BEAM only). */
  beamSize: number;
  /** Most tokens per segment caption, [EOS] included; default (and maximum) the model's max words − 1. */
  maxTokens?: number | null;
}

/** One segment's caption (a whole video lists one per segment, in video order). */
export interface SegmentCaptionResult {
  segmentId: string;
  index: number;
  startMs: number;
  endMs: number;
  text: string;
  /** Length-normalised log-probability of the caption. */
  score: number | null;
}

/** The `captioning.caption` task's output (plain JSON). */
export interface CaptionResult {
  text: string;
  /** Length-normalised log-probability (for a video, the mean over its segments). */
  score: number | null;
  decoding: Decoding;
  /** The beam width used; null for greedy decoding. */
  beamSize: number | null;
  /** True when every caption came from the cache. */
  cached: boolean;
  /** `name@version` of the model that captioned. */
  modelVersion: string;
  videoId: string;
  /** Set when the scope is one segment. */
  segmentId: string | null;
  /** The segments captioned (one for a segment scope). */
  segments: SegmentCaptionResult[];
}

/** Captions one segment or video; LIMIT_EXCEEDED past the token or segment limits, NOT_FOUND for unknown ids. */
export async function captionScope(
  context: TaskContext<CaptioningConfig>,
  request: CaptionRequest,
): Promise<CaptionResult> {
  const { config, segments: store, cache, modelVersion, model, encoder } = context;
  const longest = model.dims.max_words - 1;
  const maxTokens = request.maxTokens ?? longest;
  if (maxTokens > longest) {
    throw new HbiError('LIMIT_EXCEEDED', `maxTokens is at most ${longest} for this model`, {
      details: { maxTokens, limit: longest },
    });
  }
  const segments = await store.frames(request.scope);
  if (segments.length > config.maxVideoSegments) {
    throw new HbiError(
      'LIMIT_EXCEEDED',
      `The video has ${segments.length} segments; captions span at most ${config.maxVideoSegments}`,
      { details: { segments: segments.length, limit: config.maxVideoSegments } },
    );
  }
  const decoding = decodingKey(request, config.lengthPenalty);
  const cacheable = maxTokens === longest;
  const ownKey = cacheKey(request.scope, decoding);
  const segmentKeys = segments.map((segment) =>
    cacheKey({ kind: 'segment', segmentId: segment.segmentId }, decoding),
  );
  const stored = cacheable
    ? await cache.read([ownKey, ...segmentKeys], storedSchema)
    : new Map<string, StoredCaption>();
  const videoId = segments[0]!.videoId;

  const captions: (StoredCaption | undefined)[] = segmentKeys.map((key) => stored.get(key));
  const writes: { key: string; value: StoredCaption; videoId: string }[] = [];
  const missing = segments.flatMap((segment, i) => (captions[i] ? [] : [{ segment, i }]));
  await mapConcurrent(missing, config.concurrency, async ({ segment, i }) => {
    const decoded = await decodeSegment(context, segment, request, maxTokens);
    captions[i] = { text: encoder.tokenizer.decode(decoded.ids), score: decoded.score };
    writes.push({ key: segmentKeys[i]!, value: captions[i], videoId });
  });
  const perSegment = captions as StoredCaption[];
  let overall = request.scope.kind === 'video' ? stored.get(ownKey) : perSegment[0];
  if (!overall || missing.length > 0) {
    overall = combine(perSegment);
    if (request.scope.kind === 'video') writes.push({ key: ownKey, value: overall, videoId });
  }
  if (cacheable) await cache.write(writes);

  const first = segments[0]!;
  return {
    text: overall.text,
    score: overall.score,
    decoding: request.decoding,
    beamSize: request.decoding === 'BEAM' ? request.beamSize : null,
    cached: cacheable && writes.length === 0,
    modelVersion: modelVersion.modelId,
    videoId: first.videoId,
    segmentId: request.scope.kind === 'segment' ? first.segmentId : null,
    segments: segments.map((segment, i) => ({
      segmentId: segment.segmentId,
      index: segment.index,
      startMs: segment.startMs,
      endMs: segment.endMs,
      text: perSegment[i]!.text,
      score: perSegment[i]!.score,
    })),
  };
}

/** How a request decodes, as its cache keys spell it. */
export function decodingKey(
  request: Pick<CaptionRequest, 'decoding' | 'beamSize'>,
  lengthPenalty: number,
): string {
  if (request.decoding === 'GREEDY') return 'greedy';
  return lengthPenalty === 1 ? `beam:${request.beamSize}` : `beam:${request.beamSize}:lp${lengthPenalty}`;
}

function decodeSegment(
  context: TaskContext<CaptioningConfig>,
  segment: SegmentFrames,
  request: CaptionRequest,
  maxTokens: number,
): Promise<DecodedSequence> {
  const { encoder, model, config } = context;
  const next = captionStep(encoder, segment);
  const options = { bos: model.tokenizer.bos_id, eos: model.tokenizer.eos_id, maxTokens };
  return request.decoding === 'GREEDY'
    ? greedyDecode(next, options)
    : beamDecode(next, { ...options, width: request.beamSize, lengthPenalty: config.lengthPenalty });
}

/** A video's caption from its segments' (see the module comment). */
function combine(captions: readonly StoredCaption[]): StoredCaption {
  const texts = captions
    .map((caption) => caption.text)
    .filter((text, i, all) => text.length > 0 && text !== all[i - 1]);
  const scores = captions.map((caption) => caption.score);
  const score = scores.every((value) => value !== null)
    ? scores.reduce((total, value) => total + value, 0) / scores.length
    : null;
  return { text: texts.join('; '), score };
}
