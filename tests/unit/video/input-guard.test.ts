import { execFile } from 'node:child_process';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { HbiError } from '../../../src/core/errors.js';
import { decodeFrames } from '../../../src/core/video/decode-frames.js';
import type { FfmpegTools } from '../../../src/core/video/ffmpeg-tools.js';
import {
  allowedFormats,
  confinedInputArgs,
  refuseIndirectInput,
} from '../../../src/core/video/input-guard.js';
import { probeVideo } from '../../../src/core/video/probe.js';
import { tempDir } from '../../helpers/fixtures.js';
import { makeMp4, systemFfmpeg } from '../../helpers/videos.js';

const run = promisify(execFile);

let temp: { dir: string; cleanup: () => Promise<void> };
let system: FfmpegTools & { ffprobe: string };
/** The system tools behind wrappers that log every invocation: did any ffmpeg process see the file? */
let spied: FfmpegTools;
let calls: string;
let mp4: string;
/** A real MPEG-TS video a playlist can point at (the file an attacker wants read). */
let segment: string;

const invocations = async (): Promise<string> => readFile(calls, 'utf8').catch(() => '');

beforeAll(async () => {
  temp = await tempDir('hbi-input-guard-');
  system = await systemFfmpeg();
  mp4 = await makeMp4(system, temp.dir);
  segment = path.join(temp.dir, 'private-segment.ts');
  await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', mp4, '-c', 'copy', '-f', 'mpegts', segment]);
  calls = path.join(temp.dir, 'calls.log');
  const wrap = async (name: string, real: string) => {
    const file = path.join(temp.dir, name);
    await writeFile(file, `#!/bin/sh\necho "${name} $*" >> '${calls}'\nexec '${real}' "$@"\n`);
    await chmod(file, 0o755);
    return file;
  };
  spied = {
    ffmpeg: await wrap('ffmpeg-spy', system.ffmpeg),
    ffprobe: await wrap('ffprobe-spy', system.ffprobe),
    source: 'system',
  };
});
afterAll(() => temp.cleanup());

/** Writes `content` to a file in the temp folder; returns its path. */
async function file(name: string, content: string | Buffer): Promise<string> {
  const target = path.join(temp.dir, name);
  await writeFile(target, content);
  return target;
}

describe('playlists and lists are refused before any ffmpeg process opens them', () => {
  const playlist = () =>
    `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://${segment}\n#EXT-X-ENDLIST\n`;

  it('an HLS playlist pointing at a local file, uploaded as .mp4: VIDEO_FORMAT_UNSUPPORTED, ffprobe never runs', async () => {
    const upload = await file('upload-hls.mp4', playlist());
    await writeFile(calls, '');
    for (const tools of [spied, { ...spied, ffprobe: null }]) {
      const error = (await probeVideo(upload, tools, 20_000).catch((e: unknown) => e)) as HbiError;
      expect(error).toMatchObject({
        code: 'VIDEO_FORMAT_UNSUPPORTED',
        details: { kind: 'an HLS/M3U playlist' },
      });
      expect(error.message).toContain('upload the video file itself');
      expect(error.message).not.toContain(temp.dir);
    }
    const decode = decodeFrames(spied, { file: upload, frames: 2, width: 4, height: 4, timeoutMs: 20_000 });
    await expect(decode).rejects.toMatchObject({ code: 'VIDEO_FORMAT_UNSUPPORTED' });
    expect(await invocations()).toBe('');
  });

  it.each([
    ['an ffconcat list', `ffconcat version 1.0\nfile '${segment}'\n`, 'an ffconcat list'],
    ['a plain concat list', `file '${segment}'\nfile 'private-segment.ts'\n`, 'a concat list'],
    ['a playlist after a BOM and blank lines', `\ufeff\n\n  #EXTM3U\n${segment}\n`, 'an HLS/M3U playlist'],
    [
      'an SDP file',
      'v=0\no=- 0 0 IN IP4 127.0.0.1\nc=IN IP4 127.0.0.1\nm=video 5004 RTP/AVP 96\n',
      'an SDP session description',
    ],
    [
      'a DASH manifest',
      '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"></MPD>\n',
      'an XML document (DASH manifest, XSPF playlist)',
    ],
  ])('%s: VIDEO_FORMAT_UNSUPPORTED before probing', async (_label, content, kind) => {
    const upload = await file(`list-${kind.length}.mp4`, content);
    await writeFile(calls, '');
    await expect(probeVideo(upload, spied, 20_000)).rejects.toMatchObject({
      code: 'VIDEO_FORMAT_UNSUPPORTED',
      details: { kind },
    });
    expect(await invocations()).toBe('');
  });

  it('a playlist behind an ID3 tag (ffmpeg skips the tag before it probes): refused too', async () => {
    const body = Buffer.from(playlist());
    const tag = Buffer.concat([Buffer.from('ID3'), Buffer.from([4, 0, 0, 0, 0, 0, 20]), Buffer.alloc(20)]);
    const upload = await file('id3-hls.mp4', Buffer.concat([tag, body]));
    await writeFile(calls, '');
    await expect(refuseIndirectInput(upload)).rejects.toMatchObject({ code: 'VIDEO_FORMAT_UNSUPPORTED' });
    await expect(probeVideo(upload, spied, 20_000)).rejects.toMatchObject({
      code: 'VIDEO_FORMAT_UNSUPPORTED',
    });
    expect(await invocations()).toBe('');
  });

  it('names of playlists and lists (.m3u8, .txt, .sdp …) are refused whatever they hold', async () => {
    for (const name of ['a.m3u8', 'b.M3U', 'c.txt', 'd.ffconcat', 'e.sdp', 'f.mpd']) {
      const upload = path.join(temp.dir, name);
      await copyFile(mp4, upload);
      await expect(refuseIndirectInput(upload), name).rejects.toMatchObject({
        code: 'VIDEO_FORMAT_UNSUPPORTED',
        details: { extension: path.extname(name).toLowerCase() },
      });
    }
  });

  it('other text is not a video: VIDEO_UNREADABLE, before probing', async () => {
    const upload = await file('notes.mp4', 'minutes of the meeting\n'.repeat(20));
    await writeFile(calls, '');
    await expect(probeVideo(upload, spied, 20_000)).rejects.toMatchObject({
      code: 'VIDEO_UNREADABLE',
      message: expect.stringContaining('not a readable video'),
    });
    expect(await invocations()).toBe('');
  });

  it('a normal MP4 passes the check and is probed (confined) and decoded', async () => {
    await writeFile(calls, '');
    await expect(refuseIndirectInput(mp4)).resolves.toBeUndefined();
    expect(await probeVideo(mp4, spied, 20_000)).toMatchObject({
      formatNames: expect.arrayContaining(['mp4']),
    });
    const decoded = await decodeFrames(spied, {
      file: mp4,
      frames: 2,
      width: 4,
      height: 4,
      timeoutMs: 20_000,
    });
    expect(decoded.decodedFrames).toBe(20);
    const log = await invocations();
    expect(log).toContain(
      'ffprobe-spy -v error -protocol_whitelist file -format_whitelist mov,mp4,matroska,webm,avi,mpegts',
    );
    expect(log).toMatch(
      /ffmpeg-spy .*-protocol_whitelist file -format_whitelist mov,mp4,matroska,webm,avi,mpegts -i /,
    );
  });
});

