import 'reflect-metadata';

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/core/config.js';
import { ingestDemoLibrary } from '../../src/core/ingest/demo-library.js';
import { VideoIngestor } from '../../src/core/ingest/video-ingestor.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { Platform } from '../../src/core/platform.js';
import { startPlatform } from '../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtins.js';
import { tempDir } from '../helpers/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = path.join(ROOT, 'models/hbi-synth-tiny');
const LIBRARY = path.join(ROOT, 'examples/demo-library/library.json');
/** Python greedy captions of the first demo clips (tests/fixtures/demo-reference/make-reference.py). */
const REFERENCE = path.join(ROOT, 'tests/fixtures/demo-reference/greedy-captions.json');
const REGENERATE = 'model/.venv/bin/python tests/fixtures/demo-reference/make-reference.py';

type Json = Record<string, any>;
interface Reference {
  model: string;
  files: Record<string, string>;
  clips: { id: string; text: string; ids: string }[];
}
interface LibraryClip {
  id: string;
  qa: { question: string; answer: string; type: string }[];
}

describe('ask and caption the demo library over HTTP with the shipped model', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let reference: Reference;
  let clips: LibraryClip[];
  /** Demo clip id → its video and (only) segment. */
  const indexed = new Map<string, { videoId: string; segmentId: string }>();

  beforeAll(async () => {
    reference = JSON.parse(await readFile(REFERENCE, 'utf8')) as Reference;
    const library = JSON.parse(await readFile(LIBRARY, 'utf8')) as { clips: LibraryClip[] };
    clips = library.clips.slice(0, reference.clips.length);
    temp = await tempDir('hbi-e2e-ask-');
    const config = loadConfig({
      HBI_MODEL_DIR: MODEL,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
    });
    const logger = createMemoryLogger();
    platform = await startPlatform(config, logger, { builtins: BUILTIN_PLUGINS });
    const { kernel } = platform;
    const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
    const summary = await ingestDemoLibrary(ingestor, LIBRARY, logger, { limit: clips.length });
    expect(summary).toMatchObject({ indexed: clips.length, failed: 0 });
    // Every indexed segment comes back from a search wide enough; its hit names the clip.
    const hits = await graphql(`{ search(text: "a shape", first: ${clips.length}) {
      edges { node { videoTitle videoId segmentId } } } }`);
    for (const edge of hits.search.edges as Json[]) indexed.set(edge.node.videoTitle, edge.node);
    expect(indexed.size).toBe(clips.length);
  });
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  async function graphql(query: string, variables: Json = {}): Promise<Json> {
    const response = await fetch(platform.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.adminKey}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Json;
    expect(body.errors).toBeUndefined();
    return body.data as Json;
  }

  it('uses a reference made from this very model package', async () => {
    for (const [file, sha256] of Object.entries(reference.files)) {
      const actual = createHash('sha256')
        .update(await readFile(path.join(MODEL, file)))
        .digest('hex');
      expect(actual, `${file} changed since the reference was made: run ${REGENERATE}`).toBe(sha256);
    }
    const { model } = await graphql('{ model { id } }');
    expect(model.id).toBe(reference.model);
  });

  it('captions each clip greedily exactly as the Python reference decoder does', async () => {
    const CAPTION = `query ($segmentId: ID, $videoId: ID) { caption(segmentId: $segmentId, videoId: $videoId) {
      text decoding cached modelVersion segments { segmentId text } } }`;
    for (const expected of reference.clips) {
      const { segmentId, videoId } = indexed.get(expected.id)!;
      const { caption } = await graphql(CAPTION, { segmentId });
      expect(caption.text, expected.id).toBe(expected.text);
      expect(caption).toMatchObject({ decoding: 'GREEDY', modelVersion: reference.model });
      // A demo clip is one segment, so the whole video's caption is the same text.
      const video = (await graphql(CAPTION, { videoId })).caption;
      expect(video.segments).toEqual([{ segmentId, text: expected.text }]);
      expect(video.text).toBe(expected.text);
      expect((await graphql(CAPTION, { segmentId })).caption.cached).toBe(true);
    }
  });

  it('captions with beam search into words of the model’s vocabulary', async () => {
    const first = indexed.get(reference.clips[0]!.id)!;
    const { caption } = await graphql(
      `
        query ($segmentId: ID) {
          caption(segmentId: $segmentId, decoding: BEAM, beamSize: 3) {
            text
            score
            decoding
            beamSize
          }
        }
      `,
      { segmentId: first.segmentId },
    );
    expect(caption).toMatchObject({ decoding: 'BEAM', beamSize: 3 });
    expect(caption.text).toMatch(/^[a-z]+( [a-z]+)*$/);
    expect(caption.score).toBeLessThan(0);
  });

  it('answers the demo questions well above chance, each with an answer of the question’s kind', async () => {
    const ANSWER = `query ($question: String!, $videoId: ID) { answer(question: $question, videoId: $videoId) {
      answer confidence alternatives { answer confidence } scope warnings { code } } }`;
    // The answers each question type takes anywhere in the library: a colour question's, a count's, …
    const library = JSON.parse(await readFile(LIBRARY, 'utf8')) as { clips: LibraryClip[] };
    const kinds = new Map<string, Set<string>>();
    for (const clip of library.clips)
      for (const qa of clip.qa) kinds.set(qa.type, (kinds.get(qa.type) ?? new Set()).add(qa.answer));
    let asked = 0;
    let correct = 0;
    let ofItsKind = 0;
    let chance = 0;
    for (const clip of clips) {
      for (const qa of clip.qa) {
        const { answer } = await graphql(ANSWER, {
          question: qa.question,
          videoId: indexed.get(clip.id)!.videoId,
        });
        expect(answer.scope).toBe('VIDEO');
        expect(answer.confidence).toBeGreaterThan(0);
        expect(answer.confidence).toBeLessThanOrEqual(1);
        expect(answer.alternatives).toHaveLength(3);
        expect(answer.alternatives[0].confidence).toBeLessThanOrEqual(answer.confidence);
        asked++;
        if (answer.answer === qa.answer) correct++;
        if (kinds.get(qa.type)!.has(answer.answer)) ofItsKind++;
        chance += 1 / kinds.get(qa.type)!.size;
      }
    }
    expect(asked).toBeGreaterThanOrEqual(20);
    // The package reaches ≈54% over 6.8k test questions; guessing within the right kind of answer
    // would reach `chance`, guessing over the whole answer list under 4%.
    expect(correct / asked).toBeGreaterThan(Math.max(0.3, chance / asked));
    expect(ofItsKind / asked).toBeGreaterThanOrEqual(0.9);
  });
});
