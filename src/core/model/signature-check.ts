/**
 * Compares tensor lists and says, in words, exactly what differs. Used twice: the manifest against the
 * graph contract, and each ONNX file (or live session) against the manifest.
 */
import type { Dim, TensorSpec } from './manifest.js';
import type { DeclaredTensor } from './onnx-signature.js';

const isDynamic = (dim: Dim) => typeof dim === 'string';

/**
 * Differences between what `expected` declares and what `actual` has, each prefixed with `where`.
 * Dynamic axes match any dynamic axis (exporters name them differently); fixed sizes must be equal.
 */
export function diffTensors(
  where: string,
  expected: readonly TensorSpec[],
  actual: readonly (TensorSpec | DeclaredTensor)[],
): string[] {
  const differences: string[] = [];
  const actualByName = new Map(actual.map((tensor) => [tensor.name, tensor]));
  for (const want of expected) {
    const have = actualByName.get(want.name);
    if (!have) {
      differences.push(`${where}: missing "${want.name}" (expected ${describe(want)})`);
      continue;
    }
    if (have.dtype !== want.dtype) {
      differences.push(`${where} "${want.name}": dtype ${have.dtype ?? 'unsupported'} where ${want.dtype} is expected`);
    }
    if (have.shape.length !== want.shape.length) {
      differences.push(`${where} "${want.name}": shape [${have.shape.join(',')}] has rank ${have.shape.length}, expected [${want.shape.join(',')}]`);
      continue;
    }
    want.shape.forEach((dim, axis) => {
      const got = have.shape[axis]!;
      if (isDynamic(dim) && !isDynamic(got)) {
        differences.push(`${where} "${want.name}": axis ${axis} is fixed at ${got} but must be dynamic (${dim})`);
      } else if (!isDynamic(dim) && got !== dim) {
        differences.push(`${where} "${want.name}": axis ${axis} is ${isDynamic(got) ? `dynamic (${got})` : got}, expected ${dim}`);
      }
    });
  }
  const wanted = new Set(expected.map((tensor) => tensor.name));
  for (const tensor of actual) {
    if (!wanted.has(tensor.name)) differences.push(`${where}: unexpected "${tensor.name}" (${describe(tensor)})`);
  }
  return differences;
}

function describe(tensor: TensorSpec | DeclaredTensor): string {
  return `${tensor.dtype ?? 'unsupported'} [${tensor.shape.join(',')}]`;
}
