import { readdir } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RecordedSegment, RecorderSettings } from '../../../src/cli/camera/recorder.js';
import {
  parseSegmentLine,
  recorderArgs,
  sourceKind,
  startRecorder,
} from '../../../src/cli/camera/recorder.js';
import { LOOP_SOURCE, makeSourceFile } from '../../helpers/camera.js';
import { systemFfmpeg } from '../../helpers/videos.js';
import { tempDir } from '../../helpers/fixtures.js';

const settings = (source: string, extra: Partial<RecorderSettings> = {}): RecorderSettings => ({
  source,
  segmentSeconds: 3,
  realtime: true,
  loop: false,
  codec: 'h264',
  ...extra,
});

describe('recorder arguments', () => {
  it('tells sources apart and refuses what it cannot read', () => {
    expect(sourceKind('rtsp://user:pw@10.0.0.5/stream1')).toBe('rtsp');
    expect(sourceKind('https://cam.example/live.ts')).toBe('http');
    expect(sourceKind('/dev/video0')).toBe('device');
    expect(sourceKind(LOOP_SOURCE)).toBe('file');
    expect(() => sourceKind('ftp://cam/stream')).toThrow(/Unsupported source scheme/);
    expect(() => sourceKind('/nowhere/clip.mp4')).toThrow(/does not exist/);
  });

  it('reads files in real time and loops them on request; live sources get timeouts instead', () => {
    const file = recorderArgs(settings(LOOP_SOURCE, { loop: true }), '/spool/recording', 42);
    expect(file.slice(file.indexOf('-re'), file.indexOf('-i'))).toEqual(['-re', '-stream_loop', '-1']);
    expect(file).toEqual(expect.arrayContaining(['-segment_time', '3', '-segment_start_number', '42']));
    expect(file.at(-1)).toBe(path.join('/spool/recording', 'raw-%08d.mp4'));
    const fast = recorderArgs(settings(LOOP_SOURCE, { realtime: false }), '/r', 0);
    expect(fast).not.toContain('-re');
    expect(recorderArgs(settings('rtsp://cam/s'), '/r', 0)).toEqual(
      expect.arrayContaining(['-rtsp_transport', 'tcp']),
    );
    expect(recorderArgs(settings('http://cam/s'), '/r', 0)).not.toContain('-re');
    const copy = recorderArgs(settings('http://cam/s', { codec: 'copy' }), '/r', 0);
    expect(copy).toEqual(expect.arrayContaining(['-c:v', 'copy']));
    expect(copy).not.toContain('-force_key_frames');
  });

  it('reads segment-list lines, and nothing else', () => {
    expect(parseSegmentLine('raw-00000012.mp4,36.000000,39.250000', '/r')).toEqual({
      index: 12,
      file: path.join('/r', 'raw-00000012.mp4'),
      startSeconds: 36,
      endSeconds: 39.25,
    });
    expect(parseSegmentLine('Error opening input', '/r')).toBeUndefined();
  });
});

describe('recorder on a real ffmpeg', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let ffmpeg: string;
  let source: string;
  beforeAll(async () => {
    temp = await tempDir('hbi-recorder-');
    // loop-source.sh runs the system ffmpeg: fail naming it when missing.
    ffmpeg = (await systemFfmpeg()).ffmpeg;
    source = await makeSourceFile(temp.dir);
  });
  afterAll(() => temp.cleanup());

  it('cuts a 12 s file into numbered 3 s MP4 segments, announcing each once it is complete', async () => {
    const out = path.join(temp.dir, 'cut');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const seen: RecordedSegment[] = [];
    const run = startRecorder(ffmpeg, recorderArgs(settings(source, { realtime: false }), out, 7), out, (s) =>
      seen.push(s),
    );
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(seen.map((s) => s.index)).toEqual([7, 8, 9, 10]);
    for (const segment of seen) expect(segment.endSeconds - segment.startSeconds).toBeCloseTo(3, 0);
    expect((await readdir(out)).sort()).toEqual(seen.map((s) => path.basename(s.file)));
  });

  it('stops on request, closing the segment in hand', async () => {
    const out = path.join(temp.dir, 'stopped');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const seen: RecordedSegment[] = [];
    const run = startRecorder(ffmpeg, recorderArgs(settings(source, { loop: true }), out, 0), out, (s) =>
      seen.push(s),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    run.stop();
    const exit = await run.exited;
    expect(exit.signal).toBeNull();
    expect(seen.length).toBe(1);
    expect(seen[0]!.endSeconds).toBeGreaterThan(0.5);
  });
});
