import 'reflect-metadata';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bytesToFloat32 } from '../../../../src/core/segments/vector-store.js';
import type { Platform } from '../../../../src/core/platform.js';
import { decodingKey } from '../../../../src/plugins/captioning/caption.js';
import { startClipPlatform } from '../../../helpers/segments.js';
import type { ClipPlatform } from '../../../helpers/segments.js';
import { captionTask } from '../../../../src/plugins/captioning/index.js';
import { tasksOf } from '../../../helpers/tasks.js';
import { systemView } from '../../../helpers/system-scope.js';

type Json = Record<string, any>;

/** Booting PGlite and indexing the clips takes long on a busy shared machine. */
const BOOT_TIMEOUT_MS = 240_000;

/** The fixture package's vocabulary (tests/fixtures/onnx/make-fixtures.py). */
const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[BOS]',
  '[EOS]',
  'a',
  'red',
  'ball',
  'dog',
  'runs',
  'on',
  'the',
  'grass',
  'blue',
  'cat',
];

/**
 * Greedy decoding written out against the fixture `caption` graph's formula, independently of the
 * plugin: logits[j] = (EMBED[last token] + Σ_t frame_tokens[t]·mask[t]) · EMBED[j], with
 * EMBED[i] = [i, 1, i mod 3, −1] / 10; at most L − 1 = 5 tokens.
 */
function fixtureGreedyCaption(frameTokens: Float32Array, frameMask: Float32Array): string {
  const embed = (i: number) => [i / 10, 0.1, (i % 3) / 10, -0.1];
  const frameSum = [0, 0, 0, 0];
  frameMask.forEach((m, t) => frameSum.forEach((_, d) => (frameSum[d]! += frameTokens[t * 4 + d]! * m)));
  const words: string[] = [];
  let last = 2;
  for (let step = 0; step < 5; step++) {
    const h = embed(last).map((value, d) => value + frameSum[d]!);
    const logits = VOCAB.map((_, j) => embed(j).reduce((total, e, d) => total + e * h[d]!, 0));
    const next = logits.indexOf(Math.max(...logits));
    if (next === 3) break;
    words.push(VOCAB[next]!);
    last = next;
  }
  return words.filter((word) => !word.startsWith('[')).join(' ');
}

