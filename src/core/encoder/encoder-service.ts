/**
 * The shared encoder: one session per graph per process, each behind a dynamic batcher, shared by every
 * plugin. `start` chooses providers (probing GPUs safely), opens every graph, checks each live session
 * against the manifest, warms every graph up, and only then reports `ready`; requests before that get
 * MODEL_NOT_READY (retriable).
 */
import type { Config } from '../config.js';
import { GRAPH_NAMES } from '../config.js';
import { HbiError, UnreachableCaseError, toHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { GRAPH_CONTRACT, isContractGraph } from '../model/contract.js';
import type { ModelPackage } from '../model/package-loader.js';
import { diffTensors } from '../model/signature-check.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { ProviderProbe } from './execution-providers.js';
import { resolveExecutionProviders } from './execution-providers.js';
import { GraphRunner } from './graph-runner.js';
import { interactionInputs } from './interaction.js';
import type { InferenceRunner, SessionOptions } from './onnx-session.js';
import { openOnnxSession } from './onnx-session.js';
import type {
  EncoderState,
  FrameTensors,
  SharedEncoder,
  TensorMap,
  TextEncoding,
  VideoEncoding,
  WordTensors,
} from './types.js';

export interface EncoderServiceOptions {
  modelPackage: ModelPackage;
  tokenizer: TextTokenizer;
  config: Pick<
    Config,
    'executionProviders' | 'intraOpThreads' | 'onnxSpinning' | 'gpuProbeTimeoutMs' | 'batching'
  >;
  logger: Logger;
  /** Replaceable in tests. */
  openSession?: (file: string, options: SessionOptions) => Promise<InferenceRunner>;
  probeProvider?: ProviderProbe;
}

export class EncoderService implements SharedEncoder {
  #state: EncoderState = { status: 'created' };
  readonly #runners = new Map<string, GraphRunner>();
  readonly #options: EncoderServiceOptions;

  constructor(options: EncoderServiceOptions) {
    this.#options = options;
  }

  get state(): EncoderState {
    return this.#state;
  }

  get modelId(): string {
    return this.#options.modelPackage.id;
  }

  get graphs(): readonly string[] {
    return this.#options.modelPackage.graphs;
  }

  get tokenizer(): TextTokenizer {
    return this.#options.tokenizer;
  }

  /** Loads and warms every graph; resolves when ready, throws (and stays `failed`) otherwise. */
  async start(): Promise<void> {
    if (this.#state.status !== 'created')
      throw new HbiError('INTERNAL', `Encoder cannot start while ${this.#state.status}`);
    const { modelPackage, config, logger } = this.#options;
    this.#state = { status: 'loading' };
    try {
      const providers = await resolveExecutionProviders({
        requested: config.executionProviders,
        modelFile: modelPackage.file(modelPackage.graph('text')!.file),
        timeoutMs: config.gpuProbeTimeoutMs,
        logger,
        ...(this.#options.probeProvider ? { probe: this.#options.probeProvider } : {}),
      });
      const open = this.#options.openSession ?? openOnnxSession;
      for (const name of modelPackage.graphs) {
        const spec = modelPackage.graph(name)!;
        const session = await open(modelPackage.file(spec.file), {
          executionProviders: providers,
          intraOpThreads: config.intraOpThreads,
          spinning: config.onnxSpinning,
        });
        const mismatch = [
          ...diffTensors(`session ${name} input`, spec.inputs, session.inputs),
          ...diffTensors(`session ${name} output`, spec.outputs, session.outputs),
        ];
        if (mismatch.length > 0) {
          await session.release();
          throw new HbiError(
            'MODEL_PACKAGE_INVALID',
            `Graph "${name}" does not match its manifest: ${mismatch.join('; ')}`,
          );
        }
        const batched = isContractGraph(name) ? GRAPH_CONTRACT[name].batched : true;
        const limits = (GRAPH_NAMES as readonly string[]).includes(name)
          ? config.batching[name as keyof typeof config.batching]
          : config.batching.video;
        this.#runners.set(
          name,
          new GraphRunner(name, spec, session, batched, limits, logger.child({ graph: name })),
        );
      }
      this.#state = { status: 'warming', providers };
      for (const runner of this.#runners.values()) await runner.warmUp();
      this.#state = { status: 'ready', providers, readyAt: new Date() };
      logger.info('encoder ready', { model: this.modelId, providers, graphs: [...this.#runners.keys()] });
    } catch (error) {
      const failure = toHbiError(error, 'MODEL_PACKAGE_INVALID');
      this.#state = { status: 'failed', error: failure };
      await this.#closeRunners(failure);
      throw failure;
    }
  }

  /** True only once every graph is loaded and warm. */
  get ready(): boolean {
    return this.#state.status === 'ready';
  }

  async interaction(texts: readonly WordTensors[], segments: readonly FrameTensors[]): Promise<Float32Array> {
    if (texts.length === 0 || segments.length === 0) return new Float32Array(0);
    const out = await this.runGraph('interaction', interactionInputs(texts, segments));
    return out.scores!.data as Float32Array;
  }

  runGraph(graph: string, inputs: TensorMap): Promise<TensorMap> {
    const notReady = this.#notReady();
    if (notReady) return Promise.reject(notReady);
    const runner = this.#runners.get(graph);
    if (!runner) {
      return Promise.reject(
        new HbiError('MODEL_GRAPH_MISSING', `The model package has no "${graph}" graph`, {
          details: { graph },
        }),
      );
    }
    return runner.run(inputs);
  }

  async encodeVideo(frames: Uint8Array, frameMask?: Float32Array): Promise<VideoEncoding> {
    const { frames: count, height, width } = this.#options.modelPackage.manifest.dims;
    const mask = frameMask ?? new Float32Array(count).fill(1);
    const out = await this.runGraph('video', {
      frames: { dtype: 'uint8', dims: [count, height, width, 3], data: frames },
      frame_mask: { dtype: 'float32', dims: [count], data: mask },
    });
    return {
      frameTokens: out.frame_tokens!.data as Float32Array,
      frameWeights: out.frame_weights!.data as Float32Array,
      frameMask: mask,
      embedding: out.video_embedding!.data as Float32Array,
    };
  }

  async encodeText(text: string): Promise<TextEncoding> {
    const notReady = this.#notReady();
    if (notReady) throw notReady;
    const encoded = this.tokenizer.encode(text);
    const length = encoded.inputIds.length;
    const out = await this.runGraph('text', {
      input_ids: { dtype: 'int64', dims: [length], data: encoded.inputIds },
      attention_mask: { dtype: 'int64', dims: [length], data: encoded.attentionMask },
    });
    return {
      wordTokens: out.word_tokens!.data as Float32Array,
      wordWeights: out.word_weights!.data as Float32Array,
      wordMask: Float32Array.from(encoded.attentionMask, Number),
      embedding: out.text_embedding!.data as Float32Array,
      tokens: encoded.tokens,
      unknownWords: encoded.unknownWords,
      truncated: encoded.truncated,
    };
  }

  /** Rejects queued requests, waits for batches in flight, releases every session. */
  async close(): Promise<void> {
    if (this.#state.status === 'closed') return;
    this.#state = { status: 'closed' };
    await this.#closeRunners(new HbiError('MODEL_NOT_READY', 'The encoder is shutting down'));
  }

  async #closeRunners(reason: HbiError): Promise<void> {
    const runners = [...this.#runners.values()];
    this.#runners.clear();
    await Promise.allSettled(runners.map((runner) => runner.close(reason)));
  }

  #notReady(): HbiError | undefined {
    const state = this.#state;
    switch (state.status) {
      case 'ready':
        return undefined;
      case 'created':
      case 'loading':
      case 'warming':
        return new HbiError('MODEL_NOT_READY', `The encoder is ${state.status}; retry shortly`);
      case 'failed':
        return new HbiError('MODEL_NOT_READY', `The encoder failed to start: ${state.error.message}`, {
          retriable: false,
        });
      case 'closed':
        return new HbiError('MODEL_NOT_READY', 'The encoder is shut down', { retriable: false });
      default:
        throw new UnreachableCaseError(state);
    }
  }
}
