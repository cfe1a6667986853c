import 'reflect-metadata';

import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadDemoClips } from '../../../../src/cli/bench/demo-clips.js';
import type { SyntheticSegment } from '../../../../src/cli/bench/synthetic-segments.js';
import {
  VARIANTS,
  applyVariant,
  insertSyntheticSegments,
} from '../../../../src/cli/bench/synthetic-segments.js';
import { loadConfig } from '../../../../src/core/config.js';
import type { VideoEncoding } from '../../../../src/core/encoder/types.js';
import { createMemoryLogger } from '../../../../src/core/logger.js';
import type { TaskContext } from '../../../../src/core/plugins/define-plugin.js';
import type { Platform } from '../../../../src/core/platform.js';
import { startPlatform } from '../../../../src/core/platform.js';
import { DEFAULT_TENANT_ID } from '../../../../src/core/tenancy.js';
import { BUILTIN_PLUGINS } from '../../../../src/plugins/builtins.js';
import type { RetrievalConfig } from '../../../../src/plugins/retrieval/index.js';
import { searchTask } from '../../../../src/plugins/retrieval/index.js';
import { tempDir } from '../../../helpers/fixtures.js';
import { systemView } from '../../../helpers/system-scope.js';

const K = 10;

/**
 * A corpus in the benchmark's recipe (docs/benchmarks.md) on the shipped model: real encodings of demo
 * clips in 16 variants each, every stored segment one of them plus seeded noise. `copies` per encoding.
 */
async function corpusPlatform(options: { clips: number; copies: number; noise: number; candidates: number }) {
  const temp = await tempDir('hbi-near-duplicates-');
  const config = loadConfig({
    HBI_DATA_DIR: path.join(temp.dir, 'data'),
    HBI_PORT: '0',
    HBI_PLUGIN_CONFIG: JSON.stringify({ retrieval: { candidates: options.candidates } }),
  });
  const platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
  const { kernel } = platform;
  const manifest = kernel.modelPackage.manifest;
  const clips = await loadDemoClips(config.demoLibrary, options.clips, {
    ffmpeg: kernel.ffmpeg,
    model: manifest,
    timeoutMs: config.decodeTimeoutMs,
  });
  const bases: VideoEncoding[] = [];
  for (const clip of clips) {
    for (const variant of VARIANTS)
      bases.push(await kernel.encoder.encodeVideo(applyVariant(clip.frames, manifest.dims, variant)));
  }
  const segments = await insertSyntheticSegments(kernel.db, kernel.vectors, bases, {
    count: bases.length * options.copies,
    noise: options.noise,
    seed: 7,
  });
  const retrieval = platform.registry
    .taskHandler(searchTask.kind)!
    .context(DEFAULT_TENANT_ID) as TaskContext<RetrievalConfig>;
  const texts = clips.map((clip) => clip.captions[0]!);
  return {
    platform,
    segments,
    retrieval,
    texts,
    stop: async () => {
      await platform.stop();
      await temp.cleanup();
    },
  };
}

/** The ids of the K best segments by HBI score over every segment: the ranking search must reproduce. */
async function exactTop(platform: Platform, text: string, segments: readonly SyntheticSegment[]) {
  const { encoder } = platform.kernel;
  const scores = await encoder.interaction([await encoder.encodeText(text)], segments);
  return new Set(
    [...scores.keys()]
      .sort((a, b) => scores[b]! - scores[a]!)
      .slice(0, K)
      .map((i) => segments[i]!.segmentId),
  );
}

async function searchTop(retrieval: TaskContext<RetrievalConfig>, text: string): Promise<string[]> {
  const [outcome] = await searchTask.handle([{ id: 'q', input: { text } }], retrieval);
  if (!outcome?.ok) throw outcome?.error ?? new Error('no outcome');
  return outcome.value.ranked.slice(0, K).map((hit) => hit.segmentId);
}

