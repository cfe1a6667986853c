/** `hbi search`, `hbi ask` and `hbi caption` against a real server (the fixture model), as a user runs them. */
import 'reflect-metadata';

import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT_CODES } from '../../../src/cli/exit-codes.js';
import { runCli } from '../../../src/cli/run.js';
import { loadConfig } from '../../../src/core/config.js';
import { VideoIngestor } from '../../../src/core/ingest/video-ingestor.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import type { Platform } from '../../../src/core/platform.js';
import { startPlatform } from '../../../src/core/platform.js';
import { BUILTIN_PLUGINS } from '../../../src/plugins/builtins.js';
import { captureIo } from '../../helpers/cli-io.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import { makeColorMp4 } from '../../helpers/videos.js';

describe('hbi search/ask/caption against a running server', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let platform: Platform;
  let videoId: string;

  beforeAll(async () => {
    temp = await tempDir('hbi-cli-');
    const config = loadConfig({
      HBI_MODEL_DIR: TINY_PACKAGE,
      HBI_DATA_DIR: path.join(temp.dir, 'data'),
      HBI_PORT: '0',
    });
    platform = await startPlatform(config, createMemoryLogger(), { builtins: BUILTIN_PLUGINS });
    const { kernel } = platform;
    const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
    for (const color of ['red', 'blue']) {
      const file = await makeColorMp4(kernel.ffmpeg, temp.dir, color);
      videoId = (await ingestor.ingestFile({ file, title: `${color} clip` })).videoId;
    }
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
    await temp?.cleanup();
  });

  const hbi = async (...argv: string[]) => {
    // The key comes from the admin-key file the server's first start wrote in its data folder, as
    // `hbi` finds it beside a local server.
    const captured = captureIo({ HBI_URL: platform.gateway.url, HBI_DATA_DIR: path.join(temp.dir, 'data') });
    const code = await runCli(argv, captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it('search prints one ranked hit per line, with the segment id to ask about', async () => {
    const { code, stdout } = await hbi('search', 'a red ball', '--first', '2');
    expect(code).toBe(EXIT_CODES.OK);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^ {2}1 {2}-?\d+\.\d{3} {2}(red|blue) clip {2}0\.0 s–1\.0 s {2}segment [0-9a-f-]{36}$/,
    );
  });

  it('search --json prints the connection as the API returns it', async () => {
    const { code, stdout } = await hbi('search', 'a red ball', '--json');
    expect(code).toBe(EXIT_CODES.OK);
    expect(JSON.parse(stdout)).toMatchObject({
      totalCount: 2,
      model: 'hbi-fixture-tiny@0.0.1',
      edges: expect.any(Array),
    });
  });

  it('ask answers about a whole video given its id', async () => {
    const { code, stdout } = await hbi('ask', videoId, 'what colour is the ball?');
    expect(code).toBe(EXIT_CODES.OK);
    expect(stdout).toMatch(/^\S+ \(\d+%\)\n/);
  });

  it('caption captions a segment found by search', async () => {
    const hits = JSON.parse((await hbi('search', 'a blue box', '--json')).stdout);
    const segmentId = hits.edges[0].node.segmentId as string;
    const greedy = await hbi('caption', segmentId, '--json');
    expect(greedy.code).toBe(EXIT_CODES.OK);
    expect(JSON.parse(greedy.stdout)).toMatchObject({ segments: [{ segmentId }], text: expect.any(String) });
    const beam = await hbi('caption', segmentId, '--segment', '--beam', '2');
    expect(beam.code).toBe(EXIT_CODES.OK);
  });

  it('exits 4 for an id the server does not know', async () => {
    const { code, stderr } = await hbi('caption', '00000000-0000-4000-8000-00000000dead');
    expect(code).toBe(EXIT_CODES.REFUSED);
    expect(stderr).toContain('NOT_FOUND');
  });

  it('exits 3 once the server is gone', async () => {
    const captured = captureIo({ HBI_URL: 'http://127.0.0.1:9/graphql' });
    expect(await runCli(['search', 'a red ball', '--timeout', '5000'], captured.io)).toBe(
      EXIT_CODES.UNREACHABLE,
    );
  });
});
