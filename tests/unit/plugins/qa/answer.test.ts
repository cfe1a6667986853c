import 'reflect-metadata';

import { createHash } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Platform } from '../../../../src/core/platform.js';
import { rank } from '../../../../src/plugins/qa/answer.js';
import { meanDistribution, softmax } from '../../../../src/plugins/qa/qa-head.js';
import { startClipPlatform } from '../../../helpers/segments.js';
import type { ClipPlatform } from '../../../helpers/segments.js';
import { answerTask } from '../../../../src/plugins/qa/index.js';
import { tasksOf } from '../../../helpers/tasks.js';
import { systemView } from '../../../helpers/system-scope.js';

type Json = Record<string, any>;

/** Booting PGlite and indexing the clips takes long on a busy shared machine. */
const BOOT_TIMEOUT_MS = 240_000;

describe('qa helpers', () => {
  it('softmax is a stable probability distribution', () => {
    const p = softmax([1000, 1001, 999]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[1]).toBeGreaterThan(p[0]!);
  });

  it('ranks answers by probability, ties in answer-list order', () => {
    expect(rank([0.2, 0.5, 0.2, 0.1], ['a', 'b', 'c', 'd'])).toEqual([
      { answer: 'b', confidence: 0.5 },
      { answer: 'a', confidence: 0.2 },
      { answer: 'c', confidence: 0.2 },
      { answer: 'd', confidence: 0.1 },
    ]);
  });

  it('a video’s distribution is the mean of its segments’', () => {
    expect(
      meanDistribution([
        [1, 0],
        [0.5, 0.5],
      ]),
    ).toEqual([0.75, 0.25]);
  });
});

