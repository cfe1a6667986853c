/**
 * Video question answering. A question about one segment runs the `qa` head over that segment's
 * stored frame tokens. A question about a whole video runs it over every segment and answers from the
 * mean of the per-segment probability distributions (each segment weighs the same; a video's answer
 * is the answer most probable on average, and its confidence is that mean probability), and reports
 * each segment's own answer beside it. Distributions are cached per (model version, scope, normalised
 * question): the normalised question is the token sequence the model reads, so questions that differ
 * only in case, spacing or punctuation spacing share one entry.
 */
import { createHash } from 'node:crypto';

import type { SegmentFrames, SegmentScope, TaskContext } from 'hbi-platform';
import { HbiError, checkText, mapConcurrent } from 'hbi-platform';
import { z } from 'zod';

import type { QaConfig } from './config.js';
import { answerProbabilities, meanDistribution } from './qa-head.js';

/** One answer with its probability. */
export interface RankedAnswer {
  answer: string;
  confidence: number;
}

/**
 * A cached distribution: the whole ranked answer list ([{answer, confidence}], best first), so any
 * number of alternatives is served from one entry. Keyed `<scope>|q:<sha256 of the normalised question>`.
 */
const rankedSchema = z.array(z.object({ answer: z.string(), confidence: z.number() })).min(1);

/** The cache key of a scope's answer to one (normalised, hashed) question. */
function cacheKey(scope: SegmentScope, questionSha256: string): string {
  const where = scope.kind === 'segment' ? `segment:${scope.segmentId}` : `video:${scope.videoId}`;
  return `${where}|q:${questionSha256}`;
}

/** What the question was asked about. */
export type AnswerScope = 'SEGMENT' | 'VIDEO';

/** One segment's own answer (a whole-video answer lists one per segment, in video order). */
export interface SegmentAnswerResult {
  segmentId: string;
  index: number;
  startMs: number;
  endMs: number;
  answer: string;
  confidence: number;
}

/** The `qa.answer` task's output (plain JSON). */
export interface AnswerResult {
  /** The question as asked (trimmed). */
  question: string;
  answer: string;
  /** Probability of `answer` (softmax; for a video, the mean over its segments). */
  confidence: number;
  /** The next most probable answers, best first. */
  alternatives: RankedAnswer[];
  scope: AnswerScope;
  videoId: string;
  /** Set when the scope is one segment. */
  segmentId: string | null;
  /** The segments the answer was computed from, with their own answers. */
  segments: SegmentAnswerResult[];
  /** Question words outside the model's vocabulary (read as unknown). */
  unknownWords: string[];
  /** True when the question was longer than the model reads. */
  truncated: boolean;
  /** True when every distribution came from the cache. */
  cached: boolean;
  /** `name@version` of the model that answered. */
  modelVersion: string;
}

export interface AnswerRequest {
  question: string;
  scope: SegmentScope;
  /** How many alternatives to return besides the answer. */
  alternatives: number;
}

/** Answers one question; BAD_USER_INPUT / LIMIT_EXCEEDED / NOT_FOUND say what is wrong with it. */
export async function answerQuestion(
  context: TaskContext<QaConfig>,
  request: AnswerRequest,
): Promise<AnswerResult> {
  const { config, encoder, segments: store, cache, modelVersion, model } = context;
  const question = checkText(request.question, config.maxQuestionLength, 'The question');
  const reading = encoder.tokenizer.encode(question);
  const normalised = reading.tokens.slice(1, -1).join(' ');
  const segments = await store.frames(request.scope);
  if (segments.length > config.maxVideoSegments) {
    throw new HbiError(
      'LIMIT_EXCEEDED',
      `The video has ${segments.length} segments; questions span at most ${config.maxVideoSegments}`,
      { details: { segments: segments.length, limit: config.maxVideoSegments } },
    );
  }
  const questionSha256 = createHash('sha256').update(normalised).digest('hex');
  const ownKey = cacheKey(request.scope, questionSha256);
  const segmentKeys = segments.map((segment) =>
    cacheKey({ kind: 'segment', segmentId: segment.segmentId }, questionSha256),
  );
  const keys = request.scope.kind === 'video' ? [ownKey, ...segmentKeys] : [ownKey];
  const stored = await cache.read(keys, rankedSchema);
  const answers = model.answers;
  const fromCache = (key: string) => toDistribution(stored.get(key), answers);

  const distributions = segments.map((_, i) => fromCache(segmentKeys[i]!));
  const missing = segments.flatMap((segment, i) => (distributions[i] ? [] : [{ segment, i }]));
  const videoId = segments[0]!.videoId;
  const writes: { key: string; value: RankedAnswer[]; videoId: string }[] = [];
  if (missing.length > 0) {
    const encoded = await encoder.encodeText(question);
    await mapConcurrent(missing, config.concurrency, async ({ segment, i }) => {
      distributions[i] = await answerProbabilities(encoder, encoded, segment);
      writes.push({ key: segmentKeys[i]!, value: rank(distributions[i], answers), videoId });
    });
  }
  const perSegment = distributions as number[][];
  let overall = request.scope.kind === 'video' ? fromCache(ownKey) : perSegment[0];
  if (!overall || missing.length > 0) {
    overall = meanDistribution(perSegment);
    if (request.scope.kind === 'video') writes.push({ key: ownKey, value: rank(overall, answers), videoId });
  }
  await cache.write(writes);

  const ranked = rank(overall, answers);
  const first = segments[0]!;
  return {
    question,
    answer: ranked[0]!.answer,
    confidence: ranked[0]!.confidence,
    alternatives: ranked.slice(1, 1 + request.alternatives),
    scope: request.scope.kind === 'video' ? 'VIDEO' : 'SEGMENT',
    videoId: first.videoId,
    segmentId: request.scope.kind === 'segment' ? first.segmentId : null,
    segments: segments.map((segment, i) => segmentAnswer(segment, rank(perSegment[i]!, answers)[0]!)),
    unknownWords: reading.unknownWords,
    truncated: reading.truncated,
    cached: writes.length === 0,
    modelVersion: modelVersion.modelId,
  };
}

/** The answer list ranked by probability, best first (ties keep the list's order). */
export function rank(distribution: readonly number[], answers: readonly string[]): RankedAnswer[] {
  return answers
    .map((answer, index) => ({ answer, confidence: distribution[index] ?? 0, index }))
    .sort((a, b) => b.confidence - a.confidence || a.index - b.index)
    .map(({ answer, confidence }) => ({ answer, confidence }));
}

/** A stored ranked list back to a distribution over `answers`; undefined when it does not cover them. */
function toDistribution(
  ranked: readonly RankedAnswer[] | undefined,
  answers: readonly string[],
): number[] | undefined {
  if (!ranked || ranked.length !== answers.length) return undefined;
  const byAnswer = new Map(ranked.map((entry) => [entry.answer, entry.confidence]));
  const distribution: number[] = [];
  for (const answer of answers) {
    const p = byAnswer.get(answer);
    if (p === undefined) return undefined;
    distribution.push(p);
  }
  return distribution;
}

function segmentAnswer(segment: SegmentFrames, best: RankedAnswer): SegmentAnswerResult {
  return {
    segmentId: segment.segmentId,
    index: segment.index,
    startMs: segment.startMs,
    endMs: segment.endMs,
    answer: best.answer,
    confidence: best.confidence,
  };
}
