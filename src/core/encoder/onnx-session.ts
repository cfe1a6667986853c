/**
 * The only module that touches onnxruntime-node: opens an InferenceSession and converts between its
 * tensors and host tensors. Everything else depends on the small `InferenceRunner` interface, so tests
 * can substitute fakes and a GPU provider can be swapped in by config.
 */
import ort from 'onnxruntime-node';

import type { TensorDtype } from '../model/manifest.js';
import type { DeclaredTensor } from '../model/onnx-signature.js';
import type { HostTensor, TensorMap } from './types.js';

/** One loaded graph. `run` is called by one batcher at a time. */
export interface InferenceRunner {
  readonly inputs: readonly DeclaredTensor[];
  readonly outputs: readonly DeclaredTensor[];
  run(feeds: TensorMap): Promise<TensorMap>;
  release(): Promise<void>;
}

export interface SessionOptions {
  executionProviders: readonly string[];
  /** 0 leaves the runtime's default. */
  intraOpThreads: number;
  /** Let the runtime's thread pools busy-wait between runs (HBI_ONNX_SPINNING). Default false. */
  spinning?: boolean;
}

/**
 * The runtime's session options for `options`: every session this platform opens (and the encoder
 * benchmark's bare one) is made with these. Spinning is off unless asked for: a spinning pool keeps
 * its threads busy for a while after each run, CPU that ffmpeg and the database need during ingest.
 */
export function sessionCreateOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  const spin = options.spinning === true ? '1' : '0';
  return {
    executionProviders: [...options.executionProviders],
    graphOptimizationLevel: 'all',
    // Native warnings (e.g. pruned initializers) bypass our logger; keep only errors on stderr.
    logSeverityLevel: 3,
    ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}

/** Opens `file` with the given providers (already probed; see execution-providers.ts). */
export async function openOnnxSession(file: string, options: SessionOptions): Promise<InferenceRunner> {
  const session = await ort.InferenceSession.create(file, sessionCreateOptions(options));
  const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]): DeclaredTensor[] =>
    meta.map((value) => ({
      name: value.name,
      dtype: value.isTensor ? ((value.type as TensorDtype) ?? null) : null,
      shape: value.isTensor
        ? value.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : String(dim)))
        : [],
    }));
  return {
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
    async run(feeds: TensorMap): Promise<TensorMap> {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor(tensor.dtype, tensor.data as never, [...tensor.dims]);
      }
      const results = await session.run(ortFeeds);
      const outputs: Record<string, HostTensor> = {};
      for (const [name, tensor] of Object.entries(results)) {
        outputs[name] = {
          dtype: tensor.type as TensorDtype,
          dims: [...tensor.dims],
          data: tensor.data as HostTensor['data'],
        };
      }
      return outputs;
    },
    release: () => session.release(),
  };
}

/** Providers compiled into this onnxruntime-node build (e.g. cpu, webgpu); cuda appears only when installed. */
export function bundledBackends(): string[] {
  return ort.listSupportedBackends().map((backend) => backend.name);
}
