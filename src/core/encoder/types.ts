/**
 * The shared encoder as plugins see it: one per process, built by the kernel, handed to every plugin.
 * Tensors cross this boundary as plain typed arrays with dims (row-major), never as runtime objects,
 * so plugins and tests need no onnxruntime import.
 */
import type { HbiError } from '../errors.js';
import type { TensorDtype } from '../model/manifest.js';
import type { TextTokenizer } from '../model/tokenizer.js';

export type TensorData =
  Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/** A tensor in host memory. */
export interface HostTensor {
  dtype: TensorDtype;
  data: TensorData;
  dims: readonly number[];
}

export type TensorMap = Readonly<Record<string, HostTensor>>;

/** Lifecycle of the encoder; only `ready` serves requests. */
export type EncoderState =
  | { status: 'created' }
  | { status: 'loading' }
  | { status: 'warming'; providers: readonly string[] }
  | { status: 'ready'; providers: readonly string[]; readyAt: Date }
  | { status: 'failed'; error: HbiError }
  | { status: 'closed' };

/** `video` graph outputs for one clip. */
export interface VideoEncoding {
  /** [T, D] */
  frameTokens: Float32Array;
  /** [T] */
  frameWeights: Float32Array;
  /** [T], 1 for real frames. */
  frameMask: Float32Array;
  /** [D], L2-normalised. */
  embedding: Float32Array;
}

/** `text` graph outputs for one text, plus what tokenisation found. */
export interface TextEncoding {
  /** [L, D] */
  wordTokens: Float32Array;
  /** [L] */
  wordWeights: Float32Array;
  /** [L], 1 for real tokens, as float32 for the interaction and QA graphs. */
  wordMask: Float32Array;
  /** [D], L2-normalised. */
  embedding: Float32Array;
  tokens: string[];
  unknownWords: string[];
  truncated: boolean;
}

/** One segment's stored frame tensors: [T,D], [T], [T]. */
export interface FrameTensors {
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

/** The word tensors of one encoded text: [L,D], [L], [L]. */
export type WordTensors = Pick<TextEncoding, 'wordTokens' | 'wordWeights' | 'wordMask'>;

export interface SharedEncoder {
  readonly state: EncoderState;
  /** `name@version` of the loaded package; stored with every vector. */
  readonly modelId: string;
  /** Graphs the encoder can run. */
  readonly graphs: readonly string[];
  readonly tokenizer: TextTokenizer;
  /** Encodes one clip: `frames` is [T, H, W, 3] RGB bytes exactly as the decoder produced them. */
  encodeVideo(frames: Uint8Array, frameMask?: Float32Array): Promise<VideoEncoding>;
  /** Tokenises and encodes one text. */
  encodeText(text: string): Promise<TextEncoding>;
  /**
   * HBI scores of every text against every segment through the `interaction` graph: a row-major
   * [Q,V] matrix (text q against segment v at q·V + v); empty when either list is.
   */
  interaction(texts: readonly WordTensors[], segments: readonly FrameTensors[]): Promise<Float32Array>;
  /**
   * Runs one request through a graph by name (the plugin heads: `qa`, `caption`, or a plugin's own).
   * For batched graphs, give inputs without the batch axis; the encoder stacks concurrent requests.
   * For `interaction`, give the full [Q…]/[V…] tensors (or use `interaction`).
   */
  runGraph(graph: string, inputs: TensorMap): Promise<TensorMap>;
}
