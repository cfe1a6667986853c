/**
 * The graph contract from docs/model-package.md as data: for each known graph, the tensors it must
 * take and give, with sizes tied to the manifest's dims. The loader checks the manifest against this
 * and each ONNX file against the manifest; the encoder uses `batched` to know which graphs it may stack.
 */
import type { GraphName } from '../config.js';
import type { Dim, ModelManifest, TensorDtype, TensorSpec } from './manifest.js';

/** Symbolic sizes: dynamic axes (`B`, `Q`, `V`, `S`) and manifest dims (`D` = embed, …). */
type SizeName = 'B' | 'Q' | 'V' | 'S' | 'D' | 'T' | 'H' | 'W' | 'L' | 'A' | 'VOCAB';
type ContractTensor = readonly [name: string, dtype: TensorDtype, shape: readonly (SizeName | number)[]];

interface GraphContract {
  /** Axis 0 of every input and output is a shared batch axis, so requests can be stacked. */
  batched: boolean;
  inputs: readonly ContractTensor[];
  outputs: readonly ContractTensor[];
}

const DYNAMIC = new Set<SizeName>(['B', 'Q', 'V', 'S']);

export const GRAPH_CONTRACT: Readonly<Record<GraphName, GraphContract>> = {
  video: {
    batched: true,
    inputs: [
      ['frames', 'uint8', ['B', 'T', 'H', 'W', 3]],
      ['frame_mask', 'float32', ['B', 'T']],
    ],
    outputs: [
      ['frame_tokens', 'float32', ['B', 'T', 'D']],
      ['frame_weights', 'float32', ['B', 'T']],
      ['video_embedding', 'float32', ['B', 'D']],
    ],
  },
  text: {
    batched: true,
    inputs: [
      ['input_ids', 'int64', ['B', 'L']],
      ['attention_mask', 'int64', ['B', 'L']],
    ],
    outputs: [
      ['word_tokens', 'float32', ['B', 'L', 'D']],
      ['word_weights', 'float32', ['B', 'L']],
      ['text_embedding', 'float32', ['B', 'D']],
    ],
  },
  interaction: {
    batched: false,
    inputs: [
      ['word_tokens', 'float32', ['Q', 'L', 'D']],
      ['word_weights', 'float32', ['Q', 'L']],
      ['word_mask', 'float32', ['Q', 'L']],
      ['frame_tokens', 'float32', ['V', 'T', 'D']],
      ['frame_weights', 'float32', ['V', 'T']],
      ['frame_mask', 'float32', ['V', 'T']],
    ],
    outputs: [['scores', 'float32', ['Q', 'V']]],
  },
  qa: {
    batched: true,
    inputs: [
      ['frame_tokens', 'float32', ['B', 'T', 'D']],
      ['frame_mask', 'float32', ['B', 'T']],
      ['question_tokens', 'float32', ['B', 'L', 'D']],
      ['question_mask', 'float32', ['B', 'L']],
    ],
    outputs: [['answer_logits', 'float32', ['B', 'A']]],
  },
  caption: {
    batched: true,
    inputs: [
      ['frame_tokens', 'float32', ['B', 'T', 'D']],
      ['frame_mask', 'float32', ['B', 'T']],
      ['tokens', 'int64', ['B', 'S']],
    ],
    outputs: [['logits', 'float32', ['B', 'S', 'VOCAB']]],
  },
};

/** True for the graphs this contract knows; others (added by external plugins) are checked against the manifest only. */
export function isContractGraph(name: string): name is GraphName {
  return Object.hasOwn(GRAPH_CONTRACT, name);
}

/** The contract's tensors for `graph` with symbolic sizes resolved from the manifest's dims. */
export function expectedSpecs(graph: GraphName, dims: ModelManifest['dims']): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const sizes: Record<Exclude<SizeName, 'B' | 'Q' | 'V' | 'S'>, number> = {
    D: dims.embed,
    T: dims.frames,
    H: dims.height,
    W: dims.width,
    L: dims.max_words,
    A: dims.answers,
    VOCAB: dims.vocab,
  };
  const resolve = ([name, dtype, shape]: ContractTensor): TensorSpec => ({
    name,
    dtype,
    shape: shape.map((dim): Dim => (typeof dim === 'number' ? dim : DYNAMIC.has(dim) ? dim : sizes[dim as keyof typeof sizes])),
  });
  const contract = GRAPH_CONTRACT[graph];
  return { inputs: contract.inputs.map(resolve), outputs: contract.outputs.map(resolve) };
}

/**
 * The frame-decode filter the platform runs (src/core/video/decode-frames.ts), spelled as the Python
 * recipe records it in the manifest's `decode.filter` (model/hbi/data/recipe.py). A package decoded
 * any other way at training time would not match what serving feeds it.
 */
export const DECODE_FILTER_TEMPLATE = 'scale={W}:{H}:flags=bilinear,format=rgb24';

/** Differences between the package's recorded decode recipe and the platform's. */
export function diffDecodeRecipe(decode: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  if (decode.tool !== undefined && decode.tool !== 'ffmpeg') problems.push(`decode.tool is ${JSON.stringify(decode.tool)}, the platform decodes with ffmpeg`);
  if (decode.filter !== undefined && decode.filter !== DECODE_FILTER_TEMPLATE) {
    problems.push(`decode.filter is ${JSON.stringify(decode.filter)}, the platform runs ${JSON.stringify(DECODE_FILTER_TEMPLATE)}`);
  }
  return problems;
}
