/**
 * The encoder as a cluster gateway sees it: the model package's identity (id, graphs, tokenizer) for
 * the API's `model` and `health` fields, but no ONNX session. Inference belongs to worker processes,
 * reached through the task dispatcher, so every inference call here is a bug and fails with INTERNAL.
 */
import { HbiError } from '../errors.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { EncoderState, SharedEncoder, TensorMap, TextEncoding, VideoEncoding } from './types.js';

export class RemoteEncoder implements SharedEncoder {
  readonly modelId: string;
  readonly graphs: readonly string[];
  readonly tokenizer: TextTokenizer;
  /** `ready` from the start: the gateway is ready once its task dispatcher is connected. */
  readonly state: EncoderState = { status: 'ready', providers: ['workers'], readyAt: new Date() };

  constructor(identity: { modelId: string; graphs: readonly string[]; tokenizer: TextTokenizer }) {
    this.modelId = identity.modelId;
    this.graphs = identity.graphs;
    this.tokenizer = identity.tokenizer;
  }

  encodeVideo(): Promise<VideoEncoding> {
    return Promise.reject(notHere('encodeVideo'));
  }

  encodeText(): Promise<TextEncoding> {
    return Promise.reject(notHere('encodeText'));
  }

  interaction(): Promise<Float32Array> {
    return Promise.reject(notHere('interaction'));
  }

  runGraph(): Promise<TensorMap> {
    return Promise.reject(notHere('runGraph'));
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function notHere(method: string): HbiError {
  return new HbiError('INTERNAL', `encoder.${method} called in a gateway process: inference runs on workers`);
}
