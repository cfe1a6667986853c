/**
 * Loads a model package (docs/model-package.md) and refuses it unless everything matches: the manifest
 * parses, every listed file has its recorded size and SHA-256, every graph's manifest entry satisfies
 * the contract, and every ONNX file declares exactly the tensors its manifest entry lists. One error
 * (MODEL_PACKAGE_INVALID) lists every difference, so a broken export is fixed in one round.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { HbiError } from '../errors.js';
import { diffDecodeRecipe, expectedSpecs, isContractGraph } from './contract.js';
import type { GraphSpec, ModelManifest } from './manifest.js';
import { manifestSchema } from './manifest.js';
import { readOnnxSignature } from './onnx-signature.js';
import { deepFreeze } from '../util/deep-freeze.js';
import { diffTensors } from './signature-check.js';
import { hashFile } from '../util/hash-file.js';

/** Graphs every package must have: ingest and search cannot work without them. */
export const REQUIRED_GRAPHS = ['video', 'text'] as const;

export interface ModelPackage {
  /** Absolute folder of the package. */
  dir: string;
  manifest: ModelManifest;
  /** `name@version`, stored with every vector the package produces. */
  id: string;
  /** Graph names the package provides. */
  graphs: readonly string[];
  /** Absolute path of a package file (a graph, the tokenizer). */
  file(name: string): string;
  graph(name: string): GraphSpec | undefined;
}

/** Reads and fully verifies the package in `dir`; throws MODEL_PACKAGE_INVALID listing every problem. */
export async function loadModelPackage(dir: string): Promise<ModelPackage> {
  const root = path.resolve(dir);
  const manifest = await readManifest(root);
  const problems = [...checkManifestConsistency(manifest), ...(await checkFiles(root, manifest))];
  if (problems.length === 0) problems.push(...(await checkGraphs(root, manifest)));
  if (problems.length > 0) {
    throw new HbiError(
      'MODEL_PACKAGE_INVALID',
      `Model package ${root} does not match its manifest or the contract:\n- ${problems.join('\n- ')}`,
      { details: { dir: root, problems } },
    );
  }
  const graphs = Object.freeze(Object.keys(manifest.graphs));
  return Object.freeze({
    dir: root,
    manifest,
    id: `${manifest.name}@${manifest.version}`,
    graphs,
    file: (name: string) => resolveInside(root, name),
    graph: (name: string) => (Object.hasOwn(manifest.graphs, name) ? manifest.graphs[name] : undefined),
  });
}

async function readManifest(root: string): Promise<ModelManifest> {
  const file = path.join(root, 'manifest.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new HbiError('MODEL_PACKAGE_INVALID', `No model package at ${root}: cannot read manifest.json`, {
      cause: error,
      details: { dir: root },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HbiError('MODEL_PACKAGE_INVALID', `${file} is not valid JSON`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `manifest ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new HbiError('MODEL_PACKAGE_INVALID', `${file} is not a valid manifest:\n- ${problems.join('\n- ')}`, {
      details: { dir: root, problems },
    });
  }
  return deepFreeze(parsed.data);
}

function checkManifestConsistency(manifest: ModelManifest): string[] {
  const problems: string[] = [];
  for (const graph of REQUIRED_GRAPHS) if (!manifest.graphs[graph]) problems.push(`graph "${graph}" is missing`);
  if (manifest.answers.length !== manifest.dims.answers) {
    problems.push(`answers lists ${manifest.answers.length} entries but dims.answers is ${manifest.dims.answers}`);
  }
  problems.push(...diffDecodeRecipe(manifest.decode));
  const referenced = [manifest.tokenizer.file, ...Object.values(manifest.graphs).map((graph) => graph.file)];
  for (const file of referenced) {
    if (!Object.hasOwn(manifest.files, file)) problems.push(`file "${file}" is used but not listed in files (no hash to check)`);
  }
  for (const [name, graph] of Object.entries(manifest.graphs)) {
    if (isContractGraph(name)) {
      const expected = expectedSpecs(name, manifest.dims);
      problems.push(...diffTensors(`manifest graphs.${name} input`, expected.inputs, graph.inputs));
      problems.push(...diffTensors(`manifest graphs.${name} output`, expected.outputs, graph.outputs));
    }
  }
  return problems;
}

async function checkFiles(root: string, manifest: ModelManifest): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, expected] of Object.entries(manifest.files)) {
    let file: string;
    try {
      file = resolveInside(root, name);
    } catch (error) {
      problems.push((error as Error).message);
      continue;
    }
    const stats = await stat(file).catch(() => null);
    if (!stats?.isFile()) {
      problems.push(`file "${name}" is listed but missing`);
      continue;
    }
    if (stats.size !== expected.bytes) {
      problems.push(`file "${name}" has ${stats.size} bytes, manifest says ${expected.bytes}`);
      continue;
    }
    const sha256 = await hashFile(file);
    if (sha256 !== expected.sha256) problems.push(`file "${name}" has SHA-256 ${sha256}, manifest says ${expected.sha256}`);
  }
  return problems;
}

async function checkGraphs(root: string, manifest: ModelManifest): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, graph] of Object.entries(manifest.graphs)) {
    try {
      const signature = await readOnnxSignature(resolveInside(root, graph.file));
      problems.push(...diffTensors(`${graph.file} input`, graph.inputs, signature.inputs));
      problems.push(...diffTensors(`${graph.file} output`, graph.outputs, signature.outputs));
    } catch (error) {
      problems.push(`graph "${name}" (${graph.file}) is not a readable ONNX model: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** Joins a manifest file name to the package root, refusing names that escape it. */
function resolveInside(root: string, name: string): string {
  const file = path.resolve(root, name);
  if (path.relative(root, file).startsWith('..') || path.isAbsolute(name)) {
    throw new HbiError('MODEL_PACKAGE_INVALID', `file "${name}" points outside the package`);
  }
  return file;
}
