/**
 * `hbi bench interaction`: the cost of the configured package's `interaction` graph — what a search's
 * re-rank runs, one query against its candidates — against a baseline package's, in one process. Both
 * graphs are opened and fed as the server does (`openOnnxSession`, `interactionInputs`), each on inputs of
 * its own package's shapes; rounds alternate which goes first and medians are reported, so a noisy
 * neighbour hits both alike. The inputs are seeded Gaussian tokens (a caption of --words valid words, every
 * frame valid, softmax weights): the graph's operations are the same whatever the values, so its cost is too.
 */
import type { Config } from '../../core/config.js';
import { resolveExecutionProviders } from '../../core/encoder/execution-providers.js';
import { interactionInputs } from '../../core/encoder/interaction.js';
import type { InferenceRunner } from '../../core/encoder/onnx-session.js';
import { openOnnxSession } from '../../core/encoder/onnx-session.js';
import type { FrameTensors, TensorMap, WordTensors } from '../../core/encoder/types.js';
import type { Logger } from '../../core/logger.js';
import type { ModelPackage } from '../../core/model/package-loader.js';
import { loadModelPackage } from '../../core/model/package-loader.js';
import { UsageError } from '../args.js';
import type { Progress } from '../progress.js';
import type { startReport } from './report.js';
import { gaussian, median, seededRandom, timed } from './stats.js';

export interface InteractionBenchOptions {
  /** The package to compare against (a folder with manifest.json), e.g. an earlier version. */
  baselineModel: string;
  /** Segments scored per call (the re-rank's candidates). */
  candidates: number;
  /** Valid words of the query (at most the package's max_words). */
  words: number;
  /** Calls per contender per round. */
  calls: number;
  rounds: number;
}

interface Contender {
  label: string;
  runner: InferenceRunner;
  feeds: TensorMap;
  msPerCall: number[];
}

export async function runInteractionBench(
  config: Config,
  options: InteractionBenchOptions,
  report: ReturnType<typeof startReport>,
  progress: Progress,
  logger: Logger,
): Promise<void> {
  const current = await loadModelPackage(config.modelDir);
  const baseline = await loadModelPackage(options.baselineModel).catch((error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      `--baseline-model ${options.baselineModel} is not a model package (${reason}); give the folder of another ` +
        `package, e.g. an earlier version checked out with: git worktree add /tmp/old <rev>`,
    );
  });
  const providers = await resolveExecutionProviders({
    requested: config.executionProviders,
    modelFile: current.file(current.graph('text')!.file),
    timeoutMs: config.gpuProbeTimeoutMs,
    logger,
  });
  const contenders: Contender[] = [];
  try {
    for (const [role, modelPackage] of [
      ['configured', current],
      ['baseline', baseline],
    ] as const) {
      const runner = await openOnnxSession(modelPackage.file(modelPackage.graph('interaction')!.file), {
        executionProviders: providers,
        intraOpThreads: config.intraOpThreads,
        spinning: config.onnxSpinning,
      });
      const { name, version } = modelPackage.manifest;
      contenders.push({
        label: `${name}@${version} (${role})`,
        runner,
        feeds: inputs(modelPackage, options),
        msPerCall: [],
      });
    }
    for (const contender of contenders) await contender.runner.run(contender.feeds); // warm-up
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const contender of order) {
        const run = await timed(async () => {
          for (let call = 0; call < options.calls; call++) await contender.runner.run(contender.feeds);
        });
        contender.msPerCall.push(run.ms / options.calls);
      }
      progress.update(round + 1, options.rounds, 'alternating rounds');
    }
    progress.finish();
    const [configured, base] = contenders.map((contender) => median(contender.msPerCall)) as [number, number];
    contenders.forEach((contender, index) =>
      report.measure(
        `${contender.label}: interaction graph, 1 query × ${options.candidates} candidates`,
        index === 0 ? configured : base,
        'ms per call',
        `median of ${options.rounds} rounds of ${options.calls} calls`,
      ),
    );
    report.ratio(
      'configured ÷ baseline, calls per second (> 1: the configured graph is cheaper)',
      base / configured,
    );
    report.note(
      `Providers: ${providers.join(', ')}; intra-op threads: ${config.intraOpThreads || 'runtime default'}. ` +
        `Inputs: seeded Gaussian tokens in each package's shapes, ${options.words} valid words, every frame valid.`,
    );
  } finally {
    for (const contender of contenders) await contender.runner.release();
  }
}

/** The interaction graph's inputs for one query against `candidates` segments, in the package's shapes. */
function inputs(modelPackage: ModelPackage, options: InteractionBenchOptions): TensorMap {
  const { embed, frames, max_words: maxWords } = modelPackage.manifest.dims;
  const normal = gaussian(seededRandom(1));
  const noise = (n: number) => Float32Array.from({ length: n }, normal);
  /** `width` values: softmax weights over the first `valid`, 0 after; and the matching 0/1 mask. */
  const weightsAndMask = (width: number, valid: number) => {
    const exp = Array.from({ length: valid }, () => Math.exp(normal()));
    const sum = exp.reduce((total, value) => total + value, 0);
    const weights = new Float32Array(width);
    exp.forEach((value, index) => (weights[index] = value / sum));
    return { weights, mask: new Float32Array(width).fill(1, 0, valid) };
  };
  const caption = weightsAndMask(maxWords, Math.min(options.words, maxWords));
  const text: WordTensors = {
    wordTokens: noise(maxWords * embed),
    wordWeights: caption.weights,
    wordMask: caption.mask,
  };
  const segments = Array.from({ length: options.candidates }, (): FrameTensors => {
    const clip = weightsAndMask(frames, frames);
    return { frameTokens: noise(frames * embed), frameWeights: clip.weights, frameMask: clip.mask };
  });
  return interactionInputs([text], segments);
}
