import 'reflect-metadata';

import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../../src/core/config.js';
import { VideoIngestor } from '../../../../src/core/ingest/video-ingestor.js';
import { createMemoryLogger } from '../../../../src/core/logger.js';
import type { Platform } from '../../../../src/core/platform.js';
import { startPlatform } from '../../../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../../../src/plugins/builtins.js';
import { TINY_PACKAGE, tempDir } from '../../../helpers/fixtures.js';
import { makeColorMp4, makeMp4 } from '../../../helpers/videos.js';
import { rankTextsTask } from '../../../../src/plugins/retrieval/index.js';
import { tasksOf } from '../../../helpers/tasks.js';
import { systemView } from '../../../helpers/system-scope.js';

type Json = Record<string, any>;

describe('retrieval plugin: search over HTTP on the fixture model', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  const videoIds: string[] = [];

  beforeAll(async () => {
    temp = await tempDir('hbi-search-');
    const config = loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_PLUGIN_CONFIG: JSON.stringify({ retrieval: { candidates: 10 } }),
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    const { kernel } = platform;
    const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
    const files = [await makeMp4(kernel.ffmpeg, temp.dir)];
    for (const color of ['red', 'blue', 'green'])
      files.push(await makeColorMp4(kernel.ffmpeg, temp.dir, color));
    for (const file of files)
      videoIds.push((await ingestor.ingestFile({ file, title: path.basename(file) })).videoId);
  });
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  const graphql = async (query: string, variables: Json = {}): Promise<{ status: number; body: Json }> => {
    const response = await fetch(platform.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.adminKey}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };
  const SEARCH = `query ($text: String!, $first: Int, $after: String, $filters: SearchFilters) {
    search(text: $text, first: $first, after: $after, filters: $filters) {
      totalCount model warnings { code words }
      pageInfo { hasNextPage endCursor }
      edges { cursor node { videoId rank score similarity startMs endMs videoTitle } }
    }
  }`;

  it('lists the retrieval plugin and its tasks', async () => {
    const { body } = await graphql('{ plugins { name tasks requiredGraphs } }');
    expect(body.data.plugins[0]).toEqual({
      name: 'retrieval',
      tasks: ['retrieval.search', 'retrieval.rankTexts'],
      requiredGraphs: ['text', 'interaction'],
    });
  });

  it('ranks every indexed segment by HBI score, best first, tagged with the model', async () => {
    const { body } = await graphql(SEARCH, { text: 'a red ball', first: 10 });
    const search = body.data.search;
    expect(search).toMatchObject({ totalCount: 4, model: 'hbi-fixture-tiny@0.0.1', warnings: [] });
    const scores = search.edges.map((edge: Json) => edge.node.score as number);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(new Set(search.edges.map((edge: Json) => edge.node.videoId))).toEqual(new Set(videoIds));
    expect(search.edges.map((edge: Json) => edge.node.rank)).toEqual([1, 2, 3, 4]);
  });

  it('pages with Relay cursors, the pages together giving the full ranking', async () => {
    const all = (await graphql(SEARCH, { text: 'the dog runs', first: 10 })).body.data.search.edges;
    const first = (await graphql(SEARCH, { text: 'the dog runs', first: 3 })).body.data.search;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (
      await graphql(SEARCH, { text: 'the dog runs', first: 3, after: first.pageInfo.endCursor })
    ).body.data.search;
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...second.edges]).toEqual(all);
  });

  it('reports words outside the vocabulary as a warning, not an error', async () => {
    const { body } = await graphql(SEARCH, { text: 'a purple zebra runs', first: 1 });
    expect(body.errors).toBeUndefined();
    expect(body.data.search.warnings).toEqual([{ code: 'UNKNOWN_WORDS', words: ['purple', 'zebra'] }]);
  });

  it('filters by video', async () => {
    const { body } = await graphql(SEARCH, { text: 'blue cat', filters: { videoIds: [videoIds[2]] } });
    expect(body.data.search.edges.map((edge: Json) => edge.node.videoId)).toEqual([videoIds[2]]);
  });

  it('answers bad input with coded errors and keeps serving', async () => {
    const empty = await graphql(SEARCH, { text: '   ' });
    expect(empty.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const tooMany = await graphql(SEARCH, { text: 'a dog', first: 1000 });
    expect(tooMany.body.errors[0].extensions.code).toBe('LIMIT_EXCEEDED');
    const cursor = await graphql(SEARCH, { text: 'a dog', after: 'not-a-cursor' });
    expect(cursor.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const badId = await graphql(SEARCH, { text: 'a dog', filters: { videoIds: ['nope'] } });
    expect(badId.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await graphql(SEARCH, { text: 'a dog', first: 1 })).body.data.search.edges).toHaveLength(1);
  });

  const RANK = `query ($segmentId: ID!, $texts: [String!]!) {
    rankTexts(segmentId: $segmentId, texts: $texts) { text score rank index warnings { code words } }
  }`;
  const segmentOf = async (videoId: string) => {
    const { rows } = await systemView(platform.kernel.db).query<{ id: string }>(
      `SELECT "id" FROM "segments" WHERE "video_id" = $1 ORDER BY "index" LIMIT 1`,
      [videoId],
    );
    return rows[0]!.id;
  };

  it('ranks texts against one segment by HBI score, agreeing with search’s scores', async () => {
    const segmentId = await segmentOf(videoIds[1]!);
    const texts = ['a red ball', 'the dog runs on the grass', 'blue cat', 'a purple zebra'];
    const { body } = await graphql(RANK, { segmentId, texts });
    expect(body.errors).toBeUndefined();
    const ranked = body.data.rankTexts;
    expect(ranked.map((r: Json) => r.rank)).toEqual([1, 2, 3, 4]);
    expect(new Set(ranked.map((r: Json) => r.text))).toEqual(new Set(texts));
    const scores = ranked.map((r: Json) => r.score as number);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const entry of ranked) expect(texts[entry.index]).toBe(entry.text);
    expect(ranked.find((r: Json) => r.text === 'a purple zebra').warnings).toEqual([
      { code: 'UNKNOWN_WORDS', words: ['purple', 'zebra'] },
    ]);
    expect(ranked.find((r: Json) => r.text === 'the dog runs on the grass').warnings).toEqual([
      { code: 'TEXT_TRUNCATED', words: [] },
    ]);
    // The same interaction head scores search hits: the segment's search score for a text matches.
    const search = await graphql(SEARCH, { text: 'blue cat', first: 10 });
    const hit = search.body.data.search.edges.find((edge: Json) => edge.node.videoId === videoIds[1]);
    expect(ranked.find((r: Json) => r.text === 'blue cat').score).toBeCloseTo(hit.node.score, 5);
  });

  it('ranks through the retrieval.rankTexts task and refuses bad requests with coded errors', async () => {
    const segmentId = await segmentOf(videoIds[0]!);
    const direct = await tasksOf(platform).run(rankTextsTask, {
      segmentId,
      texts: ['a dog', 'a cat'],
    });
    expect(direct.map((r) => r.rank)).toEqual([1, 2]);
    const code = async (variables: Json) =>
      (await graphql(RANK, variables)).body.errors?.[0]?.extensions?.code;
    expect(await code({ segmentId, texts: [] })).toBe('BAD_USER_INPUT');
    expect(await code({ segmentId, texts: ['a dog', '  '] })).toBe('BAD_USER_INPUT');
    expect(await code({ segmentId, texts: Array.from({ length: 101 }, () => 'dog') })).toBe('LIMIT_EXCEEDED');
    expect(await code({ segmentId: '00000000-0000-4000-8000-00000000dead', texts: ['a dog'] })).toBe(
      'NOT_FOUND',
    );
  });
});
