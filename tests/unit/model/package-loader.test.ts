import { copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { HbiError } from '../../../src/core/errors.js';
import { loadModelPackage } from '../../../src/core/model/package-loader.js';
import { TINY_PACKAGE, copyTinyPackage, editManifest, rehash } from '../../helpers/fixtures.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
  cleanups = [];
});

async function brokenPackage(): Promise<string> {
  const temp = await copyTinyPackage();
  cleanups.push(temp.cleanup);
  return temp.dir;
}

async function problemsOf(dir: string): Promise<string[]> {
  try {
    await loadModelPackage(dir);
  } catch (error) {
    const failure = error as HbiError;
    expect(failure.code).toBe('MODEL_PACKAGE_INVALID');
    return (failure.details.problems as string[] | undefined) ?? [failure.message];
  }
  throw new Error('expected the package to be refused');
}

describe('loadModelPackage', () => {
  it('loads a package whose files, hashes and graphs all match', async () => {
    const loaded = await loadModelPackage(TINY_PACKAGE);
    expect(loaded.id).toBe('hbi-fixture-tiny@0.0.1');
    expect(loaded.graphs).toEqual(['video', 'text', 'interaction', 'qa', 'caption']);
    expect(loaded.manifest.dims.embed).toBe(4);
    expect(loaded.file('video.onnx')).toBe(path.join(TINY_PACKAGE, 'video.onnx'));
    expect(Object.isFrozen(loaded.manifest.dims)).toBe(true);
  });

  it('says plainly when there is no package', async () => {
    expect(await problemsOf('/nonexistent/package')).toEqual([expect.stringContaining('cannot read manifest.json')]);
  });

  it('refuses a file whose content changed, naming the file and both hashes', async () => {
    const dir = await brokenPackage();
    const original = await import('node:fs/promises').then((fs) => fs.readFile(path.join(dir, 'qa.onnx')));
    const last = original.length - 1;
    original.writeUInt8(original.readUInt8(last) ^ 0xff, last);
    await writeFile(path.join(dir, 'qa.onnx'), original);
    const [problem] = await problemsOf(dir);
    expect(problem).toMatch(/file "qa\.onnx" has SHA-256 [0-9a-f]{64}, manifest says [0-9a-f]{64}/);
  });

  it('refuses a missing file and a size mismatch', async () => {
    const dir = await brokenPackage();
    await rm(path.join(dir, 'caption.onnx'));
    await writeFile(path.join(dir, 'tokenizer.json'), '{}');
    const problems = await problemsOf(dir);
    expect(problems).toContainEqual('file "caption.onnx" is listed but missing');
    expect(problems).toContainEqual(expect.stringMatching(/file "tokenizer.json" has 2 bytes, manifest says \d+/));
  });

  it('refuses a manifest entry that breaks the contract (wrong dtype, wrong fixed size)', async () => {
    const dir = await brokenPackage();
    await editManifest(dir, (manifest) => {
      manifest.graphs.text.inputs[0].dtype = 'int32';
      manifest.graphs.video.outputs[2].shape = ['B', 5];
    });
    const problems = await problemsOf(dir);
    expect(problems).toContainEqual('manifest graphs.text input "input_ids": dtype int32 where int64 is expected');
    expect(problems).toContainEqual('manifest graphs.video output "video_embedding": axis 1 is 5, expected 4');
  });

  it('refuses an ONNX file whose declared tensors differ from its manifest entry', async () => {
    const dir = await brokenPackage();
    // Put the qa graph where the manifest expects the caption graph (hashes updated, so only the graph differs).
    await copyFile(path.join(dir, 'qa.onnx'), path.join(dir, 'caption.onnx'));
    await rehash(dir, 'caption.onnx');
    const problems = await problemsOf(dir);
    expect(problems).toContainEqual('caption.onnx input: missing "tokens" (expected int64 [B,S])');
    expect(problems).toContainEqual('caption.onnx input: unexpected "question_tokens" (float32 [B,6,4])');
    expect(problems).toContainEqual('caption.onnx output: missing "logits" (expected float32 [B,S,14])');
  });

  it('refuses a graph with a fixed axis where the contract needs a dynamic one', async () => {
    const dir = await brokenPackage();
    await editManifest(dir, (manifest) => {
      manifest.graphs.text.inputs[1].shape = [1, 6];
    });
    expect(await problemsOf(dir)).toContainEqual(
      'manifest graphs.text input "attention_mask": axis 0 is fixed at 1 but must be dynamic (B)',
    );
  });

  it('refuses a package without the required video and text graphs', async () => {
    const dir = await brokenPackage();
    await editManifest(dir, (manifest) => {
      delete manifest.graphs.video;
    });
    expect(await problemsOf(dir)).toContainEqual('graph "video" is missing');
  });

  it('refuses files that are used but not hashed, and names that escape the package', async () => {
    const dir = await brokenPackage();
    await editManifest(dir, (manifest) => {
      delete manifest.files['interaction.onnx'];
      manifest.files['../outside.bin'] = { sha256: '0'.repeat(64), bytes: 1 };
    });
    const problems = await problemsOf(dir);
    expect(problems).toContainEqual('file "interaction.onnx" is used but not listed in files (no hash to check)');
    expect(problems).toContainEqual('file "../outside.bin" points outside the package');
  });

  it('reports schema problems with their JSON path', async () => {
    const dir = await brokenPackage();
    await editManifest(dir, (manifest) => {
      manifest.format = 'hbi-model-package/2';
      manifest.dims.frames = 0;
    });
    const problems = await problemsOf(dir);
    expect(problems.some((problem) => problem.startsWith('manifest format:'))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('manifest dims.frames:'))).toBe(true);
  });

  it('refuses a package whose recorded decode recipe differs from the one the platform runs', async () => {
    const dir = await brokenPackage();
    await editManifest(dir, (manifest) => {
      manifest.decode.filter = 'scale={W}:{H}:flags=bicubic,format=rgb24';
    });
    expect(await problemsOf(dir)).toContainEqual(expect.stringContaining('decode.filter is "scale={W}:{H}:flags=bicubic'));
  });

  it('checks the answer list against dims.answers', async () => {
    const dir = await brokenPackage();
    await editManifest(dir, (manifest) => {
      manifest.answers.push('maybe');
    });
    expect(await problemsOf(dir)).toContainEqual('answers lists 4 entries but dims.answers is 3');
  });
});
