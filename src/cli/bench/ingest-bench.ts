/**
 * `hbi bench ingest`: end-to-end ingest throughput (segments/s from file to searchable rows) against the
 * encoder alone on the same segments, and where the time goes. Two passes over the same demo clips,
 * each on a fresh embedded database:
 *   1. one video at a time: its probe and decode alone (the same ffmpeg calls ingest makes, which also
 *      give the frames for the encoder-alone runs), then the video end to end with the encoder,
 *      database and object store timed by wrappers; the end-to-end time minus the stages is the rest
 *      (hashing, validation, events, bookkeeping);
 *   2. `--concurrency` videos at a time end to end, as the demo library is indexed: twice, indexing alone
 *      and then with the media a server makes (a thumbnail per segment and a poster), for their cost.
 * The encoder alone runs every segment one at a time, then all at once (its batched best case).
 * Then a long recording (`--long-minutes` of 720p at 30 fps, generated: a 60 s clip joined with the concat
 * demuxer) is ingested end to end and, in the same run, decoded alone by the very ffmpeg command ingest
 * runs (output read and discarded): ingest ÷ decode-only throughput, and the 720p cameras with 10 s
 * segments one node keeps up with; and the command ingest runs over the first 20 s with and without the
 * thumbnail outputs (A B B A), wall and CPU time.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { Config } from '../../core/config.js';
import type { Relational, RelationalDatabase } from '../../core/db/relational.js';
import type { SharedEncoder } from '../../core/encoder/types.js';
import { VideoIngestor } from '../../core/ingest/video-ingestor.js';
import type { Kernel } from '../../core/kernel.js';
import { bootKernel } from '../../core/kernel.js';
import type { Logger } from '../../core/logger.js';
import type { ObjectStore } from '../../core/storage/port.js';
import { mapConcurrent } from '../../core/util/map-concurrent.js';
import { MediaMaker } from '../../core/media/media-maker.js';
import { processDecodeSlots } from '../../core/video/decode-slots.js';
import { decodeFrames } from '../../core/video/decode-frames.js';
import { videoDecodeArgs } from '../../core/video/decode-segments.js';
import { thumbnailFilter, thumbnailScript } from '../../core/video/preview-outputs.js';
import { runProcess } from '../../core/video/run-process.js';
import { probeVideo } from '../../core/video/probe.js';
import { planSegments } from '../../core/video/segments.js';
import { validateVideo } from '../../core/video/validate.js';
import type { Progress } from '../progress.js';
import type { DemoClip } from './demo-clips.js';
import { loadDemoClips } from './demo-clips.js';
import type { startReport } from './report.js';
import { timed } from './stats.js';

export interface IngestBenchOptions {
  /** Demo clips ingested (each a video of its own). */
  videos: number;
  /** Videos ingested at once in the concurrent pass. */
  concurrency: number;
  /** Minutes of the generated 720p 30 fps recording (0: no long-recording pass). */
  longMinutes: number;
}

/** Milliseconds spent inside calls of one service, summed. */
class Stopwatch {
  ms = 0;
  calls = 0;
  async time<T>(work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work();
    } finally {
      this.ms += performance.now() - start;
      this.calls++;
    }
  }
}

