/**
 * Records the loaded model package in `model_versions` (once per name+version); the kernel then makes
 * sure its HNSW index exists (`VectorStore.ensureIndex`). Every stored vector points at this row, so a model change is visible, never a silent mix.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import type { Queryable } from '../db/port.js';
import { HbiError } from '../errors.js';
import type { ModelPackage } from '../model/package-loader.js';

export interface ModelVersionRecord {
  id: string;
  /** `name@version`. */
  modelId: string;
  embedDim: number;
}

/** Registers the package (idempotent) and returns its row; MODEL_PACKAGE_INVALID when a different manifest already claims name+version. */
export async function registerModelVersion(
  db: Queryable,
  modelPackage: ModelPackage,
): Promise<ModelVersionRecord> {
  const { manifest } = modelPackage;
  const manifestSha256 = createHash('sha256')
    .update(await readFile(modelPackage.file('manifest.json')))
    .digest('hex');
  await db.query(
    `INSERT INTO "model_versions" ("id", "name", "version", "architecture", "embed_dim", "manifest_sha256", "manifest")
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
     ON CONFLICT ("name", "version") DO NOTHING`,
    [
      randomUUID(),
      manifest.name,
      manifest.version,
      manifest.architecture,
      manifest.dims.embed,
      manifestSha256,
      JSON.stringify(manifest),
    ],
  );
  const { rows } = await db.query<{ id: string; manifest_sha256: string }>(
    `SELECT "id", "manifest_sha256" FROM "model_versions" WHERE "name" = $1 AND "version" = $2`,
    [manifest.name, manifest.version],
  );
  const row = rows[0]!;
  if (row.manifest_sha256 !== manifestSha256) {
    throw new HbiError(
      'MODEL_PACKAGE_INVALID',
      `Model ${modelPackage.id} is already registered with a different manifest: bump the version instead of changing a published package`,
      { details: { model: modelPackage.id } },
    );
  }
  return { id: row.id, modelId: modelPackage.id, embedDim: manifest.dims.embed };
}
