import path from 'node:path';
import { writeFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { readOnnxSignature } from '../../../src/core/model/onnx-signature.js';
import { TINY_PACKAGE, tempDir } from '../../helpers/fixtures.js';

describe('readOnnxSignature', () => {
  it('reads names, element types and shapes (fixed and named dynamic axes) without a session', async () => {
    const signature = await readOnnxSignature(path.join(TINY_PACKAGE, 'video.onnx'));
    expect(signature.inputs).toEqual([
      { name: 'frames', dtype: 'uint8', shape: ['B', 2, 4, 4, 3] },
      { name: 'frame_mask', dtype: 'float32', shape: ['B', 2] },
    ]);
    expect(signature.outputs.map((output) => output.name)).toEqual(['frame_tokens', 'frame_weights', 'video_embedding']);
  });

  it('does not list initializers (weights) as inputs', async () => {
    const signature = await readOnnxSignature(path.join(TINY_PACKAGE, 'text.onnx'));
    expect(signature.inputs.map((input) => input.name)).toEqual(['input_ids', 'attention_mask']);
    expect(signature.inputs[0]).toEqual({ name: 'input_ids', dtype: 'int64', shape: ['B', 6] });
  });

  it('fails on a file that is not ONNX', async () => {
    const temp = await tempDir();
    try {
      const file = path.join(temp.dir, 'junk.onnx');
      await writeFile(file, 'this is not a protobuf, just text that happens to be here');
      await expect(readOnnxSignature(file)).rejects.toThrow();
    } finally {
      await temp.cleanup();
    }
  });
});
