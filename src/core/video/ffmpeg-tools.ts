/**
 * Finds ffmpeg and ffprobe: configured paths first, then the system's (on PATH), then the static ffmpeg
 * shipped inside npm (`@ffmpeg-installer/ffmpeg`) so a fresh machine works with `npm install` alone.
 * That build has no ffprobe; probing then parses `ffmpeg -i` output instead.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

import { HbiError } from '../errors.js';

export interface FfmpegTools {
  ffmpeg: string;
  /** Null when only ffmpeg is available. */
  ffprobe: string | null;
  /** Where ffmpeg came from, for logs and `health`. */
  source: 'config' | 'system' | 'npm';
}

export interface LocateOptions {
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
  /** Set false to skip the system binaries (tests of the npm fallback). */
  useSystem?: boolean;
}

/** Resolves the binaries once at start; throws UNAVAILABLE when no ffmpeg runs at all. */
export async function locateFfmpeg(options: LocateOptions = {}): Promise<FfmpegTools> {
  const useSystem = options.useSystem ?? true;
  const ffprobe = options.ffprobePath ?? (useSystem && (await runs('ffprobe')) ? 'ffprobe' : null);
  if (options.ffmpegPath) {
    if (!(await runs(options.ffmpegPath))) {
      throw new HbiError('UNAVAILABLE', `HBI_FFMPEG_PATH=${options.ffmpegPath} does not run`);
    }
    return { ffmpeg: options.ffmpegPath, ffprobe, source: 'config' };
  }
  if (useSystem && (await runs('ffmpeg'))) return { ffmpeg: 'ffmpeg', ffprobe, source: 'system' };
  const bundled = npmFfmpegPath();
  if (bundled && (await runs(bundled))) return { ffmpeg: bundled, ffprobe, source: 'npm' };
  throw new HbiError(
    'UNAVAILABLE',
    'No ffmpeg found: install one (apt-get install ffmpeg) or reinstall node_modules',
  );
}

/** Path of the npm-shipped static ffmpeg for this platform, if installed. */
export function npmFfmpegPath(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return null;
  }
}

function runs(binary: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-version'], { stdio: 'ignore', timeout: 10_000 });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}
