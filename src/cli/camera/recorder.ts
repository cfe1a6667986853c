/**
 * One connection to a camera source: ffmpeg reads the stream and its segment muxer cuts it into
 * fixed-length MP4 files, announcing each finished one as a CSV line (`name,start,end`) on stdout, so
 * the agent learns of a segment exactly when the file is complete. The run ends when ffmpeg exits:
 * the source dropped, the file ended, or the agent stopped it (then ffmpeg gets `q` and closes the
 * segment in hand properly).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { HbiError } from '../../core/errors.js';

/** How the stream is read and cut. */
export interface RecorderSettings {
  /** A file path, `rtsp(s)://…`, `http(s)://…`, or a capture device (`/dev/video0`). */
  source: string;
  segmentSeconds: number;
  /** Files only: read at the native frame rate (`-re`), as a live camera would deliver them. */
  realtime: boolean;
  /** Files only: start again at the end, for ever. */
  loop: boolean;
  /** `h264` re-encodes with a key frame at every cut (exact lengths); `copy` keeps the source's bitstream (cuts at its key frames). */
  codec: 'h264' | 'copy';
}

export type SourceKind = 'file' | 'rtsp' | 'http' | 'device';

/** A finished segment file, with its span in the stream's own clock (seconds from the run's start). */
export interface RecordedSegment {
  index: number;
  file: string;
  startSeconds: number;
  endSeconds: number;
}

export interface RecorderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of what ffmpeg said on stderr: why the source dropped. */
  reason: string;
  segments: number;
}

export interface RecorderRun {
  /** Settles when ffmpeg has exited and every segment was announced. */
  readonly exited: Promise<RecorderExit>;
  /** Asks ffmpeg to finish the segment in hand and exit; kills it when it has not after `graceMs`. */
  stop(graceMs?: number): void;
}

/** The kind of source `source` names; BAD_USER_INPUT for a missing file or an unsupported URL scheme. */
export function sourceKind(source: string): SourceKind {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source)?.[1]?.toLowerCase();
  if (scheme === 'rtsp' || scheme === 'rtsps') return 'rtsp';
  if (scheme === 'http' || scheme === 'https') return 'http';
  if (scheme !== undefined) {
    throw new HbiError(
      'BAD_USER_INPUT',
      `Unsupported source scheme ${scheme}:// (use a file, rtsp, http(s) or a device)`,
    );
  }
  if (source.startsWith('/dev/')) return 'device';
  if (!existsSync(source)) throw new HbiError('BAD_USER_INPUT', `Source file ${source} does not exist`);
  return 'file';
}

/** ffmpeg's arguments for one run, writing `<outDir>/<prefix>-%08d.mp4` numbered from `startNumber`. */
export function recorderArgs(settings: RecorderSettings, outDir: string, startNumber: number): string[] {
  const input: string[] = [];
  switch (sourceKind(settings.source)) {
    case 'file':
      if (settings.realtime) input.push('-re');
      if (settings.loop) input.push('-stream_loop', '-1');
      break;
    case 'rtsp':
      // TCP survives lossy networks and NAT; the socket timeout (µs) turns a silent camera into an exit.
      input.push('-rtsp_transport', 'tcp', '-timeout', '10000000');
      break;
    case 'http':
      input.push('-rw_timeout', '10000000');
      break;
    case 'device':
      input.push('-f', 'v4l2');
      break;
  }
  const seconds = String(settings.segmentSeconds);
  const video =
    settings.codec === 'copy'
      ? ['-c:v', 'copy']
      : // zerolatency: no look-ahead, so a segment is out as soon as its last frame arrived (less lag).
        [
          '-c:v',
          'libx264',
          '-preset',
          'veryfast',
          '-tune',
          'zerolatency',
          '-pix_fmt',
          'yuv420p',
          '-force_key_frames',
          `expr:gte(t,n_forced*${seconds})`,
        ];
  return [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    ...input,
    '-i',
    settings.source,
    '-map',
    '0:v:0',
    '-an',
    ...video,
    '-f',
    'segment',
    '-segment_time',
    seconds,
    '-segment_format',
    'mp4',
    '-reset_timestamps',
    '1',
    '-segment_start_number',
    String(startNumber),
    '-segment_list',
    'pipe:1',
    '-segment_list_type',
    'csv',
    path.join(outDir, 'raw-%08d.mp4'),
  ];
}

/** A segment-list line (`raw-00000012.mp4,36.0,39.0`) as a segment in `outDir`; undefined when it is not one. */
export function parseSegmentLine(line: string, outDir: string): RecordedSegment | undefined {
  const match = /^"?(raw-(\d+)\.mp4)"?,([\d.]+),([\d.]+)$/.exec(line.trim());
  if (!match) return undefined;
  return {
    index: Number(match[2]),
    file: path.join(outDir, match[1]!),
    startSeconds: Number(match[3]),
    endSeconds: Number(match[4]),
  };
}

/** Starts ffmpeg; `onSegment` hears of each finished file in order. */
export function startRecorder(
  ffmpeg: string,
  args: readonly string[],
  outDir: string,
  onSegment: (segment: RecordedSegment) => void,
): RecorderRun {
  const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let pending = '';
  let segments = 0;
  let killTimer: NodeJS.Timeout | undefined;
  child.stdin.on('error', () => undefined);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const segment = parseSegmentLine(line, outDir);
      if (segment) {
        segments++;
        onSegment(segment);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<RecorderExit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null, extra = '') => {
      clearTimeout(killTimer);
      const reason = (extra || stderr).trim().split('\n').slice(-3).join(' | ');
      resolve({ code, signal, reason, segments });
    };
    child.on('error', (error) => finish(null, null, error.message));
    child.on('close', (code, signal) => finish(code, signal));
  });
  return {
    exited,
    stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // `q` on stdin makes ffmpeg close the open segment (and announce it) before exiting.
      child.stdin.end('q');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), graceMs);
    },
  };
}
