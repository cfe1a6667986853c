/**
 * How vectors and frame tensors are stored: embeddings as pgvector text literals, frame tokens,
 * weights and masks as raw little-endian float32 bytes (BYTEA), read back without copying twice.
 */
import { HbiError } from '../errors.js';

/** `[0.1,0.2,…]`, the literal pgvector parses from a `$n::vector` parameter. */
export function toVectorLiteral(values: Float32Array): string {
  return `[${Array.from(values, (value) => (Number.isFinite(value) ? value : 0)).join(',')}]`;
}

/** Float32 values as bytes (the platform runs on little-endian hosts, as ONNX Runtime does). */
export function float32ToBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Bytes from a BYTEA column back to float32 values; INTERNAL when the length is not a multiple of 4. */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0)
    throw new HbiError('INTERNAL', `Stored tensor has ${bytes.byteLength} bytes, not float32`);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