describe('qa plugin: answer over HTTP on the fixture model', () => {
  let platform: Platform;
  let longVideo: { videoId: string; segmentIds: string[] };
  let redVideo: { videoId: string; segmentIds: string[] };
  let clips: ClipPlatform;

  beforeAll(async () => {
    clips = await startClipPlatform('hbi-qa-', 'red');
    ({ platform, longVideo, colourVideo: redVideo } = clips);
  }, BOOT_TIMEOUT_MS);
  afterAll(() => clips?.stop());

  const graphql = (query: string, variables: Json = {}): Promise<Json> => clips.graphql(query, variables);
  const ANSWER = `query ($question: String!, $segmentId: ID, $videoId: ID, $alternatives: Int) {
    answer(question: $question, segmentId: $segmentId, videoId: $videoId, alternatives: $alternatives) {
      question answer confidence alternatives { answer confidence } scope videoId segmentId
      segments { segmentId index startMs endMs answer confidence } warnings { code words } cached modelVersion
    }
  }`;
  const ask = async (variables: Json) => {
    const body = await graphql(ANSWER, variables);
    expect(body.errors).toBeUndefined();
    return body.data.answer as Json;
  };
  /** The whole distribution (the fixture has 3 answers), as answer → probability. */
  const distribution = (answer: Json) =>
    Object.fromEntries(
      [{ answer: answer.answer, confidence: answer.confidence }, ...answer.alternatives].map(
        (entry: Json) => [entry.answer, entry.confidence],
      ),
    );

  it('answers about one segment with a softmax confidence and ranked alternatives', async () => {
    const answer = await ask({
      question: 'is ball red?',
      segmentId: redVideo.segmentIds[0],
      alternatives: 2,
    });
    expect(answer).toMatchObject({
      question: 'is ball red?',
      scope: 'SEGMENT',
      videoId: redVideo.videoId,
      segmentId: redVideo.segmentIds[0],
      modelVersion: 'hbi-fixture-tiny@0.0.1',
      warnings: [{ code: 'UNKNOWN_WORDS', words: ['is', '?'] }],
    });
    expect(['yes', 'no', 'red']).toContain(answer.answer);
    const probabilities = [answer.confidence, ...answer.alternatives.map((a: Json) => a.confidence)];
    expect(probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 6);
    expect([...probabilities].sort((a, b) => b - a)).toEqual(probabilities);
    expect(answer.segments).toEqual([
      expect.objectContaining({ segmentId: redVideo.segmentIds[0], index: 0, answer: answer.answer }),
    ]);
  });

  it('answers about a whole video from the mean of its segments’ distributions', async () => {
    expect(longVideo.segmentIds).toHaveLength(3);
    const question = 'the red ball';
    const video = await ask({ question, videoId: longVideo.videoId, alternatives: 2 });
    expect(video).toMatchObject({
      scope: 'VIDEO',
      videoId: longVideo.videoId,
      segmentId: null,
      warnings: [],
    });
    const perSegment = [];
    for (const segmentId of longVideo.segmentIds)
      perSegment.push(await ask({ question, segmentId, alternatives: 2 }));
    expect(video.segments.map((s: Json) => [s.segmentId, s.answer])).toEqual(
      perSegment.map((s) => [s.segmentId, s.answer]),
    );
    const expected = distribution(video);
    for (const answer of Object.keys(expected)) {
      const mean = perSegment.reduce((total, s) => total + distribution(s)[answer], 0) / perSegment.length;
      expect(expected[answer]).toBeCloseTo(mean, 6);
    }
  });

  it('caches per normalised question: case, spacing and punctuation spacing do not matter', async () => {
    const segmentId = redVideo.segmentIds[0]!;
    const entries = async () =>
      (
        await systemView(platform.kernel.db).query<{ key: string }>(
          `SELECT "key" FROM "plugin_cache" WHERE "plugin" = 'qa' AND "key" LIKE $1`,
          [`segment:${segmentId}|q:%`],
        )
      ).rows.map((row) => row.key);
    const before = await entries();
    const first = await ask({ question: 'a blue cat', segmentId });
    expect(first.cached).toBe(false);
    const again = await ask({ question: '  A  Blue CAT ', segmentId });
    expect(again).toEqual({ ...first, question: 'A  Blue CAT', cached: true });
    // One new entry for both spellings, under the normalised question's hash.
    const normalised = createHash('sha256').update('a blue cat').digest('hex');
    expect((await entries()).filter((key) => !before.includes(key))).toEqual([
      `segment:${segmentId}|q:${normalised}`,
    ]);
  });

  it('returns the asked number of alternatives (at most the answer list less one)', async () => {
    const none = await ask({ question: 'red dog', segmentId: redVideo.segmentIds[0], alternatives: 0 });
    expect(none.alternatives).toEqual([]);
    const all = await ask({ question: 'red dog', segmentId: redVideo.segmentIds[0], alternatives: 10 });
    expect(all.alternatives).toHaveLength(2);
    expect(all.cached).toBe(true);
  });

  it('answers coded errors: exactly one of segmentId/videoId, unknown ids, empty questions, still indexing', async () => {
    const code = async (variables: Json) => (await graphql(ANSWER, variables)).errors?.[0]?.extensions?.code;
    expect(await code({ question: 'red?' })).toBe('BAD_USER_INPUT');
    expect(
      await code({ question: 'red?', segmentId: redVideo.segmentIds[0], videoId: redVideo.videoId }),
    ).toBe('BAD_USER_INPUT');
    expect(await code({ question: 'red?', segmentId: '00000000-0000-4000-8000-00000000dead' })).toBe(
      'NOT_FOUND',
    );
    expect(await code({ question: 'red?', videoId: 'not-an-id' })).toBe('NOT_FOUND');
    expect(await code({ question: '   ', videoId: redVideo.videoId })).toBe('BAD_USER_INPUT');
    expect(await code({ question: 'red?', videoId: redVideo.videoId, alternatives: -1 })).toBe(
      'BAD_USER_INPUT',
    );
    const setStatus = (status: string) =>
      systemView(platform.kernel.db).query(`UPDATE "videos" SET "status" = $2 WHERE "id" = $1`, [
        redVideo.videoId,
        status,
      ]);
    await setStatus('INDEXING');
    expect(await code({ question: 'red?', videoId: redVideo.videoId })).toBe('UNAVAILABLE');
    await setStatus('INDEXED');
  });

  it('answers several fields of one request together', async () => {
    const body = await graphql(
      `query ($a: ID) {
        one: answer(question: "red ball", segmentId: $a) { answer }
        two: answer(question: "blue cat", segmentId: $a) { answer }
        video: answer(question: "red ball", videoId: "${longVideo.videoId}") { scope }
      }`,
      { a: redVideo.segmentIds[0] },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      one: { answer: expect.any(String) },
      two: { answer: expect.any(String) },
      video: { scope: 'VIDEO' },
    });
  });

  it('as the qa.answer task, fails a bad item alone among items batched together', async () => {
    const results = await Promise.allSettled([
      tasksOf(platform).run(answerTask, { question: 'red ball', segmentId: redVideo.segmentIds[0] }),
      tasksOf(platform).run(answerTask, {
        question: 'red ball',
        segmentId: '00000000-0000-4000-8000-00000000beef',
      }),
      tasksOf(platform).run(answerTask, { question: 'red ball', videoId: redVideo.videoId }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'NOT_FOUND' });
    expect((results[2] as PromiseFulfilledResult<Json>).value).toMatchObject({
      scope: 'VIDEO',
      segmentId: null,
    });
    expect(platform.tasks.kinds).toContain('qa.answer');
  });
});
