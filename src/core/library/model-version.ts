/**
 * Records the loaded model package in `model_versions` (once per name+version); the kernel then makes
 * sure its HNSW index exists (`VectorStore.ensureIndex`). Every stored vector points at this row, so a model change is visible, never a silent mix.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import type { RelationalDatabase } from '../db/relational.js';
import { toJson } from '../db/relational.js';
import { HbiError } from '../errors.js';
import type { ModelPackage } from '../model/package-loader.js';
import { inSystemScope } from '../db/scope.js';

export interface ModelVersionRecord {
  id: string;
  /** `name@version`. */
  modelId: string;
  embedDim: number;
}

/** Registers the package (idempotent) and returns its row; MODEL_PACKAGE_INVALID when a different manifest already claims name+version. */
export async function registerModelVersion(
  db: RelationalDatabase,
  modelPackage: ModelPackage,
): Promise<ModelVersionRecord> {
  const manifestSha256 = createHash('sha256')
    .update(await readFile(modelPackage.file('manifest.json')))
    .digest('hex');
  // INSERT … ON CONFLICT ("name", "version") DO NOTHING, then the row that holds name+version (this
  // one, or the one another process registered first). Model versions belong to no tenant.
  return inSystemScope('model version registration', () => register(db, modelPackage, manifestSha256));
}

async function register(
  db: RelationalDatabase,
  modelPackage: ModelPackage,
  manifestSha256: string,
): Promise<ModelVersionRecord> {
  const { manifest } = modelPackage;
  await db.prisma.modelVersion.createMany({
    data: [
      {
        id: randomUUID(),
        name: manifest.name,
        version: manifest.version,
        architecture: manifest.architecture,
        embedDim: manifest.dims.embed,
        manifestSha256,
        manifest: toJson(manifest),
      },
    ],
    skipDuplicates: true,
  });
  const row = await db.prisma.modelVersion.findUniqueOrThrow({
    where: { name_version: { name: manifest.name, version: manifest.version } },
    select: { id: true, manifestSha256: true },
  });
  if (row.manifestSha256 !== manifestSha256) {
    throw new HbiError(
      'MODEL_PACKAGE_INVALID',
      `Model ${modelPackage.id} is already registered with a different manifest: bump the version instead of changing a published package`,
      { details: { model: modelPackage.id } },
    );
  }
  return { id: row.id, modelId: modelPackage.id, embedDim: manifest.dims.embed };
}
