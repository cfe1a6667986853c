/**
 * The shape of `models/<name>/manifest.json` (see docs/model-package.md), validated with zod. Unknown
 * top-level fields are kept, so a newer Python exporter can add facts without breaking older servers.
 */
import { z } from 'zod';

/** Element types a graph may declare, spelled as in numpy / onnxruntime. */
export const TENSOR_DTYPES = ['float32', 'float16', 'float64', 'int64', 'int32', 'int8', 'uint8', 'bool'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

/** A shape entry: a fixed size, or a string naming a dynamic axis ("B", "Q", "V", "S"). */
export const dimSchema = z.union([z.number().int().nonnegative(), z.string().min(1)]);
export type Dim = z.infer<typeof dimSchema>;

export const tensorSpecSchema = z.object({
  name: z.string().min(1),
  dtype: z.enum(TENSOR_DTYPES),
  shape: z.array(dimSchema),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

export const graphSpecSchema = z.object({
  file: z.string().min(1),
  inputs: z.array(tensorSpecSchema).min(1),
  outputs: z.array(tensorSpecSchema).min(1),
});
export type GraphSpec = z.infer<typeof graphSpecSchema>;

const positive = z.number().int().positive();
const rgb = z.tuple([z.number(), z.number(), z.number()]);

export const manifestSchema = z.looseObject({
  format: z.literal('hbi-model-package/1'),
  name: z.string().min(1),
  version: z.string().min(1),
  architecture: z.string().min(1),
  dims: z.looseObject({
    embed: positive,
    frames: positive,
    height: positive,
    width: positive,
    max_words: positive,
    vocab: positive,
    answers: positive,
  }),
  pixel: z.looseObject({ mean: rgb, std: rgb }),
  /** The ffmpeg recipe as the Python side recorded it; the platform's decoder implements it. */
  decode: z.record(z.string(), z.unknown()),
  tokenizer: z.looseObject({
    file: z.string().min(1),
    pad: z.string(),
    unk: z.string(),
    bos: z.string(),
    eos: z.string(),
    pad_id: z.number().int().nonnegative(),
    unk_id: z.number().int().nonnegative(),
    bos_id: z.number().int().nonnegative(),
    eos_id: z.number().int().nonnegative(),
    lowercase: z.boolean(),
  }),
  answers: z.array(z.string()),
  graphs: z.record(z.string(), graphSpecSchema),
  interaction: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  provenance: z.record(z.string(), z.unknown()).optional(),
  files: z.record(
    z.string().min(1),
    z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex SHA-256'), bytes: z.number().int().nonnegative() }),
  ),
});
export type ModelManifest = z.infer<typeof manifestSchema>;
