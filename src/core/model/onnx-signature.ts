/**
 * Reads a graph's declared inputs and outputs (names, element types, shapes) straight from an `.onnx`
 * file's protobuf, without creating an inference session: checking a package must not depend on which
 * execution provider is available, and must not load hundreds of MB of weights into memory. The file
 * is walked with positional reads; large fields (initializer data) are skipped by length.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

import type { Dim, TensorDtype } from './manifest.js';

/** What a graph declares for one input or output; `dtype` is null for element types the platform never uses. */
export interface DeclaredTensor {
  name: string;
  dtype: TensorDtype | null;
  /** Fixed sizes as numbers, named dynamic axes as strings, unnamed dynamic axes as "?". */
  shape: Dim[];
}

export interface GraphSignature {
  inputs: DeclaredTensor[];
  outputs: DeclaredTensor[];
}

// Field numbers from onnx.proto3.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const TENSOR_NAME = 8;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const DIM_PARAM = 2;

const ELEMENT_TYPES: Readonly<Record<number, TensorDtype>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
};

/** Reads the graph signature of an ONNX model file; throws when the file is not a readable ONNX model. */
export async function readOnnxSignature(file: string): Promise<GraphSignature> {
  const handle = await open(file, 'r');
  try {
    const reader = new PositionalReader(handle, (await handle.stat()).size);
    const graph = await reader.findField(0, reader.size, MODEL_GRAPH);
    if (!graph) throw new Error('no graph in model');
    const inputs: DeclaredTensor[] = [];
    const outputs: DeclaredTensor[] = [];
    const initializers = new Set<string>();
    for await (const field of reader.fields(graph.start, graph.end)) {
      if (field.wireType !== 2) continue;
      if (field.number === GRAPH_INPUT) inputs.push(parseValueInfo(await reader.bytes(field.start, field.end)));
      else if (field.number === GRAPH_OUTPUT) outputs.push(parseValueInfo(await reader.bytes(field.start, field.end)));
      else if (field.number === GRAPH_INITIALIZER) {
        const name = await reader.findField(field.start, field.end, TENSOR_NAME);
        if (name) initializers.add((await reader.bytes(name.start, name.end)).toString('utf8'));
      }
    }
    // Old exporters (IR < 4) also list initializers as inputs; they are weights, not feeds.
    return { inputs: inputs.filter((input) => !initializers.has(input.name)), outputs };
  } finally {
    await handle.close();
  }
}

interface Field {
  number: number;
  wireType: number;
  /** Payload range for length-delimited fields; for others, the value's range. */
  start: number;
  end: number;
  varint?: bigint;
}

class PositionalReader {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async bytes(start: number, end: number): Promise<Buffer> {
    if (end > this.size || start > end) throw new Error('truncated protobuf');
    if (start >= this.bufferStart && end <= this.bufferStart + this.buffer.length) {
      return this.buffer.subarray(start - this.bufferStart, end - this.bufferStart);
    }
    const length = Math.max(end - start, Math.min(64 * 1024, this.size - start));
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, start);
    this.buffer = buffer.subarray(0, bytesRead);
    this.bufferStart = start;
    return this.buffer.subarray(0, end - start);
  }

  async *fields(start: number, end: number): AsyncGenerator<Field> {
    let position = start;
    while (position < end) {
      const head = await this.bytes(position, Math.min(position + 20, end));
      const tag = readVarint(head, 0);
      const number = Number(tag.value >> 3n);
      const wireType = Number(tag.value & 7n);
      let offset = position + tag.length;
      let field: Field;
      switch (wireType) {
        case 0: {
          const value = readVarint(head, tag.length);
          field = { number, wireType, start: offset, end: offset + value.length, varint: value.value };
          break;
        }
        case 1:
          field = { number, wireType, start: offset, end: offset + 8 };
          break;
        case 5:
          field = { number, wireType, start: offset, end: offset + 4 };
          break;
        case 2: {
          const length = readVarint(head, tag.length);
          offset += length.length;
          field = { number, wireType, start: offset, end: offset + Number(length.value) };
          break;
        }
        default:
          throw new Error(`unsupported protobuf wire type ${wireType}`);
      }
      if (field.end > end) throw new Error('truncated protobuf');
      yield field;
      position = field.end;
    }
  }

  async findField(start: number, end: number, number: number): Promise<Field | undefined> {
    for await (const field of this.fields(start, end)) if (field.number === number && field.wireType === 2) return field;
    return undefined;
  }
}

function readVarint(buffer: Buffer, offset: number): { value: bigint; length: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    const byte = buffer[offset + i];
    if (byte === undefined) throw new Error('truncated varint');
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return { value, length: i + 1 };
  }
  throw new Error('varint too long');
}

/** In-memory walk of a small message (a ValueInfoProto is a few hundred bytes). */
function* memoryFields(buffer: Buffer): Generator<Field> {
  let position = 0;
  while (position < buffer.length) {
    const tag = readVarint(buffer, position);
    const number = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    position += tag.length;
    if (wireType === 0) {
      const value = readVarint(buffer, position);
      yield { number, wireType, start: position, end: position + value.length, varint: value.value };
      position += value.length;
    } else if (wireType === 2) {
      const length = readVarint(buffer, position);
      position += length.length;
      yield { number, wireType, start: position, end: position + Number(length.value) };
      position += Number(length.value);
    } else if (wireType === 1 || wireType === 5) {
      position += wireType === 1 ? 8 : 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType}`);
    }
  }
}

function sub(buffer: Buffer, field: Field): Buffer {
  return buffer.subarray(field.start, field.end);
}

function parseValueInfo(buffer: Buffer): DeclaredTensor {
  const tensor: DeclaredTensor = { name: '', dtype: null, shape: [] };
  for (const field of memoryFields(buffer)) {
    if (field.number === VALUE_INFO_NAME && field.wireType === 2) tensor.name = sub(buffer, field).toString('utf8');
    if (field.number !== VALUE_INFO_TYPE || field.wireType !== 2) continue;
    const type = sub(buffer, field);
    for (const typeField of memoryFields(type)) {
      if (typeField.number !== TYPE_TENSOR || typeField.wireType !== 2) continue;
      const tensorType = sub(type, typeField);
      for (const part of memoryFields(tensorType)) {
        if (part.number === TENSOR_TYPE_ELEM && part.varint !== undefined) tensor.dtype = ELEMENT_TYPES[Number(part.varint)] ?? null;
        if (part.number === TENSOR_TYPE_SHAPE && part.wireType === 2) tensor.shape = parseShape(sub(tensorType, part));
      }
    }
  }
  return tensor;
}

function parseShape(buffer: Buffer): Dim[] {
  const dims: Dim[] = [];
  for (const field of memoryFields(buffer)) {
    if (field.number !== SHAPE_DIM || field.wireType !== 2) continue;
    let dim: Dim = '?';
    const dimBuffer = sub(buffer, field);
    for (const part of memoryFields(dimBuffer)) {
      if (part.number === DIM_VALUE && part.varint !== undefined) dim = Number(part.varint);
      if (part.number === DIM_PARAM && part.wireType === 2) dim = sub(dimBuffer, part).toString('utf8') || '?';
    }
    dims.push(dim);
  }
  return dims;
}