/** The search before groups: the plain top `candidates` by cosine, re-ranked. */
async function plainTop(retrieval: TaskContext<RetrievalConfig>, text: string): Promise<string[]> {
  const encoded = await retrieval.encoder.encodeText(text);
  const candidates = await retrieval.segments.nearest({
    embedding: encoded.embedding,
    k: retrieval.config.candidates,
    efSearch: retrieval.config.efSearch,
  });
  const scores = await retrieval.encoder.interaction([encoded], candidates);
  return [...scores.keys()]
    .sort((a, b) => scores[b]! - scores[a]!)
    .slice(0, K)
    .map((i) => candidates[i]!.segmentId);
}

const recall = (found: readonly string[], truth: Set<string>) =>
  found.filter((id) => truth.has(id)).length / K;
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('search candidates that survive near-duplicates (recall@10 against an exact HBI scan)', () => {
  describe('a duplicate-heavy corpus: 24 noisy copies of each of 96 encodings (2304 segments)', () => {
    let corpus: Awaited<ReturnType<typeof corpusPlatform>>;
    beforeAll(async () => {
      corpus = await corpusPlatform({ clips: 6, copies: 24, noise: 0.05, candidates: 30 });
    }, 240_000);
    afterAll(async () => corpus?.stop());

    it('groups the copies at ingest: far fewer representatives than segments', async () => {
      const { rows } = await systemView(corpus.platform.kernel.db).query<{ groups: number; all: number }>(
        `SELECT count(*) FILTER (WHERE "duplicate_of" IS NULL)::int AS "groups", count(*)::int AS "all" FROM "segment_embeddings"`,
      );
      expect(rows[0]!.all).toBe(2304);
      expect(rows[0]!.groups).toBeLessThanOrEqual(96);
    });

    it('finds at least 95 % of the exact top 10, where the plain top-K by cosine finds less', async () => {
      const [grouped, plain]: [number[], number[]] = [[], []];
      for (const text of corpus.texts) {
        const truth = await exactTop(corpus.platform, text, corpus.segments);
        grouped.push(recall(await searchTop(corpus.retrieval, text), truth));
        plain.push(recall(await plainTop(corpus.retrieval, text), truth));
      }
      console.log('duplicate-heavy recall', { grouped, plain });
      expect(mean(grouped)).toBeGreaterThanOrEqual(0.95);
      expect(mean(plain)).toBeLessThan(mean(grouped));
    }, 120_000);

    it('expands expandGroups groups first, whatever the bound says: every group re-ranks every segment', async () => {
      const everything = {
        ...corpus.retrieval,
        config: { ...corpus.retrieval.config, candidates: 1000, expandGroups: 1000, maxRerank: 20_000 },
      };
      const text = corpus.texts[0]!;
      const [outcome] = await searchTask.handle([{ id: 'q', input: { text } }], everything);
      if (!outcome?.ok) throw outcome?.error ?? new Error('no outcome');
      expect(outcome.value.reranked).toBe(corpus.segments.length);
      const truth = await exactTop(corpus.platform, text, corpus.segments);
      expect(
        recall(
          outcome.value.ranked.slice(0, K).map((hit) => hit.segmentId),
          truth,
        ),
      ).toBe(1);
      const [plain] = await searchTask.handle([{ id: 'q', input: { text } }], corpus.retrieval);
      expect(plain?.ok && plain.value.reranked).toBeLessThan(corpus.segments.length);
    }, 120_000);
  });

  describe('a corpus with few duplicates: each of 192 encodings once, with noise (192 segments)', () => {
    let corpus: Awaited<ReturnType<typeof corpusPlatform>>;
    beforeAll(async () => {
      corpus = await corpusPlatform({ clips: 12, copies: 1, noise: 0.05, candidates: 30 });
    }, 240_000);
    afterAll(async () => corpus?.stop());

    it('finds at least 95 % of the exact top 10', async () => {
      const found: number[] = [];
      for (const text of corpus.texts) {
        const truth = await exactTop(corpus.platform, text, corpus.segments);
        found.push(recall(await searchTop(corpus.retrieval, text), truth));
      }
      console.log('few-duplicates recall', found);
      expect(mean(found)).toBeGreaterThanOrEqual(0.95);
    }, 120_000);
  });
});