export async function runIngestBench(
  config: Config,
  options: IngestBenchOptions,
  report: ReturnType<typeof startReport>,
  progress: Progress,
  logger: Logger,
): Promise<void> {
  const sequential = await withKernel(config, logger, async (kernel) => {
    const clips = await loadDemoClips(config.demoLibrary, options.videos, {
      ffmpeg: kernel.ffmpeg,
      model: kernel.modelPackage.manifest,
      timeoutMs: config.decodeTimeoutMs,
      decode: false,
    });
    const watches = {
      probe: new Stopwatch(),
      decode: new Stopwatch(),
      endToEnd: new Stopwatch(),
      encode: new Stopwatch(),
      db: new Stopwatch(),
      store: new Stopwatch(),
    };
    const ingestor = new VideoIngestor({
      ...kernel,
      encoder: timedMethods<SharedEncoder>(kernel.encoder, ['encodeVideo'], watches.encode),
      // A transaction is timed as a whole: its statements run on `tx`, which is not wrapped.
      db: {
        ...timedMethods<RelationalDatabase>(kernel.db, ['query', 'exec', 'transaction'], watches.db),
        // Prisma's operations (the video and job rows) count as database time too.
        prisma: kernel.db.prisma.$extends({
          query: { $allOperations: ({ args, query }) => watches.db.time(() => query(args)) },
        }) as unknown as Relational,
      },
      storage: timedMethods<ObjectStore>(kernel.storage, ['put', 'head', 'get', 'localPath'], watches.store),
      model: kernel.modelPackage.manifest,
    });
    const frames: Uint8Array[] = [];
    let segments = 0;
    for (const [i, clip] of clips.entries()) {
      progress.update(i, clips.length, 'one video at a time');
      frames.push(...(await probeAndDecode(kernel, clip, watches)));
      segments += (
        await watches.endToEnd.time(() => ingestor.ingestFile({ file: clip.file, title: clip.id }))
      ).segments;
    }
    progress.update(0, 0, 'encoder alone');
    const one = await timed(async () => {
      for (const clip of frames) await kernel.encoder.encodeVideo(clip);
    });
    const all = await timed(() => Promise.all(frames.map((clip) => kernel.encoder.encodeVideo(clip))));
    return { clips, segments, watches, encodeOneMs: one.ms, encodeAllMs: all.ms };
  });
  // The concurrent pass twice, each on a fresh database: indexing alone, then with the media a server
  // makes (thumbnails, poster; the demo clips are H.264 MP4, so no rendition), for the cost of media.
  const concurrentPass = (withMedia: boolean) =>
    withKernel(config, logger, async (kernel) => {
      const ingestor = new VideoIngestor({
        ...kernel,
        model: kernel.modelPackage.manifest,
        ...(withMedia ? { media: benchMediaMaker(kernel, logger) } : {}),
      });
      const what = `${options.concurrency} videos at a time${withMedia ? ', with media' : ''}`;
      return timed(() =>
        mapConcurrent(sequential.clips, options.concurrency, async (clip, i) => {
          progress.update(i, sequential.clips.length, what);
          return ingestor.ingestFile({ file: clip.file, title: clip.id });
        }),
      );
    });
  // A B B A: without, with, with, without, so a machine that speeds up or slows down during the run
  // (other processes) weighs on both sides alike.
  const passes: { withMedia: boolean; ms: number }[] = [];
  for (const withMedia of [false, true, true, false])
    passes.push({ withMedia, ...(await concurrentPass(withMedia)) });
  const meanMs = (withMedia: boolean) => {
    const chosen = passes.filter((pass) => pass.withMedia === withMedia);
    return chosen.reduce((sum, pass) => sum + pass.ms, 0) / chosen.length;
  };
  const concurrent = { ms: meanMs(false) };
  const concurrentWithMedia = { ms: meanMs(true) };
  const long =
    options.longMinutes > 0 ? await longRecording(config, options.longMinutes, progress, logger) : null;
  progress.finish();

  const { segments, watches } = sequential;
  const rate = (ms: number) => (segments * 1000) / ms;
  const endToEndMs = watches.endToEnd.ms;
  report.measure('videos', sequential.clips.length, 'videos', 'demo clips, 3 s each');
  report.measure(
    'segments',
    segments,
    'segments',
    `window ${config.segmentWindowMs} ms, overlap ${config.segmentOverlapMs} ms`,
  );
  report.measure(
    `end to end, ${options.concurrency} videos at a time`,
    rate(concurrent.ms),
    'segments/s',
    'mean of the 2 passes without media',
  );
  report.measure(
    `end to end with media (thumbnails, poster), ${options.concurrency} videos at a time`,
    rate(concurrentWithMedia.ms),
    'segments/s',
    'HBI_MEDIA_PREVIEWS=on, the default; mean of 2 passes, run between the 2 without',
  );
  report.measure('end to end, one video at a time', rate(endToEndMs), 'segments/s');
  report.measure(
    'encoder alone, all segments at once',
    rate(sequential.encodeAllMs),
    'segments/s',
    'batched by the shared encoder',
  );
  report.measure('encoder alone, one segment at a time', rate(sequential.encodeOneMs), 'segments/s');
  const stages: [string, Stopwatch][] = [
    ['probe (ffprobe or ffmpeg -i, run alone)', watches.probe],
    ['decode (ffmpeg, run alone)', watches.decode],
    ['encode (shared encoder)', watches.encode],
    ['database', watches.db],
    ['object store', watches.store],
  ];
  const rest = endToEndMs - stages.reduce((sum, [, watch]) => sum + watch.ms, 0);
  report.measure('time per segment: end to end', endToEndMs / segments, 'ms', 'one video at a time');
  for (const [stage, watch] of stages) {
    report.measure(
      `time per segment: ${stage}`,
      watch.ms / segments,
      'ms',
      `${Math.round((100 * watch.ms) / endToEndMs)}% of end to end; ${watch.calls} calls`,
    );
  }
  report.measure(
    'time per segment: the rest (hashing, validation, events; and timing noise)',
    rest / segments,
    'ms',
    `${Math.round((100 * rest) / endToEndMs)}% of end to end; end to end minus the stages above`,
  );
  report.ratio(
    `end to end (${options.concurrency} at a time) ÷ encoder alone (all at once), segments/s`,
    sequential.encodeAllMs / concurrent.ms,
  );
  report.ratio(
    `end to end with media ÷ without (${options.concurrency} at a time), segments/s`,
    concurrent.ms / concurrentWithMedia.ms,
  );
  report.ratio(
    'end to end ÷ encoder alone, both one at a time, segments/s',
    sequential.encodeOneMs / endToEndMs,
  );
  if (long) {
    const decodeRate = (long.segments * 1000) / long.decodeMs;
    const ingestRate = (long.segments * 1000) / long.ingestMs;
    const what = `${options.longMinutes} min 720p 30 fps recording`;
    report.measure(`${what}: segments`, long.segments, 'segments', `${long.frames} frames decoded`);
    report.measure(
      `${what}: ffmpeg decode alone`,
      decodeRate,
      'segments/s',
      `${Math.round((long.frames * 1000) / long.decodeMs)} frames/s; the command ingest runs, output discarded`,
    );
    report.measure(
      `${what}: end to end`,
      ingestRate,
      'segments/s',
      `${Math.round((long.frames * 1000) / long.ingestMs)} frames/s`,
    );
    report.ratio(
      `first 20 s of the 720p recording: ffmpeg decode alone with thumbnail outputs ÷ without, CPU time`,
      long.previewCpuRatio,
    );
    report.ratio(
      `first 20 s of the 720p recording: ffmpeg decode alone with thumbnail outputs ÷ without, wall time`,
      long.previewWallRatio,
    );
    report.measure(`${what}: ingest peak RSS`, long.maxRssMb, 'MiB', 'the whole bench process so far');
    report.measure(
      '720p cameras with 10 s segments one node keeps up with',
      ingestRate / 0.1,
      'cameras',
      'end-to-end segments/s ÷ 0.1 (one 10 s segment per camera every 10 s)',
    );
    report.ratio(`${what}: end to end ÷ ffmpeg decode alone, segments/s`, long.decodeMs / long.ingestMs, 0.8);
  }
  report.note(
    'Each pass starts from an empty embedded database (PGlite) and object folder in a temporary directory. ' +
      'Probe and decode are timed on their own just before each video is ingested (ingest runs the same ffmpeg ' +
      'calls on its stored copy), so on a noisy machine the rest can come out slightly off, even below zero.',
  );
}

