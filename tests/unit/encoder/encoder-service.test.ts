import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/core/config.js';
import { EncoderService } from '../../../src/core/encoder/encoder-service.js';
import type { EncoderServiceOptions } from '../../../src/core/encoder/encoder-service.js';
import type { InferenceRunner } from '../../../src/core/encoder/onnx-session.js';
import { openOnnxSession, sessionCreateOptions } from '../../../src/core/encoder/onnx-session.js';
import type { TensorMap } from '../../../src/core/encoder/types.js';
import type { HbiError } from '../../../src/core/errors.js';
import { createMemoryLogger } from '../../../src/core/logger.js';
import { loadModelPackage } from '../../../src/core/model/package-loader.js';
import { TextTokenizer } from '../../../src/core/model/tokenizer.js';
import { TINY_PACKAGE } from '../../helpers/fixtures.js';

// Fixture maths (tests/fixtures/onnx/make-fixtures.py): D=4, T=2, H=W=4, L=6, vocab 14.
const EMBED = (id: number) => [id / 10, 0.1, (id % 3) / 10, -0.1];
const close = (actual: ArrayLike<number>, expected: number[]) =>
  expect(Array.from(actual).map((v) => Number(v.toFixed(5)))).toEqual(
    expected.map((v) => Number(v.toFixed(5))),
  );

let services: EncoderService[] = [];
afterEach(async () => {
  await Promise.all(services.map((service) => service.close()));
  services = [];
});

interface Recorded {
  graph: string;
  batch: number;
  status: string;
}

async function startEncoder(
  env: Record<string, string> = {},
  overrides: Partial<EncoderServiceOptions> = {},
) {
  const modelPackage = await loadModelPackage(TINY_PACKAGE);
  const tokenizer = await TextTokenizer.load(
    path.join(TINY_PACKAGE, 'tokenizer.json'),
    modelPackage.manifest,
  );
  const logger = createMemoryLogger();
  const runs: Recorded[] = [];
  // Wraps real sessions to record each run's batch size and the encoder state at that moment.
  const openSession = async (
    file: string,
    options: Parameters<typeof openOnnxSession>[1],
  ): Promise<InferenceRunner> => {
    const session = await openOnnxSession(file, options);
    const graph = path.basename(file, '.onnx');
    return {
      inputs: session.inputs,
      outputs: session.outputs,
      release: () => session.release(),
      run: (feeds: TensorMap) => {
        runs.push({ graph, batch: Object.values(feeds)[0]!.dims[0]!, status: service.state.status });
        return session.run(feeds);
      },
    };
  };
  const service: EncoderService = new EncoderService({
    modelPackage,
    tokenizer,
    config: loadConfig(env),
    logger,
    openSession,
    ...overrides,
  });
  services.push(service);
  return { service, logger, runs, start: () => service.start() };
}

const frames = (value: number) => new Uint8Array(2 * 4 * 4 * 3).fill(value);

describe('EncoderService lifecycle', () => {
  it('refuses work with a retriable MODEL_NOT_READY until warm-up is done', async () => {
    const { service, start, runs } = await startEncoder();
    const early = await service.encodeVideo(frames(0)).catch((error: HbiError) => error);
    expect((early as HbiError).code).toBe('MODEL_NOT_READY');
    expect((early as HbiError).retriable).toBe(true);
    await start();
    expect(service.state).toMatchObject({ status: 'ready', providers: ['cpu'] });
    // One warm-up run per graph, all before the encoder said it was ready.
    expect(runs.map((run) => run.graph).sort()).toEqual(['caption', 'interaction', 'qa', 'text', 'video']);
    expect(runs.every((run) => run.status === 'warming')).toBe(true);
  });

  it('after close, rejects new work', async () => {
    const { service, start } = await startEncoder();
    await start();
    await service.close();
    expect(service.state.status).toBe('closed');
    await expect(service.encodeText('a dog')).rejects.toMatchObject({ code: 'MODEL_NOT_READY' });
  });

  it('fails start when a live session disagrees with the manifest', async () => {
    const liar: InferenceRunner = {
      inputs: [{ name: 'pixels', dtype: 'uint8', shape: ['B', 2, 4, 4, 3] }],
      outputs: [],
      run: async () => ({}),
      release: async () => {},
    };
    const { service, start } = await startEncoder({}, { openSession: async () => liar });
    await expect(start()).rejects.toMatchObject({ code: 'MODEL_PACKAGE_INVALID' });
    expect(service.state.status).toBe('failed');
    await expect(service.encodeText('a')).rejects.toMatchObject({
      code: 'MODEL_NOT_READY',
      retriable: false,
    });
  });

  it('falls back to cpu with a clear log line when a GPU provider fails its child-process probe', async () => {
    const { service, start, logger } = await startEncoder({ HBI_EXECUTION_PROVIDERS: 'cuda,cpu' });
    await start();
    expect(service.state).toMatchObject({ status: 'ready', providers: ['cpu'] });
    const line = logger.records.find((record) => record.level === 'warn')!;
    expect(line.message).toMatch(/^execution provider "cuda" is unavailable \(.+\); falling back to cpu$/);
  });
});

