/**
 * Keeps ffmpeg and ffprobe to the one file they were given. Some of ffmpeg's demuxers open whatever
 * their input names: an HLS playlist (.m3u8) or a concat list reads other local files or URLs, an SDP
 * file opens network streams, image2 expands file patterns. A client's upload must never make the
 * server read anything but the upload, so:
 *
 * 1. before ffprobe opens a file, `refuseIndirectInput` reads its first bytes (after any ID3 tag, which
 *    ffmpeg skips too) and refuses playlists, concat lists, SDP, manifests and any other text, and names
 *    such as .m3u8, .txt or .sdp;
 * 2. every ffprobe/ffmpeg run over such a file gets `confinedInputArgs`: `-protocol_whitelist file` (only
 *    the local file itself can be opened, no http, no data:, no subfile:) and `-format_whitelist` with
 *    the accepted containers, so a demuxer outside the list is refused before it reads a header.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';

import { HbiError } from '../errors.js';

/** The containers accepted unless HBI_ALLOWED_CONTAINERS says otherwise (ffmpeg demuxer names). */
export const DEFAULT_CONTAINERS: readonly string[] = Object.freeze([
  'mov',
  'mp4',
  'matroska',
  'webm',
  'avi',
  'mpegts',
]);

/**
 * Demuxers that open other files, URLs, devices or scripts named inside their input. Never allowed,
 * whatever HBI_ALLOWED_CONTAINERS lists.
 */
export const INDIRECT_FORMATS: ReadonlySet<string> = new Set([
  'hls',
  'applehttp',
  'dash',
  'concat',
  'imf',
  'image2',
  'image2pipe',
  'sdp',
  'rtsp',
  'rtp',
  'sap',
  'lavfi',
  'avisynth',
  'vapoursynth',
]);

/** File names that are lists of other files, refused before ffmpeg looks at them. */
const INDIRECT_EXTENSIONS: ReadonlySet<string> = new Set([
  '.m3u8',
  '.m3u',
  '.ffconcat',
  '.concat',
  '.txt',
  '.sdp',
  '.mpd',
  '.pls',
  '.xspf',
  '.asx',
  '.smil',
  '.cue',
]);

/** First bytes (after a BOM and white space, any case) of playlists, lists and manifests. */
const INDIRECT_SIGNATURES: readonly (readonly [string, string])[] = [
  ['#extm3u', 'an HLS/M3U playlist'],
  ['#ext-x-', 'an HLS playlist'],
  ['#extinf', 'an M3U playlist'],
  ['ffconcat', 'an ffconcat list'],
  ['file ', 'a concat list'],
  ["file'", 'a concat list'],
  ['v=0', 'an SDP session description'],
  ['[playlist]', 'a PLS playlist'],
  ['<?xml', 'an XML document (DASH manifest, XSPF playlist)'],
  ['<mpd', 'a DASH manifest'],
  ['<smil', 'a SMIL playlist'],
  ['<asx', 'an ASX playlist'],
];

/** How much of the file is looked at. */
const HEAD_BYTES = 4096;

/** The demuxers ffprobe/ffmpeg may use: the accepted containers minus every indirect one. */
export function allowedFormats(containers: readonly string[] = DEFAULT_CONTAINERS): string[] {
  const names = containers
    .map((name) => name.trim().toLowerCase())
    .filter((name) => /^[a-z0-9_]+$/.test(name) && !INDIRECT_FORMATS.has(name));
  if (names.length === 0) {
    throw new HbiError(
      'CONFIG_INVALID',
      'HBI_ALLOWED_CONTAINERS names no container ffmpeg may open (playlists and lists are never allowed)',
    );
  }
  return [...new Set(names)];
}

/**
 * The input options that confine one ffprobe/ffmpeg run to the local file that follows them: no
 * protocol but `file`, no demuxer outside `containers` (and never an indirect one). Put them right
 * before `-i` (ffmpeg) or the file name (ffprobe).
 */
export function confinedInputArgs(containers: readonly string[] = DEFAULT_CONTAINERS): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', allowedFormats(containers).join(',')];
}

function refusedIndirect(what: string): HbiError {
  return new HbiError(
    'VIDEO_FORMAT_UNSUPPORTED',
    `The file is ${what}, which points at other files: playlists, lists and manifests are not accepted; upload the video file itself`,
    { details: { kind: what } },
  );
}

/** Bytes ID3v2 tags take at `offset` (0 when there is none); ffmpeg skips them before it probes. */
function id3Length(head: Buffer): number {
  if (head.length < 10 || head.toString('latin1', 0, 3) !== 'ID3') return 0;
  const size =
    ((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f);
  return 10 + size + ((head[5]! & 0x10) !== 0 ? 10 : 0);
}

/** Whether `bytes` hold no control characters but tab, line feed, form feed and carriage return. */
function looksLikeText(bytes: Buffer): boolean {
  if (bytes.length === 0) return false;
  return bytes.every((byte) =>
    byte >= 0x20 ? byte !== 0x7f : byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d,
  );
}

/**
 * Refuses, before any ffmpeg process opens it, a file that is a playlist, concat list, SDP file,
 * manifest or other text: VIDEO_FORMAT_UNSUPPORTED for the known indirections (by name or by content),
 * VIDEO_UNREADABLE for other text. Video containers start with binary headers, so nothing is lost.
 */
export async function refuseIndirectInput(file: string): Promise<void> {
  const extension = path.extname(file).toLowerCase();
  if (INDIRECT_EXTENSIONS.has(extension)) refusedIndirectName(extension);
  const handle = await open(file, 'r');
  let head: Buffer;
  try {
    let offset = 0;
    head = Buffer.alloc(HEAD_BYTES);
    let { bytesRead } = await handle.read(head, 0, HEAD_BYTES, offset);
    // ffmpeg probes what follows an ID3v2 tag; so does this check (a few tags at most).
    for (let tags = 0, skip = id3Length(head.subarray(0, bytesRead)); skip > 0 && tags < 4; tags += 1) {
      offset += skip;
      ({ bytesRead } = await handle.read(head, 0, HEAD_BYTES, offset));
      skip = id3Length(head.subarray(0, bytesRead));
    }
    head = head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const text = head
    .toString('latin1')
    .replace(/^\xef\xbb\xbf/, '')
    .trimStart()
    .toLowerCase();
  const known = INDIRECT_SIGNATURES.find(([signature]) => text.startsWith(signature));
  if (known) throw refusedIndirect(known[1]);
  if (looksLikeText(head)) {
    throw new HbiError(
      'VIDEO_UNREADABLE',
      'The file is not a readable video: it is text, not a video container; upload the video file itself',
    );
  }
}

function refusedIndirectName(extension: string): never {
  throw new HbiError(
    'VIDEO_FORMAT_UNSUPPORTED',
    `Files named *${extension} (playlists, lists, session descriptions) are not accepted: upload the video file itself`,
    { details: { extension } },
  );
}