/**
 * Generates a `minutes`-long 720p 30 fps recording, decodes it alone with the command ingest runs (output
 * read and discarded), then ingests it end to end on a fresh database.
 */
async function longRecording(
  config: Config,
  minutes: number,
  progress: Progress,
  logger: Logger,
): Promise<{
  /** ffmpeg decode alone with the preview outputs ÷ without: wall time, CPU time (NaN where unknown). */
  previewWallRatio: number;
  previewCpuRatio: number;
  segments: number;
  frames: number;
  decodeMs: number;
  ingestMs: number;
  maxRssMb: number;
}> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hbi-bench-long-'));
  try {
    const file = path.join(dir, 'recording.mp4');
    const measured = await withKernel(config, logger, async (kernel) => {
      const { ffmpeg } = kernel.ffmpeg;
      progress.update(0, 0, `generating a ${minutes} min 720p 30 fps recording`);
      const part = path.join(dir, 'minute.mp4');
      await runTool(ffmpeg, [
        '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '60',
        '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', part,
      ]); // prettier-ignore
      const list = path.join(dir, 'minutes.txt');
      await writeFile(list, `file '${part}'\n`.repeat(minutes));
      await runTool(ffmpeg, [
        '-v',
        'error',
        '-y',
        '-f',
        'concat',
        '-safe',
        '0',
        '-i',
        list,
        '-c',
        'copy',
        file,
      ]);
      const { dims } = kernel.modelPackage.manifest;
      const probe = validateVideo(
        await probeVideo(file, kernel.ffmpeg, config.decodeTimeoutMs, config.allowedContainers),
        config,
      );
      const spans = planSegments(probe.durationMs, config.segmentWindowMs, config.segmentOverlapMs);
      progress.update(0, 0, 'ffmpeg decode alone');
      let bytes = 0;
      const decode = await timed(() =>
        runProcess(
          ffmpeg,
          videoDecodeArgs({
            file,
            spans,
            width: dims.width,
            height: dims.height,
            containers: config.allowedContainers,
          }),
          { timeoutMs: 3_600_000, onStdout: (chunk) => ((bytes += chunk.length), true) },
        ),
      );
      if (decode.value.code !== 0) throw new Error(`ffmpeg failed: ${decode.value.stderr.slice(-500)}`);
      // The command over the first 20 s (the pass stops once its last window closes), with and without
      // the preview outputs ingest adds (thumbnails, poster), A B B A: wall time, and the CPU time ffmpeg
      // used (Linux: the reaped children's, from /proc/self/stat). Cheap whatever --long-minutes says.
      progress.update(0, 0, 'ffmpeg decode of 20 s, with and without thumbnails');
      const shortSpans = planSegments(20_000, config.segmentWindowMs, config.segmentOverlapMs);
      const decodeOnce = async (withPreviews: boolean) => {
        const outDir = await mkdtemp(path.join(dir, 'previews-'));
        const spansArgs = {
          file: part,
          spans: shortSpans,
          width: dims.width,
          height: dims.height,
          containers: config.allowedContainers,
        };
        if (withPreviews) await writeFile(thumbnailScript({ outDir }), thumbnailFilter(shortSpans));
        const cpuBefore = childrenCpuMs();
        const run = await timed(() =>
          runProcess(
            ffmpeg,
            videoDecodeArgs({ ...spansArgs, ...(withPreviews ? { previews: { outDir } } : {}) }),
            {
              timeoutMs: 3_600_000,
              onStdout: () => true,
            },
          ),
        );
        if (run.value.code !== 0) throw new Error(`ffmpeg failed: ${run.value.stderr.slice(-500)}`);
        const cpuAfter = childrenCpuMs();
        return {
          withPreviews,
          wallMs: run.ms,
          cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
        };
      };
      const decodes: { withPreviews: boolean; wallMs: number; cpuMs: number | null }[] = [];
      for (const withPreviews of [false, true, true, false]) decodes.push(await decodeOnce(withPreviews));
      const previewCost = (pick: (run: (typeof decodes)[number]) => number | null) => {
        const sum = (withPreviews: boolean) =>
          decodes
            .filter((run) => run.withPreviews === withPreviews)
            .reduce((total, run) => total + (pick(run) ?? NaN), 0);
        return sum(true) / sum(false);
      };
      progress.update(0, 0, 'end to end');
      const ingestor = new VideoIngestor({ ...kernel, model: kernel.modelPackage.manifest });
      const ingest = await timed(() => ingestor.ingestFile({ file, title: 'long recording' }));
      return {
        previewWallRatio: previewCost((run) => run.wallMs),
        previewCpuRatio: previewCost((run) => run.cpuMs),
        segments: ingest.value.segments,
        frames: bytes / (dims.width * dims.height * 3),
        decodeMs: decode.ms,
        ingestMs: ingest.ms,
      };
    });
    return { ...measured, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU time (user + system) of this process's finished children, in ms; null off Linux. */
function childrenCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name: state is field 3; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks * 10 : null; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** The media maker a server's library builds (library.ts), on the bench's kernel. */
function benchMediaMaker(kernel: Kernel, logger: Logger): MediaMaker {
  return new MediaMaker({
    config: kernel.config,
    storage: kernel.storage,
    ffmpeg: kernel.ffmpeg,
    logger,
    decodeSlots: processDecodeSlots(kernel.config.maxConcurrentDecodes),
  });
}

/** Runs a tool to completion; throws with its stderr when it fails. */
async function runTool(command: string, args: string[]): Promise<void> {
  const result = await runProcess(command, args, { timeoutMs: 1_800_000 });
  if (result.code !== 0) throw new Error(`${command} failed: ${result.stderr}`);
}

/** Probes and decodes one clip's segments as ingest does; returns the frames of each segment. */
async function probeAndDecode(
  kernel: Kernel,
  clip: DemoClip,
  watches: { probe: Stopwatch; decode: Stopwatch },
): Promise<Uint8Array[]> {
  const { config, ffmpeg } = kernel;
  const { dims } = kernel.modelPackage.manifest;
  const probe = await watches.probe.time(() =>
    probeVideo(clip.file, ffmpeg, config.decodeTimeoutMs, config.allowedContainers),
  );
  const { durationMs } = validateVideo(probe, config);
  const spans = planSegments(durationMs, config.segmentWindowMs, config.segmentOverlapMs);
  const frames: Uint8Array[] = [];
  for (const span of spans) {
    const decoded = await watches.decode.time(() =>
      decodeFrames(ffmpeg, {
        file: clip.file,
        frames: dims.frames,
        width: dims.width,
        height: dims.height,
        timeoutMs: config.decodeTimeoutMs,
        containers: config.allowedContainers,
        // A single-segment video is decoded whole, as ingest does.
        ...(spans.length === 1 ? {} : { startMs: span.startMs, durationMs: span.endMs - span.startMs }),
      }),
    );
    frames.push(decoded.frames);
  }
  return frames;
}

/** Boots a kernel on a fresh temporary data folder, runs `work`, and removes everything. */
async function withKernel<T>(
  config: Config,
  logger: Logger,
  work: (kernel: Kernel) => Promise<T>,
): Promise<T> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hbi-bench-ingest-'));
  const kernel = await bootKernel({ ...config, dataDir }, logger);
  try {
    return await work(kernel);
  } finally {
    await kernel.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** `target` with the named methods timed by `watch`; a Proxy, so private fields and other members keep working. */
function timedMethods<T extends object>(target: T, methods: readonly (keyof T)[], watch: Stopwatch): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(object);
      return methods.includes(property as keyof T)
        ? (...args: unknown[]) => watch.time(() => Promise.resolve(bound(...args)))
        : bound;
    },
  });
}