describe('EncoderService inference (real onnxruntime sessions)', () => {
  it('encodes a clip into frame tokens, weights and an L2-normalised embedding', async () => {
    const { service, start } = await startEncoder();
    await start();
    const encoded = await service.encodeVideo(frames(255));
    // Every pixel white: RGB mean 1 → token [1,1,1,1+1+1+0.5]; embedding = normalised sum of both frames.
    close(encoded.frameTokens, [1, 1, 1, 3.5, 1, 1, 1, 3.5]);
    close(encoded.frameWeights, [1, 1]);
    const norm = Math.sqrt(4 + 4 + 4 + 49);
    close(encoded.embedding, [2 / norm, 2 / norm, 2 / norm, 7 / norm]);
  });

  it('encodes a text and reports unknown words', async () => {
    const { service, start } = await startEncoder();
    await start();
    const encoded = await service.encodeText('a red zebra');
    // ids: [BOS]=2 a=4 red=5 [UNK]=1 [EOS]=3 [PAD]=0
    const ids = [2, 4, 5, 1, 3, 0];
    close(encoded.wordTokens, ids.flatMap(EMBED));
    close(encoded.wordMask, [1, 1, 1, 1, 1, 0]);
    expect(encoded.unknownWords).toEqual(['zebra']);
    const sum = [0, 1, 2, 3].map((d) => ids.slice(0, 5).reduce((acc, id) => acc + EMBED(id)[d]!, 0));
    const norm = Math.hypot(...sum);
    close(
      encoded.embedding,
      sum.map((v) => v / norm),
    );
  });

  it('batches concurrent requests into one run', async () => {
    const { service, start, runs } = await startEncoder({ HBI_BATCH_MAX_DELAY_MS: '50' });
    await start();
    runs.length = 0;
    const results = await Promise.all([0, 51, 102, 255].map((value) => service.encodeVideo(frames(value))));
    expect(runs).toEqual([{ graph: 'video', batch: 4, status: 'ready' }]);
    close(results[1]!.frameTokens.subarray(0, 3), [0.2, 0.2, 0.2]);
  });

  it('isolates a request that fails at run time: its neighbours in the batch still succeed', async () => {
    const { service, start } = await startEncoder({ HBI_BATCH_MAX_DELAY_MS: '50' });
    await start();
    const text = (firstId: bigint) => ({
      input_ids: {
        dtype: 'int64' as const,
        dims: [6],
        data: BigInt64Array.from([2n, firstId, 3n, 0n, 0n, 0n]),
      },
      attention_mask: {
        dtype: 'int64' as const,
        dims: [6],
        data: BigInt64Array.from([1n, 1n, 1n, 0n, 0n, 0n]),
      },
    });
    // Id 999 is outside the 14-word vocabulary: the Gather node fails for that request only.
    const results = await Promise.allSettled([
      service.runGraph('text', text(4n)),
      service.runGraph('text', text(999n)),
      service.runGraph('text', text(5n)),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INFERENCE_FAILED' });
    const first = (results[0] as PromiseFulfilledResult<TensorMap>).value;
    close(first.word_tokens!.data as Float32Array, [2, 4, 3, 0, 0, 0].flatMap(EMBED));
  });

  it('rejects a malformed request on its own with BAD_USER_INPUT', async () => {
    const { service, start } = await startEncoder();
    await start();
    const wrongSize = service.encodeVideo(new Uint8Array(10));
    await expect(wrongSize).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(
      service.runGraph('video', {
        frames: { dtype: 'float32', dims: [2, 4, 4, 3], data: new Float32Array(96) },
      }),
    ).rejects.toThrow(/missing tensor "frame_mask"|"frames" is float32/);
    await expect(service.runGraph('moments', {})).rejects.toMatchObject({ code: 'MODEL_GRAPH_MISSING' });
  });

  it('runs the interaction graph on whole [Q…] and [V…] tensors', async () => {
    const { service, start } = await startEncoder();
    await start();
    const [text] = await Promise.all([service.encodeText('a dog')]);
    const [clipA, clipB] = await Promise.all([
      service.encodeVideo(frames(0)),
      service.encodeVideo(frames(255)),
    ]);
    const f32 = (dims: number[], ...parts: Float32Array[]) => ({
      dtype: 'float32' as const,
      dims,
      data: Float32Array.from(parts.flatMap((part) => Array.from(part))),
    });
    const out = await service.runGraph('interaction', {
      word_tokens: f32([1, 6, 4], text.wordTokens),
      word_weights: f32([1, 6], text.wordWeights),
      word_mask: f32([1, 6], text.wordMask),
      frame_tokens: f32([2, 2, 4], clipA.frameTokens, clipB.frameTokens),
      frame_weights: f32([2, 2], clipA.frameWeights, clipB.frameWeights),
      frame_mask: f32([2, 2], clipA.frameMask, clipB.frameMask),
    });
    expect(out.scores!.dims).toEqual([1, 2]);
    // q = sum of BOS,a,dog,EOS tokens; f = sum over the 2 frames.
    const q = [0, 1, 2, 3].map((d) => [2, 4, 7, 3].reduce((acc, id) => acc + EMBED(id)[d]!, 0));
    const dot = (f: number[]) => f.reduce((acc, v, d) => acc + v * q[d]!, 0);
    close(out.scores!.data as Float32Array, [dot([0, 0, 0, 1]), dot([2, 2, 2, 7])]);
  });

  it('runs caption requests of different lengths in separate batches', async () => {
    const { service, start, runs } = await startEncoder({ HBI_BATCH_MAX_DELAY_MS: '30' });
    await start();
    runs.length = 0;
    const clip = await service.encodeVideo(frames(0));
    runs.length = 0;
    const request = (tokens: bigint[]) =>
      service.runGraph('caption', {
        frame_tokens: { dtype: 'float32', dims: [2, 4], data: clip.frameTokens },
        frame_mask: { dtype: 'float32', dims: [2], data: clip.frameMask },
        tokens: { dtype: 'int64', dims: [tokens.length], data: BigInt64Array.from(tokens) },
      });
    const [short, long, short2] = await Promise.all([request([2n]), request([2n, 4n, 7n]), request([2n])]);
    expect(short.logits!.dims).toEqual([1, 14]);
    expect(long.logits!.dims).toEqual([3, 14]);
    expect(short2.logits!.data).toEqual(short.logits!.data);
    expect(runs.map((run) => run.batch).sort()).toEqual([1, 2]);
  });
});

describe('ONNX Runtime thread spinning (HBI_ONNX_SPINNING)', () => {
  it('opens every session without spinning by default, with it when asked', async () => {
    for (const [env, expected] of [
      [{}, false],
      [{ HBI_ONNX_SPINNING: 'true' }, true],
    ] as const) {
      const seen: (boolean | undefined)[] = [];
      const { start } = await startEncoder(env, {
        openSession: (file, options) => {
          seen.push(options.spinning);
          return openOnnxSession(file, options);
        },
      });
      await start();
      expect(seen).toHaveLength(5);
      expect(seen.every((spinning) => spinning === expected)).toBe(true);
    }
  });

  it("turns into the runtime's allow_spinning entries for both thread pools", () => {
    const off = sessionCreateOptions({ executionProviders: ['cpu'], intraOpThreads: 2 });
    expect(off).toMatchObject({
      executionProviders: ['cpu'],
      intraOpNumThreads: 2,
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    const on = sessionCreateOptions({ executionProviders: ['cpu'], intraOpThreads: 0, spinning: true });
    expect(on.extra).toEqual({
      session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '1' } },
    });
    expect(on).not.toHaveProperty('intraOpNumThreads');
  });
});
