/**
 * `hbi bench encoder`: the shared encoder's throughput against a bare onnxruntime-node session running
 * the same `video` graph at the same batch size (the cost of the platform's batcher, checks and
 * copies; goal ≥ 0.9), and 64 concurrent single-clip requests with dynamic batching against the same
 * requests with batching off (goal ≥ 3×). Rounds alternate between the contenders and the median is
 * reported, so a noisy neighbour on a shared machine hits both alike.
 */
import ort from 'onnxruntime-node';

import type { Config } from '../../core/config.js';
import { EncoderService } from '../../core/encoder/encoder-service.js';
import { sessionCreateOptions } from '../../core/encoder/onnx-session.js';
import { resolveExecutionProviders } from '../../core/encoder/execution-providers.js';
import type { Logger } from '../../core/logger.js';
import { loadModelPackage } from '../../core/model/package-loader.js';
import type { ModelPackage } from '../../core/model/package-loader.js';
import { TextTokenizer } from '../../core/model/tokenizer.js';
import { locateFfmpeg } from '../../core/video/ffmpeg-tools.js';
import type { Progress } from '../progress.js';
import type { DemoClip } from './demo-clips.js';
import { loadDemoClips } from './demo-clips.js';
import type { startReport } from './report.js';
import { median, quantile, timed } from './stats.js';

export interface EncoderBenchOptions {
  /** Clips per throughput run. */
  clips: number;
  /** Batch size of both the bare session and the shared encoder's `video` batcher. */
  batch: number;
  /** Concurrent single-clip requests in the batching comparison. */
  concurrent: number;
  rounds: number;
}

/** Distinct demo clips decoded for the runs (the rest repeat them). */
const DISTINCT_CLIPS = 32;