describe('the ffprobe/ffmpeg confinement itself (what holds if a list got past the first check)', () => {
  it('without it ffprobe follows a playlist to a local file; with it, it refuses the demuxer', async () => {
    const list = await file(
      'direct.m3u8',
      `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://${segment}\n#EXT-X-ENDLIST\n`,
    );
    const args = ['-v', 'error', '-print_format', 'json', '-show_format'];
    // The control: unconfined, ffprobe reads the segment the playlist names and reports its duration.
    const open = JSON.parse((await run(system.ffprobe, [...args, list])).stdout) as {
      format: { format_name: string; duration: string };
    };
    expect(open.format.format_name).toBe('hls');
    expect(Number(open.format.duration)).toBeGreaterThan(1);
    const confined = await run(system.ffprobe, [...args, ...confinedInputArgs(), list]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(confined).toMatchObject({ code: 1, stderr: expect.stringContaining('Format not on whitelist') });
  });

  it('a concat list is refused the same way', async () => {
    const list = await file('direct.ffconcat', "ffconcat version 1.0\nfile 'private-segment.ts'\n");
    const confined = await run(system.ffprobe, [
      '-v',
      'error',
      ...confinedInputArgs(),
      '-show_format',
      list,
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(confined).toMatchObject({ code: 1, stderr: expect.stringContaining('Format not on whitelist') });
  });

  it('a container off HBI_ALLOWED_CONTAINERS is refused by ffprobe with VIDEO_FORMAT_UNSUPPORTED', async () => {
    const flv = path.join(temp.dir, 'clip.flv');
    await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', mp4, '-c', 'copy', '-f', 'flv', flv]);
    for (const tools of [system, { ...system, ffprobe: null }]) {
      await expect(probeVideo(flv, tools, 20_000)).rejects.toMatchObject({
        code: 'VIDEO_FORMAT_UNSUPPORTED',
        message: expect.stringContaining('Container flv is not accepted'),
      });
    }
    // Allowed by the operator, it is probed.
    expect(await probeVideo(flv, system, 20_000, ['flv', 'mov'])).toMatchObject({ formatNames: ['flv'] });
  });

  it('never allows a playlist or list demuxer, whatever HBI_ALLOWED_CONTAINERS lists', () => {
    expect(allowedFormats(['mp4', 'hls', 'concat', 'image2', 'sdp', 'dash', 'lavfi'])).toEqual(['mp4']);
    expect(() => allowedFormats(['hls'])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(confinedInputArgs(['mov', 'hls'])).toEqual([
      '-protocol_whitelist',
      'file',
      '-format_whitelist',
      'mov',
    ]);
  });
});
