/**
 * `hbi bench interaction`: the cost of the configured package's `interaction` graph — what a search's
 * re-rank runs, one query against its candidates — against a baseline package's, in one process. Both
 * graphs run as bare onnxruntime-node sessions with the server's session options, each on inputs of its
 * own package's shapes; rounds alternate which goes first and medians are reported, so a noisy neighbour
 * hits both alike. The inputs are seeded Gaussian tokens (a caption of --words valid words, every frame
 * valid, softmax weights): the graph's operations are the same whatever the values, so its cost is too.
 */
import ort from 'onnxruntime-node';

import type { Config } from '../../core/config.js';
import { resolveExecutionProviders } from '../../core/encoder/execution-providers.js';
import { sessionCreateOptions } from '../../core/encoder/onnx-session.js';
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
  session: ort.InferenceSession;
  feeds: Record<string, ort.Tensor>;
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
  const sessionOptions = sessionCreateOptions({
    executionProviders: providers,
    intraOpThreads: config.intraOpThreads,
    spinning: config.onnxSpinning,
  });
  const contenders: Contender[] = [];
  try {
    for (const [label, modelPackage] of [
      [`${packageId(current)} (configured)`, current],
      [`${packageId(baseline)} (baseline)`, baseline],
    ] as const) {
      const session = await ort.InferenceSession.create(
        modelPackage.file(modelPackage.graph('interaction')!.file),
        sessionOptions,
      );
      contenders.push({ label, session, feeds: inputs(modelPackage, options), msPerCall: [] });
    }
    for (const contender of contenders) await contender.session.run(contender.feeds); // warm-up
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      for (const contender of order) {
        const run = await timed(async () => {
          for (let call = 0; call < options.calls; call++) await contender.session.run(contender.feeds);
        });
        contender.msPerCall.push(run.ms / options.calls);
      }
      progress.update(round + 1, options.rounds, 'alternating rounds');
    }
    progress.finish();
    const [configured, base] = contenders.map((contender) => median(contender.msPerCall)) as [number, number];
    for (const [contender, ms] of [
      [contenders[0]!, configured],
      [contenders[1]!, base],
    ] as const) {
      report.measure(
        `${contender.label}: interaction graph, 1 query × ${options.candidates} candidates`,
        ms,
        'ms per call',
        `median of ${options.rounds} rounds of ${options.calls} calls`,
      );
    }
    report.ratio(
      'configured ÷ baseline, calls per second (> 1: the configured graph is cheaper)',
      base / configured,
    );
    report.note(
      `Providers: ${providers.join(', ')}; intra-op threads: ${config.intraOpThreads || 'runtime default'}. ` +
        `Inputs: seeded Gaussian tokens in each package's shapes, ${options.words} valid words, every frame valid.`,
    );
  } finally {
    for (const contender of contenders) await contender.session.release();
  }
}

function packageId(modelPackage: ModelPackage): string {
  return `${modelPackage.manifest.name}@${modelPackage.manifest.version}`;
}

/** The interaction graph's six inputs for one query against `candidates` segments, in the package's shapes. */
function inputs(modelPackage: ModelPackage, options: InteractionBenchOptions): Record<string, ort.Tensor> {
  const { embed, frames, max_words: maxWords } = modelPackage.manifest.dims;
  const words = Math.min(options.words, maxWords);
  const normal = gaussian(seededRandom(1));
  const noise = (n: number) => Float32Array.from({ length: n }, normal);
  const softmaxRows = (rows: number, width: number, valid: number) => {
    const out = new Float32Array(rows * width);
    for (let row = 0; row < rows; row++) {
      const logits = Array.from({ length: valid }, normal);
      const top = Math.max(...logits);
      const exp = logits.map((value) => Math.exp(value - top));
      const sum = exp.reduce((total, value) => total + value, 0);
      exp.forEach((value, column) => (out[row * width + column] = value / sum));
    }
    return out;
  };
  const mask = (rows: number, width: number, valid: number) => {
    const out = new Float32Array(rows * width);
    for (let row = 0; row < rows; row++) out.fill(1, row * width, row * width + valid);
    return out;
  };
  const v = options.candidates;
  return {
    word_tokens: new ort.Tensor('float32', noise(maxWords * embed), [1, maxWords, embed]),
    word_weights: new ort.Tensor('float32', softmaxRows(1, maxWords, words), [1, maxWords]),
    word_mask: new ort.Tensor('float32', mask(1, maxWords, words), [1, maxWords]),
    frame_tokens: new ort.Tensor('float32', noise(v * frames * embed), [v, frames, embed]),
    frame_weights: new ort.Tensor('float32', softmaxRows(v, frames, frames), [v, frames]),
    frame_mask: new ort.Tensor('float32', mask(v, frames, frames), [v, frames]),
  };
}
