/**
 * One graph of the shared encoder: its session, its batcher, and per-request isolation. A request is
 * checked on its own before it joins a batch; if a whole batch fails at run time, its requests are
 * rerun one by one so only the bad one gets the error.
 */
import type { HbiError } from '../errors.js';
import { toHbiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BatchLimits } from '../config.js';
import type { GraphSpec } from '../model/manifest.js';
import { DynamicBatcher } from './batcher.js';
import type { InferenceRunner } from './onnx-session.js';
import { checkInputs, shapeKey, stack, unsqueeze, unstack, zeros } from './tensors.js';
import type { TensorMap } from './types.js';

export class GraphRunner {
  readonly #batcher: DynamicBatcher<TensorMap, TensorMap>;

  constructor(
    readonly name: string,
    readonly spec: GraphSpec,
    readonly session: InferenceRunner,
    /** False for graphs without a shared batch axis (interaction): each request runs alone. */
    readonly batched: boolean,
    limits: BatchLimits,
    private readonly logger: Logger,
  ) {
    this.#batcher = new DynamicBatcher<TensorMap, TensorMap>(
      {
        name,
        maxBatchSize: batched ? limits.maxBatchSize : 1,
        maxDelayMs: batched ? limits.maxDelayMs : 0,
        queueLimit: limits.queueLimit,
        keyOf: shapeKey,
      },
      (items) => this.#runBatch(items),
    );
  }

  /** Requests waiting for this graph. */
  get queued(): number {
    return this.#batcher.queued;
  }

  /** Runs one request (inputs without the batch axis when `batched`). */
  run(inputs: TensorMap): Promise<TensorMap> {
    try {
      checkInputs(this.name, this.spec, inputs, this.batched);
    } catch (error) {
      return Promise.reject(toHbiError(error, 'BAD_USER_INPUT'));
    }
    return this.#batcher.submit(inputs);
  }

  /** Runs the graph once on zeros so kernels are compiled and memory is allocated before serving. */
  async warmUp(): Promise<void> {
    const feeds: Record<string, ReturnType<typeof zeros>> = {};
    for (const input of this.spec.inputs) {
      feeds[input.name] = zeros(
        input.dtype,
        input.shape.map((dim) => (typeof dim === 'number' ? dim : 1)),
      );
    }
    await this.session.run(feeds);
  }

  async close(reason: HbiError): Promise<void> {
    await this.#batcher.close(reason);
    await this.session.release();
  }

  async #runBatch(items: readonly TensorMap[]): Promise<(TensorMap | Error)[]> {
    if (!this.batched) return [await this.#runOne(items[0]!, false)];
    if (items.length === 1) return [await this.#runOne(items[0]!, true)];
    try {
      return unstack(await this.session.run(stack(items)), items.length);
    } catch (error) {
      this.logger.warn(
        `batch of ${items.length} failed on graph "${this.name}"; rerunning requests one by one`,
        { error },
      );
      const results: (TensorMap | Error)[] = [];
      for (const item of items) results.push(await this.#runOne(item, true));
      return results;
    }
  }

  async #runOne(item: TensorMap, batched: boolean): Promise<TensorMap | Error> {
    try {
      if (!batched) return await this.session.run(item);
      const [result] = unstack(await this.session.run(unsqueeze(item)), 1);
      return result!;
    } catch (error) {
      return toHbiError(
        error,
        'INFERENCE_FAILED',
        `Graph "${this.name}" failed: ${(error as Error)?.message ?? String(error)}`,
      );
    }
  }
}