export async function runEncoderBench(
  config: Config,
  options: EncoderBenchOptions,
  report: ReturnType<typeof startReport>,
  progress: Progress,
  logger: Logger,
): Promise<void> {
  const modelPackage = await loadModelPackage(config.modelDir);
  const ffmpeg = await locateFfmpeg({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
  const pool = await loadDemoClips(
    config.demoLibrary,
    Math.min(DISTINCT_CLIPS, options.clips),
    { ffmpeg, model: modelPackage.manifest, timeoutMs: config.decodeTimeoutMs },
    (done, total) => progress.update(done, total, 'decoding demo clips'),
  );
  const clips = Array.from({ length: options.clips }, (_, i) => pool[i % pool.length]!);
  const providers = await resolveExecutionProviders({
    requested: config.executionProviders,
    modelFile: modelPackage.file(modelPackage.graph('text')!.file),
    timeoutMs: config.gpuProbeTimeoutMs,
    logger,
  });
  const bare = await ort.InferenceSession.create(
    modelPackage.file(modelPackage.graph('video')!.file),
    sessionCreateOptions({
      executionProviders: providers,
      intraOpThreads: config.intraOpThreads,
      spinning: config.onnxSpinning,
    }),
  );
  const batched = await startEncoder(modelPackage, config, options.batch, options.clips, logger);
  const unbatched = await startEncoder(modelPackage, config, 1, options.clips, logger);
  try {
    const samples = {
      bare: [] as number[],
      bareSingle: [] as number[],
      shared: [] as number[],
      on: [] as number[],
      off: [] as number[],
      onLatency: [] as number[],
      offLatency: [] as number[],
    };
    const burst = clips.slice(0, options.concurrent);
    // One untimed pass of each: first runs allocate and compile.
    await runBare(bare, modelPackage, clips.slice(0, options.batch), options.batch);
    await Promise.all(burst.map((clip) => batched.encodeVideo(clip.frames)));
    await Promise.all(burst.map((clip) => unbatched.encodeVideo(clip.frames)));
    for (let round = 1; round <= options.rounds; round++) {
      const step = (what: string, index: number) =>
        progress.update(round - 1 + index / 5, options.rounds, `round ${round}: ${what}`);
      step('bare session', 0);
      samples.bare.push(
        clipsPerSecond(clips.length, await timed(() => runBare(bare, modelPackage, clips, options.batch))),
      );
      step('shared encoder', 1);
      samples.shared.push(
        clipsPerSecond(
          clips.length,
          await timed(() => Promise.all(clips.map((clip) => batched.encodeVideo(clip.frames)))),
        ),
      );
      step('bare session, batch 1', 2);
      samples.bareSingle.push(
        clipsPerSecond(clips.length, await timed(() => runBare(bare, modelPackage, clips, 1))),
      );
      step(`${options.concurrent} concurrent requests, batching on`, 3);
      const on = await concurrentRequests(batched, burst);
      step(`${options.concurrent} concurrent requests, batching off`, 4);
      const off = await concurrentRequests(unbatched, burst);
      samples.on.push(on.wallMs);
      samples.off.push(off.wallMs);
      samples.onLatency.push(...on.latencies);
      samples.offLatency.push(...off.latencies);
    }
    progress.finish();
    const [bareRate, sharedRate, singleRate] = [
      median(samples.bare),
      median(samples.shared),
      median(samples.bareSingle),
    ];
    report.measure(
      `bare onnxruntime-node session, batch ${options.batch}`,
      bareRate,
      'clips/s',
      `median of ${options.rounds}`,
    );
    report.measure(
      `shared encoder (platform), batch ${options.batch}`,
      sharedRate,
      'clips/s',
      `${options.clips} requests at once`,
    );
    report.measure('bare onnxruntime-node session, batch 1', singleRate, 'clips/s');
    const [onMs, offMs] = [median(samples.on), median(samples.off)];
    for (const [mode, wall, latencies] of [
      ['on', onMs, samples.onLatency],
      ['off', offMs, samples.offLatency],
    ] as const) {
      report.measure(
        `${options.concurrent} concurrent single-clip requests, batching ${mode}: all answered`,
        wall,
        'ms',
      );
      report.measure(`… batching ${mode}: request latency p50`, quantile(latencies, 0.5), 'ms');
      report.measure(`… batching ${mode}: request latency p95`, quantile(latencies, 0.95), 'ms');
    }
    report.ratio(
      `shared encoder ÷ bare session, clips/s at batch ${options.batch}`,
      sharedRate / bareRate,
      0.9,
    );
    report.ratio(`${options.concurrent} concurrent requests: batching on ÷ off, throughput`, offMs / onMs, 3);
    report.ratio(
      `bare session: batch ${options.batch} ÷ batch 1, clips/s`,
      bareRate / singleRate,
      undefined,
      'the most batching can gain on this hardware',
    );
    report.note(
      `Providers: ${providers.join(', ')}; intra-op threads: ${config.intraOpThreads || 'runtime default'}. ` +
        `The bare baseline stacks each batch into one tensor and runs the graph; the shared encoder also checks each ` +
        `request, queues it in the dynamic batcher (max delay ${config.batching.video.maxDelayMs} ms) and copies each clip's outputs out.`,
    );
  } finally {
    await bare.release();
    await batched.close();
    await unbatched.close();
  }
}

async function startEncoder(
  modelPackage: ModelPackage,
  config: Config,
  maxBatchSize: number,
  queueLimit: number,
  logger: Logger,
): Promise<EncoderService> {
  const tokenizer = await TextTokenizer.load(
    modelPackage.file(modelPackage.manifest.tokenizer.file),
    modelPackage.manifest,
  );
  const video = {
    ...config.batching.video,
    maxBatchSize,
    queueLimit: Math.max(config.batching.video.queueLimit, queueLimit),
  };
  const encoder = new EncoderService({
    modelPackage,
    tokenizer,
    config: { ...config, batching: { ...config.batching, video } },
    logger: logger.child({ component: 'encoder', maxBatchSize }),
  });
  await encoder.start();
  return encoder;
}

/** Runs `clips` through the bare session `batch` at a time, stacking each batch into one tensor. */
async function runBare(
  session: ort.InferenceSession,
  modelPackage: ModelPackage,
  clips: readonly DemoClip[],
  batch: number,
) {
  const { frames: count, height, width } = modelPackage.manifest.dims;
  const clipBytes = count * height * width * 3;
  for (let start = 0; start < clips.length; start += batch) {
    const part = clips.slice(start, start + batch);
    const frames = new Uint8Array(part.length * clipBytes);
    part.forEach((clip, i) => frames.set(clip.frames, i * clipBytes));
    await session.run({
      frames: new ort.Tensor('uint8', frames, [part.length, count, height, width, 3]),
      frame_mask: new ort.Tensor('float32', new Float32Array(part.length * count).fill(1), [
        part.length,
        count,
      ]),
    });
  }
}

/** Sends every clip as its own request at once; wall time until all answered, and each request's latency. */
async function concurrentRequests(encoder: EncoderService, clips: readonly DemoClip[]) {
  const start = performance.now();
  const latencies = await Promise.all(
    clips.map(async (clip) => {
      await encoder.encodeVideo(clip.frames);
      return performance.now() - start;
    }),
  );
  return { wallMs: performance.now() - start, latencies };
}

function clipsPerSecond(clips: number, run: { ms: number }): number {
  return (clips * 1000) / run.ms;
}
