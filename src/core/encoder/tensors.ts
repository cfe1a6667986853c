/**
 * Host-tensor helpers for the batcher: check one request's tensors against a graph's manifest entry,
 * stack requests along a new batch axis, and slice batched outputs back per request.
 */
import { HbiError } from '../errors.js';
import type { GraphSpec, TensorDtype } from '../model/manifest.js';
import type { HostTensor, TensorData, TensorMap } from './types.js';

const ARRAY_TYPES: Record<TensorDtype, new (length: number) => TensorData> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export const elementCount = (dims: readonly number[]) => dims.reduce((product, dim) => product * dim, 1);

/** A zero-filled tensor; used for warm-up. */
export function zeros(dtype: TensorDtype, dims: readonly number[]): HostTensor {
  return { dtype, dims: [...dims], data: new ARRAY_TYPES[dtype](elementCount(dims)) };
}

/**
 * Checks one request against the graph's inputs; `batched` means the request omits axis 0.
 * Throws BAD_USER_INPUT naming the first tensor that does not fit, so only this request fails.
 */
export function checkInputs(graph: string, spec: GraphSpec, inputs: TensorMap, batched: boolean): void {
  const fail = (why: string): never => {
    throw new HbiError('BAD_USER_INPUT', `Input to graph "${graph}" ${why}`, { details: { graph } });
  };
  const expected = new Set(spec.inputs.map((input) => input.name));
  for (const name of Object.keys(inputs)) if (!expected.has(name)) fail(`has unexpected tensor "${name}"`);
  for (const input of spec.inputs) {
    const tensor = inputs[input.name];
    if (!tensor) return fail(`is missing tensor "${input.name}"`);
    if (tensor.dtype !== input.dtype) fail(`"${input.name}" is ${tensor.dtype}, expected ${input.dtype}`);
    if (!(tensor.data instanceof ARRAY_TYPES[input.dtype]))
      fail(`"${input.name}" data is not a ${ARRAY_TYPES[input.dtype].name}`);
    const shape = batched ? input.shape.slice(1) : input.shape;
    if (tensor.dims.length !== shape.length)
      fail(`"${input.name}" has rank ${tensor.dims.length}, expected ${shape.length}`);
    shape.forEach((dim, axis) => {
      const got = tensor.dims[axis]!;
      if (!Number.isInteger(got) || got < 1) fail(`"${input.name}" axis ${axis} has size ${got}`);
      if (typeof dim === 'number' && got !== dim)
        fail(`"${input.name}" axis ${axis} is ${got}, expected ${dim}`);
    });
    if (tensor.data.length !== elementCount(tensor.dims)) {
      fail(`"${input.name}" holds ${tensor.data.length} values for dims [${tensor.dims.join(',')}]`);
    }
  }
}

/** Requests whose tensors have the same dims can share a batch; this is their grouping key. */
export function shapeKey(inputs: TensorMap): string {
  return Object.keys(inputs)
    .sort()
    .map((name) => `${name}:${inputs[name]!.dims.join('x')}`)
    .join(';');
}

/** Stacks same-shaped requests into one feed with a leading batch axis. */
export function stack(items: readonly TensorMap[]): TensorMap {
  const first = items[0];
  if (!first) throw new RangeError('cannot stack an empty batch');
  const stacked: Record<string, HostTensor> = {};
  for (const [name, tensor] of Object.entries(first)) {
    const size = tensor.data.length;
    const data = new ARRAY_TYPES[tensor.dtype](size * items.length);
    items.forEach((item, index) => (data as Uint8Array).set(item[name]!.data as Uint8Array, index * size));
    stacked[name] = { dtype: tensor.dtype, dims: [items.length, ...tensor.dims], data };
  }
  return stacked;
}

/** Adds a batch axis of 1 to one request. */
export function unsqueeze(item: TensorMap): TensorMap {
  return Object.fromEntries(Object.entries(item).map(([name, t]) => [name, { ...t, dims: [1, ...t.dims] }]));
}

/** Splits batched outputs back into one map per request (copies, so requests do not pin the batch buffer). */
export function unstack(outputs: TensorMap, count: number): TensorMap[] {
  const items: Record<string, HostTensor>[] = Array.from({ length: count }, () => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims[0] !== count) {
      throw new HbiError(
        'INFERENCE_FAILED',
        `Output "${name}" has batch size ${tensor.dims[0]}, expected ${count}`,
      );
    }
    const size = tensor.data.length / count;
    items.forEach((item, index) => {
      item[name] = {
        dtype: tensor.dtype,
        dims: tensor.dims.slice(1),
        data: tensor.data.slice(index * size, (index + 1) * size),
      };
    });
  }
  return items;
}