describe('captioning plugin: caption over HTTP on the fixture model', () => {
  let platform: Platform;
  let longVideo: { videoId: string; segmentIds: string[] };
  let blueVideo: { videoId: string; segmentIds: string[] };
  let clips: ClipPlatform;

  beforeAll(async () => {
    clips = await startClipPlatform('hbi-caption-', 'blue');
    ({ platform, longVideo, colourVideo: blueVideo } = clips);
  }, BOOT_TIMEOUT_MS);
  afterAll(() => clips?.stop());

  const graphql = (query: string, variables: Json = {}): Promise<Json> => clips.graphql(query, variables);
  const CAPTION = `query ($segmentId: ID, $videoId: ID, $decoding: Decoding, $beamSize: Int) {
    caption(segmentId: $segmentId, videoId: $videoId, decoding: $decoding, beamSize: $beamSize) {
      text score decoding beamSize cached modelVersion videoId segmentId
      segments { segmentId index startMs endMs text score }
    }
  }`;
  const caption = async (variables: Json) => {
    const body = await graphql(CAPTION, variables);
    expect(body.errors).toBeUndefined();
    return body.data.caption as Json;
  };
  const storedFrames = async (segmentId: string) => {
    const { rows } = await systemView(platform.kernel.db).query<{
      frame_tokens: Uint8Array;
      frame_mask: Uint8Array;
    }>(`SELECT "frame_tokens", "frame_mask" FROM "segment_embeddings" WHERE "segment_id" = $1`, [segmentId]);
    return { tokens: bytesToFloat32(rows[0]!.frame_tokens), mask: bytesToFloat32(rows[0]!.frame_mask) };
  };

  it('captions a segment greedily, exactly as the caption graph’s own arithmetic says, then from cache', async () => {
    const segmentId = blueVideo.segmentIds[0]!;
    const frames = await storedFrames(segmentId);
    const first = await caption({ segmentId });
    expect(first).toMatchObject({
      text: fixtureGreedyCaption(frames.tokens, frames.mask),
      decoding: 'GREEDY',
      beamSize: null,
      cached: false,
      modelVersion: 'hbi-fixture-tiny@0.0.1',
      videoId: blueVideo.videoId,
      segmentId,
      segments: [expect.objectContaining({ segmentId, index: 0, text: first.text })],
    });
    expect(first.text.length).toBeGreaterThan(0);
    expect(first.score).toBeLessThanOrEqual(0);
    expect(await caption({ segmentId })).toEqual({ ...first, cached: true });
  });

  it('captions with beam search, cached under its own decoding key', async () => {
    const segmentId = blueVideo.segmentIds[0]!;
    const beam = await caption({ segmentId, decoding: 'BEAM', beamSize: 2 });
    expect(beam).toMatchObject({ decoding: 'BEAM', beamSize: 2, cached: false, text: expect.any(String) });
    expect((await caption({ segmentId, decoding: 'BEAM', beamSize: 2 })).cached).toBe(true);
    expect((await caption({ segmentId, decoding: 'BEAM', beamSize: 3 })).cached).toBe(false);
    const { rows } = await systemView(platform.kernel.db).query<{ key: string }>(
      `SELECT "key" FROM "plugin_cache" WHERE "plugin" = 'captioning' AND "key" LIKE $1 ORDER BY "key"`,
      [`segment:${segmentId}|%`],
    );
    expect(rows.map((row) => row.key.split('|')[1])).toEqual(['beam:2', 'beam:3', 'greedy']);
  });

  it('captions a whole video segment by segment, its text their captions without repeats', async () => {
    expect(longVideo.segmentIds).toHaveLength(3);
    const video = await caption({ videoId: longVideo.videoId });
    expect(video).toMatchObject({ videoId: longVideo.videoId, segmentId: null, cached: false });
    expect(video.segments.map((s: Json) => s.segmentId)).toEqual(longVideo.segmentIds);
    for (const segment of video.segments) {
      const frames = await storedFrames(segment.segmentId);
      expect(segment.text).toBe(fixtureGreedyCaption(frames.tokens, frames.mask));
    }
    const texts: string[] = video.segments.map((s: Json) => s.text);
    expect(video.text).toBe(texts.filter((text, i) => text !== texts[i - 1]).join('; '));
    const again = await caption({ videoId: longVideo.videoId });
    expect(again).toEqual({ ...video, cached: true });
    expect((await caption({ segmentId: longVideo.segmentIds[1] })).cached).toBe(true);
  });

  it('answers coded errors for bad arguments and unknown ids', async () => {
    const code = async (variables: Json) => (await graphql(CAPTION, variables)).errors?.[0]?.extensions?.code;
    expect(await code({})).toBe('BAD_USER_INPUT');
    expect(await code({ segmentId: blueVideo.segmentIds[0], videoId: blueVideo.videoId })).toBe(
      'BAD_USER_INPUT',
    );
    expect(await code({ segmentId: blueVideo.segmentIds[0], decoding: 'BEAM', beamSize: 9 })).toBe(
      'BAD_USER_INPUT',
    );
    expect(await code({ segmentId: blueVideo.segmentIds[0], decoding: 'BEAM', beamSize: 0 })).toBe(
      'BAD_USER_INPUT',
    );
    expect(await code({ videoId: '00000000-0000-4000-8000-00000000dead' })).toBe('NOT_FOUND');
    expect(await code({ segmentId: 'nope' })).toBe('NOT_FOUND');
  });

  it('as the captioning.caption task, takes maxTokens (not cached) up to the model’s limit', async () => {
    const segmentId = blueVideo.segmentIds[0]!;
    const short = await tasksOf(platform).run(captionTask, { segmentId, maxTokens: 2 });
    expect(short.text.split(' ').length).toBeLessThanOrEqual(2);
    expect(short.cached).toBe(false);
    await expect(tasksOf(platform).run(captionTask, { segmentId, maxTokens: 6 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
  });

  it('names its cache keys greedy and beam:<width>, with the length penalty when not 1', () => {
    expect(decodingKey({ decoding: 'GREEDY', beamSize: 3 }, 1)).toBe('greedy');
    expect(decodingKey({ decoding: 'BEAM', beamSize: 4 }, 1)).toBe('beam:4');
    expect(decodingKey({ decoding: 'BEAM', beamSize: 4 }, 0.5)).toBe('beam:4:lp0.5');
  });
});
