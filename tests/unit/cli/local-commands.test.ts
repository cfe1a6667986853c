/** `hbi ingest` and `hbi migrate`: the commands that work on the embedded database directly. */
import 'reflect-metadata';

import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXIT_CODES } from '../../../src/cli/exit-codes.js';
import { runCli } from '../../../src/cli/run.js';
import { locateFfmpeg } from '../../../src/core/video/ffmpeg-tools.js';
import { captureIo } from '../../helpers/cli-io.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';
import { makeColorMp4, makeMp4 } from '../../helpers/videos.js';

describe('hbi ingest and hbi migrate', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let clips: string;
  let pattern: string;

  beforeAll(async () => {
    temp = await tempDir('hbi-cli-local-');
    env = { HBI_MODEL_DIR: TINY_PACKAGE, HBI_DATA_DIR: path.join(temp.dir, 'data'), HBI_LOG_LEVEL: 'silent' };
    const tools = await locateFfmpeg({});
    clips = path.join(temp.dir, 'clips');
    await mkdir(clips);
    await makeColorMp4(tools, clips, 'red');
    await makeColorMp4(tools, clips, 'green');
    await writeFile(path.join(clips, 'notes.txt'), 'not a video');
    pattern = await makeMp4(tools, temp.dir);
  });
  afterAll(async () => temp?.cleanup());

  const hbi = async (...argv: string[]) => {
    const captured = captureIo(env);
    const code = await runCli(argv, captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  it('migrate applies the migrations once, then finds the database up to date', async () => {
    const first = await hbi('migrate', '--json');
    expect(first.code).toBe(EXIT_CODES.OK);
    expect(JSON.parse(first.stdout).applied.length).toBeGreaterThan(0);
    expect(await hbi('migrate')).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
  });

  it('ingest indexes a folder’s videos and a file, and skips them the second time', async () => {
    const first = await hbi('ingest', clips, pattern, '--quiet');
    expect(first.code).toBe(EXIT_CODES.OK);
    expect(first.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^\[1\/3\] .*green\.mp4: indexed, 1 segment\(s\) \(video [0-9a-f-]{36}\)$/),
      expect.stringMatching(/^\[2\/3\] .*red\.mp4: indexed, 1 segment\(s\)/),
      expect.stringMatching(/^\[3\/3\] .*pattern\.mp4: indexed, 1 segment\(s\)/),
    ]);
    const again = await hbi('ingest', clips, '--json', '--quiet');
    expect(JSON.parse(again.stdout)).toMatchObject({ indexed: 0, alreadyIndexed: 2, failed: 0 });
  });

  it('ingest exits 1 when a file fails, after indexing the others', async () => {
    const broken = path.join(temp.dir, 'broken.mp4');
    await writeFile(broken, 'not really an mp4');
    const { code, stdout } = await hbi(
      'ingest',
      broken,
      pattern,
      path.join(temp.dir, 'missing.mp4'),
      '--json',
      '--quiet',
    );
    expect(code).toBe(EXIT_CODES.FAILURE);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ indexed: 0, alreadyIndexed: 1, failed: 2 });
    expect(summary.results.map((result: { error?: { code: string } }) => result.error?.code)).toEqual([
      'VIDEO_UNREADABLE',
      undefined,
      'NOT_FOUND',
    ]);
  });

  it('ingest downloads an http URL first, and shows a progress line on a terminal', async () => {
    const server = createServer((_request, response) =>
      createReadStream(path.join(clips, 'red.mp4')).pipe(response),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/clips/red-again.mp4`;
      const captured = captureIo(env);
      Object.assign(captured.io.stderr, { isTTY: true, columns: 120 });
      const code = await runCli(['ingest', url], captured.io);
      expect(code).toBe(EXIT_CODES.OK);
      // The same bytes as red.mp4: the ingestor recognises the video.
      expect(captured.stdout()).toContain(`${url}: already indexed`);
      expect(captured.stderr()).toContain('\r\x1b[2Kingest [');
    } finally {
      server.close();
    }
  });

  it('ingest says so when a folder holds no video', async () => {
    const empty = path.join(temp.dir, 'empty');
    await mkdir(empty);
    expect(await hbi('ingest', empty)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no video files found'),
    });
  });
});
