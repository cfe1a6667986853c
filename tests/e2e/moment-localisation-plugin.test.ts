/**
 * The sample external plugin (examples/plugins/moment-localisation) as an operator would run it: built
 * by its own build step, named by path in HBI_PLUGINS, loaded into a real platform with the shipped
 * model, and asked over HTTP where a clip's caption happens inside a long video made of demo clips.
 */
import 'reflect-metadata';

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/core/config.js';
import type { DemoLibrary } from '../../src/core/ingest/demo-library.js';
import { readDemoLibrary } from '../../src/core/ingest/demo-library.js';
import { VideoIngestor } from '../../src/core/ingest/video-ingestor.js';
import { createMemoryLogger } from '../../src/core/logger.js';
import type { Platform } from '../../src/core/platform.js';
import { startPlatform } from '../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../src/plugins/builtins.js';
import { tempDir } from '../helpers/fixtures.js';
import { concatClips } from '../helpers/videos.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PLUGIN_DIR = path.join(ROOT, 'examples/plugins/moment-localisation');
const LIBRARY = path.join(ROOT, 'examples/demo-library/library.json');
/** Six visibly different demo clips (3 s each), played back to back: an 18 s video. */
const CLIP_IDS = ['test-000000', 'test-000001', 'test-000002', 'test-000008', 'test-000009', 'test-000011'];
const CLIP_MS = 3000;

type Json = Record<string, any>;

describe('moment-localisation: an external plugin loaded through HBI_PLUGINS', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let library: DemoLibrary;
  let videoId: string;

  beforeAll(async () => {
    await promisify(execFile)(process.execPath, [path.join(PLUGIN_DIR, 'build.mjs')]);
    temp = await tempDir('hbi-moment-');
    const config = loadConfig({
      HBI_MODEL_DIR: path.join(ROOT, 'models/hbi-synth-tiny'),
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
      HBI_PLUGINS: PLUGIN_DIR,
      // Windows of one clip's length, half overlapping: every clip is one segment, plus straddlers.
      HBI_SEGMENT_WINDOW_MS: String(CLIP_MS),
      HBI_SEGMENT_OVERLAP_MS: String(CLIP_MS / 2),
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    library = await readDemoLibrary(LIBRARY);
    const files = CLIP_IDS.map((id) =>
      path.resolve(path.dirname(LIBRARY), library.clips.find((clip) => clip.id === id)!.file),
    );
    const { kernel } = platform;
    const long = await concatClips(kernel.ffmpeg, files, path.join(temp.dir, 'long.mp4'));
    const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
    const result = await ingestor.ingestFile({ file: long, title: 'six demo clips' });
    expect(result.segments).toBe(2 * CLIP_IDS.length - 1);
    videoId = result.videoId;
  });
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  const graphql = async (query: string, variables: Json): Promise<Json> => {
    const response = await fetch(platform.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.adminKey}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as Json;
  };
  const LOCALISE = `query ($videoId: ID!, $text: String!) { localiseMoment(videoId: $videoId, text: $text) {
      startMs endMs score peakSegmentId windowMs model warnings { code }
      curve { segmentId index startMs endMs score smoothed } } }`;

  it('is listed beside the built-ins with its task and required graphs', async () => {
    const body = await graphql('{ plugins { name version tasks requiredGraphs } }', {});
    expect(body.data.plugins.at(-1)).toEqual({
      name: 'moment-localisation',
      version: '0.1.0',
      tasks: ['moment.localise'],
      requiredGraphs: ['text', 'interaction'],
    });
  });

  it("finds the span of a clip's caption inside the long video", async () => {
    const target = CLIP_IDS.indexOf('test-000002');
    const caption = library.clips.find((clip) => clip.id === 'test-000002')!.captions[0]!;
    const body = await graphql(LOCALISE, { videoId, text: caption });
    expect(body.errors).toBeUndefined();
    const moment = body.data.localiseMoment;
    const [clipStart, clipEnd] = [target * CLIP_MS, (target + 1) * CLIP_MS];
    expect(moment.startMs).toBeLessThan(clipEnd);
    expect(moment.endMs).toBeGreaterThan(clipStart);
    expect(moment.endMs - moment.startMs).toBeLessThan(CLIP_IDS.length * CLIP_MS);
    expect(moment).toMatchObject({ model: expect.stringMatching(/^hbi-synth-tiny@/), warnings: [] });
    // The curve covers every segment in order, and its peak is the one reported.
    expect(moment.curve.map((point: Json) => point.index)).toEqual([...moment.curve.keys()]);
    const peak = moment.curve.reduce((best: Json, point: Json) =>
      point.smoothed > best.smoothed ? point : best,
    );
    expect(peak.segmentId).toBe(moment.peakSegmentId);
    expect(moment.score).toBeCloseTo(peak.smoothed, 5);
  });

  it('fails an unknown video with NOT_FOUND', async () => {
    const body = await graphql(LOCALISE, {
      videoId: '00000000-0000-4000-8000-00000000dead',
      text: 'a red ball',
    });
    expect(body.errors[0].extensions.code).toBe('NOT_FOUND');
  });
});
