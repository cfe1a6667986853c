/** Demo library clips decoded exactly as ingest decodes them: the benchmarks' real inputs. */
import path from 'node:path';

import { HbiError } from '../../core/errors.js';
import { readDemoLibrary } from '../../core/ingest/demo-library.js';
import type { ModelManifest } from '../../core/model/manifest.js';
import { decodeFrames } from '../../core/video/decode-frames.js';
import type { FfmpegTools } from '../../core/video/ffmpeg-tools.js';

export interface DemoClip {
  id: string;
  /** Absolute path of the clip's video file. */
  file: string;
  captions: readonly string[];
  /** [T, H, W, 3] RGB bytes, the `video` graph's input for one clip. */
  frames: Uint8Array;
}

/** The first `count` clips of the library at `libraryFile`, or their files only when `decode` is false. */
export async function loadDemoClips(
  libraryFile: string,
  count: number,
  options: { ffmpeg: FfmpegTools; model: ModelManifest; timeoutMs: number; decode?: boolean },
  onClip: (done: number, total: number) => void = () => undefined,
): Promise<DemoClip[]> {
  if (libraryFile === 'off')
    throw new HbiError('BAD_USER_INPUT', 'The benchmarks need the demo library (HBI_DEMO_LIBRARY)');
  const library = await readDemoLibrary(libraryFile);
  const chosen = library.clips.slice(0, count);
  if (chosen.length < count) {
    throw new HbiError(
      'BAD_USER_INPUT',
      `The demo library has ${library.clips.length} clips; ${count} were asked for`,
    );
  }
  const { dims } = options.model;
  const clips: DemoClip[] = [];
  for (const clip of chosen) {
    const file = path.resolve(path.dirname(libraryFile), clip.file);
    const frames =
      options.decode === false
        ? new Uint8Array(0)
        : (
            await decodeFrames(options.ffmpeg, {
              file,
              frames: dims.frames,
              width: dims.width,
              height: dims.height,
              timeoutMs: options.timeoutMs,
            })
          ).frames;
    clips.push({ id: clip.id, file, captions: clip.captions, frames });
    onClip(clips.length, chosen.length);
  }
  return clips;
}
