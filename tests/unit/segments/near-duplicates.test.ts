/**
 * Near-duplicate groups: a written segment joins the group of the nearest representative of its tenant
 * and model version when their embeddings are similar enough, search reads groups by representative,
 * and a group outlives its representative.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { migrate } from '../../../src/core/db/migrate.js';
import type { PgliteDatabase } from '../../../src/core/db/pglite.js';
import { openPgliteDatabase } from '../../../src/core/db/pglite.js';
import type { BulkSegment } from '../../../src/core/segments/vector-store.js';
import { VectorStore } from '../../../src/core/segments/vector-store.js';
import { systemView } from '../../helpers/system-scope.js';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations/', import.meta.url));
const DIM = 8;

/** Unit vector along axis `axis`, nudged by `nudge` on the next axis (cosine ≈ 1 − nudge²/2 to the axis). */
function near(axis: number, nudge = 0): Float32Array {
  const values = new Float32Array(DIM);
  values[axis] = 1;
  values[(axis + 1) % DIM] = nudge;
  const norm = Math.hypot(...values);
  return values.map((value) => value / norm);
}

describe('near-duplicate groups in the vector store', () => {
  let db: PgliteDatabase;
  let store: VectorStore;
  const [tenant, other] = [randomUUID(), randomUUID()];
  const model = { id: randomUUID(), modelId: 'm@1', embedDim: DIM };
  const sql = () => systemView(db);

  const video = async (tenantId: string) => {
    const id = randomUUID();
    await sql().query(
      `INSERT INTO videos (id, tenant_id, object_key, content_sha256, size_bytes, status, updated_at) VALUES ($1, $2, 'k', md5(random()::text), 1, 'INDEXED', now())`,
      [id, tenantId],
    );
    return id;
  };
  const write = (videoId: string, index: number, embedding: Float32Array) =>
    sql().transaction((tx) =>
      store.writeSegment(
        {
          videoId,
          index,
          startMs: index * 1000,
          endMs: (index + 1) * 1000,
          vectors: {
            embedding,
            frameTokens: embedding,
            frameWeights: new Float32Array(1),
            frameMask: new Float32Array(1),
          },
        },
        tx,
      ),
    );
  const groupOf = async (segmentId: string) => {
    const { rows } = await sql().query<{ duplicate_of: string | null }>(
      `SELECT "duplicate_of" FROM "segment_embeddings" WHERE "segment_id" = $1`,
      [segmentId],
    );
    return rows[0]!.duplicate_of;
  };

  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db, MIGRATIONS);
    await sql().query('INSERT INTO tenants (id, name) VALUES ($1, $2), ($3, $4)', [tenant, 't', other, 'o']);
    await sql().query(
      `INSERT INTO model_versions (id, name, version, architecture, embed_dim, manifest_sha256, manifest) VALUES ($1, 'm', '1', 'tiny', $2, 'x', '{}')`,
      [model.id, DIM],
    );
    store = new VectorStore(db, model, { nearDuplicateSimilarity: 0.99 });
    await store.ensureIndex();
  });
  afterAll(async () => {
    await store?.close();
    await db?.close();
  });

  it('puts a segment within the similarity of a representative in its group, and nothing across tenants', async () => {
    const camera = await video(tenant);
    const first = await write(camera, 0, near(0));
    const copy = await write(camera, 1, near(0, 0.05)); // cosine 0.9988
    const apart = await write(camera, 2, near(0, 0.3)); // cosine 0.958: a scene of its own
    const elsewhere = await write(await video(other), 0, near(0));
    expect(await groupOf(first.id)).toBeNull();
    expect(await groupOf(copy.id)).toBe(first.id);
    expect(await groupOf(apart.id)).toBeNull();
    expect(await groupOf(elsewhere.id)).toBeNull();
    // A rewrite (redelivered ingest) keeps the segment where it was.
    expect((await write(camera, 0, near(0))).id).toBe(first.id);
    expect(await groupOf(first.id)).toBeNull();
  });

  it('groups the rows of one bulk insert among themselves too', async () => {
    const videoId = await video(tenant);
    const rows: BulkSegment[] = [near(3), near(3, 0.04), near(4), near(3, 0.02)].map((embedding, index) => ({
      segmentId: randomUUID(),
      videoId,
      index,
      startMs: 0,
      endMs: 1000,
      vectors: {
        embedding,
        frameTokens: embedding,
        frameWeights: new Float32Array(1),
        frameMask: new Float32Array(1),
      },
    }));
    await sql().transaction((tx) => store.insertBulk(rows, tx));
    const groups = await Promise.all(rows.map((row) => groupOf(row.segmentId)));
    expect(groups).toEqual([null, rows[0]!.segmentId, null, rows[0]!.segmentId]);
  });

  it('serves one candidate per group with its member count, and the members on request, per tenant', async () => {
    const videoId = await video(tenant);
    for (let i = 0; i < 5; i++) await write(videoId, i, near(6, 0.01 * i));
    const groups = await store.forTenant(tenant).nearestGroups({ embedding: near(6), k: 3, efSearch: 40 });
    // The five copies are one candidate; the other two slots go to other groups.
    expect(groups[0]).toMatchObject({ videoId, index: 0, hit: true, members: 4 });
    expect(groups.slice(1).map((group) => group.videoId)).not.toContain(videoId);
    expect(groups[0]!.frameTokens).toHaveLength(DIM);
    const members = await store
      .forTenant(tenant)
      .groupMembers({ embedding: near(6), groupIds: [groups[0]!.segmentId], limit: 10 });
    expect(members.map((member) => member.index)).toEqual([1, 2, 3, 4]);
    expect(new Set(members.map((member) => member.groupId))).toEqual(new Set([groups[0]!.segmentId]));
    // Another tenant sees neither the groups nor their members.
    const foreign = await store.forTenant(other).nearestGroups({ embedding: near(6), k: 3, efSearch: 40 });
    expect(foreign.map((group) => group.videoId)).not.toContain(videoId);
    expect(
      await store
        .forTenant(other)
        .groupMembers({ embedding: near(6), groupIds: [groups[0]!.segmentId], limit: 10 }),
    ).toEqual([]);
  });

  it('never joins a representative deleted since this process cached it', async () => {
    const videoId = await video(tenant);
    const gone = await write(videoId, 0, near(5));
    await sql().query(`DELETE FROM "segments" WHERE "id" = $1`, [gone.id]);
    const copy = await write(videoId, 1, near(5, 0.01));
    expect(await groupOf(copy.id)).toBeNull();
    expect(await groupOf((await write(videoId, 2, near(5, 0.02))).id)).toBe(copy.id);
  });

  it('hands the representative role on when the representative is deleted', async () => {
    const videoId = await video(tenant);
    const [rep, a, b] = [
      await write(videoId, 0, near(7)),
      await write(videoId, 1, near(7, 0.01)),
      await write(videoId, 2, near(7, 0.02)),
    ];
    expect([await groupOf(a.id), await groupOf(b.id)]).toEqual([rep.id, rep.id]);
    await sql().query(`DELETE FROM "segments" WHERE "id" = $1`, [rep.id]);
    expect(await groupOf(a.id)).toBeNull();
    expect(await groupOf(b.id)).toBe(a.id);
    const groups = await store.forTenant(tenant).nearestGroups({ embedding: near(7), k: 1, efSearch: 40 });
    expect(groups[0]).toMatchObject({ segmentId: a.id, members: 1 });
  });
});
