/**
 * Finds ffmpeg and ffprobe: the configured paths (HBI_FFMPEG_PATH, HBI_FFPROBE_PATH) first, then the
 * system's (on PATH: Debian's `ffmpeg` package, which `bash infra/system-packages.sh install` installs).
 * There is no bundled fallback: ffmpeg parses every uploaded video, so it must be a maintained build
 * that gets security updates with the system.
 */
import { spawn } from 'node:child_process';

import { HbiError } from '../errors.js';

export interface FfmpegTools {
  ffmpeg: string;
  /** Null when only ffmpeg is available (probing then parses `ffmpeg -i`). */
  ffprobe: string | null;
  /** Where ffmpeg came from, for logs and `health`. */
  source: 'config' | 'system';
}

export interface LocateOptions {
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
  /** The command names looked up on PATH (tests point them at missing ones). */
  systemNames?: { ffmpeg: string; ffprobe: string };
}

/** What to do when no ffmpeg runs, said in every refusal. */
export const INSTALL_FFMPEG =
  'install the system ffmpeg with `bash infra/system-packages.sh install` (Debian: apt-get install ffmpeg), or point HBI_FFMPEG_PATH and HBI_FFPROBE_PATH at a maintained build';

/** Resolves the binaries once at start; throws UNAVAILABLE, naming the fix, when no ffmpeg runs at all. */
export async function locateFfmpeg(options: LocateOptions = {}): Promise<FfmpegTools> {
  const names = options.systemNames ?? { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };
  const ffprobe = options.ffprobePath ?? ((await runs(names.ffprobe)) ? names.ffprobe : null);
  if (options.ffmpegPath) {
    if (!(await runs(options.ffmpegPath))) {
      throw new HbiError(
        'UNAVAILABLE',
        `HBI_FFMPEG_PATH=${options.ffmpegPath} does not run: ${INSTALL_FFMPEG}`,
      );
    }
    return { ffmpeg: options.ffmpegPath, ffprobe, source: 'config' };
  }
  if (await runs(names.ffmpeg)) return { ffmpeg: names.ffmpeg, ffprobe, source: 'system' };
  throw new HbiError('UNAVAILABLE', `No ffmpeg found on PATH: ${INSTALL_FFMPEG}`);
}

function runs(binary: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-version'], { stdio: 'ignore', timeout: 10_000 });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}
