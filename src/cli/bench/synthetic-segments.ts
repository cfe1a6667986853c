/**
 * The search benchmark's corpus: many indexed segments made from fewer real encodings. Each demo clip is
 * decoded and turned into sixteen visibly different clips (mirrored, flipped, played backwards or from
 * half-way, colour channels rotated), each of those is encoded by the shared encoder for real, and every stored segment
 * is one such encoding plus small seeded Gaussian noise (on the embedding, then re-normalised, and on
 * the frame tokens; weights and mask are kept). The rows go in with the ingest path's SQL shape.
 */
import { randomUUID } from 'node:crypto';

import type { Database } from '../../core/db/port.js';
import type { VideoEncoding } from '../../core/encoder/types.js';
import type { BulkSegment, VectorStore } from '../../core/segments/vector-store.js';
import { insertRows } from '../../core/segments/vector-store.js';
import { DEFAULT_TENANT_ID } from '../../core/tenancy.js';
import { gaussian, seededRandom } from './stats.js';
import { inTenantScope } from '../../core/db/scope.js';

/** One clip variant: which axes to mirror, whether to reverse or rotate time, and the channel order. */
interface Variant {
  name: string;
  flipX?: boolean;
  flipY?: boolean;
  reverse?: boolean;
  /** Start half-way through and wrap around. */
  roll?: boolean;
  channels?: readonly [number, number, number];
}

const BASIC: readonly Variant[] = [
  { name: 'original' },
  { name: 'mirrored', flipX: true },
  { name: 'upside-down', flipY: true },
  { name: 'backwards', reverse: true },
  { name: 'gbr', channels: [1, 2, 0] },
  { name: 'brg', channels: [2, 0, 1] },
  { name: 'mirrored backwards', flipX: true, reverse: true },
  { name: 'upside-down gbr', flipY: true, channels: [1, 2, 0] },
];

/** Sixteen variants: the basic eight, and each again starting half-way through. */
export const VARIANTS: readonly Variant[] = [
  ...BASIC,
  ...BASIC.map((variant) => ({ ...variant, name: `${variant.name}, rolled`, roll: true })),
];

/** `frames` [T,H,W,3] transformed by `variant`. */
export function applyVariant(
  frames: Uint8Array,
  dims: { frames: number; height: number; width: number },
  variant: Variant,
): Uint8Array {
  const { frames: count, height, width } = dims;
  const channels = variant.channels ?? [0, 1, 2];
  const out = new Uint8Array(frames.length);
  for (let t = 0; t < count; t++) {
    const shifted = variant.roll ? (t + Math.floor(count / 2)) % count : t;
    const source = variant.reverse ? count - 1 - shifted : shifted;
    for (let y = 0; y < height; y++) {
      const sy = variant.flipY ? height - 1 - y : y;
      for (let x = 0; x < width; x++) {
        const sx = variant.flipX ? width - 1 - x : x;
        const from = ((source * height + sy) * width + sx) * 3;
        const to = ((t * height + y) * width + x) * 3;
        for (let c = 0; c < 3; c++) out[to + c] = frames[from + channels[c]!]!;
      }
    }
  }
  return out;
}

/** What the exact scan needs of one stored segment. */
export interface SyntheticSegment {
  segmentId: string;
  frameTokens: Float32Array;
  frameWeights: Float32Array;
  frameMask: Float32Array;
}

export interface InsertOptions {
  count: number;
  /** Noise standard deviation relative to each vector's root mean square. */
  noise: number;
  seed: number;
  /** Segments per synthetic video (10 s each). */
  segmentsPerVideo?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Rows per INSERT statement. */
const CHUNK = 200;

/** Inserts `count` synthetic segments (cycling over `bases`) and returns them for the exact scan. */
export async function insertSyntheticSegments(
  db: Database,
  vectors: VectorStore,
  bases: readonly VideoEncoding[],
  options: InsertOptions,
): Promise<SyntheticSegment[]> {
  // The rows belong to the default tenant, and are written in its data scope (src/core/db/scope.ts).
  return inTenantScope(DEFAULT_TENANT_ID, async () => {
    const noise = gaussian(seededRandom(options.seed));
    const perVideo = options.segmentsPerVideo ?? 10;
    const segments: SyntheticSegment[] = [];
    await db.query(
      `INSERT INTO "tenants" ("id", "name") VALUES ($1, 'default') ON CONFLICT ("id") DO NOTHING`,
      [DEFAULT_TENANT_ID],
    );
    for (let start = 0; start < options.count; start += CHUNK) {
      const rows = Math.min(CHUNK, options.count - start);
      const videos: unknown[][] = [];
      const segmentRows: BulkSegment[] = [];
      for (let i = start; i < start + rows; i++) {
        if (i % perVideo === 0 || videos.length === 0) {
          const id = randomUUID();
          videos.push([
            id,
            DEFAULT_TENANT_ID,
            `bench/synthetic/${id}`,
            id,
            `synthetic ${i / perVideo}`,
            perVideo * 10_000,
          ]);
        }
        const base = bases[i % bases.length]!;
        const segmentId = randomUUID();
        const index = i % perVideo;
        const embedding = normalise(perturb(base.embedding, options.noise, noise));
        const frameTokens = perturb(base.frameTokens, options.noise, noise);
        segmentRows.push({
          segmentId,
          videoId: videos.at(-1)![0] as string,
          index,
          startMs: index * 10_000,
          endMs: (index + 1) * 10_000,
          vectors: { embedding, frameTokens, frameWeights: base.frameWeights, frameMask: base.frameMask },
        });
        segments.push({ segmentId, frameTokens, frameWeights: base.frameWeights, frameMask: base.frameMask });
      }
      await db.transaction(async (tx) => {
        await insertRows(
          tx,
          `INSERT INTO "videos" ("id", "tenant_id", "object_key", "content_sha256", "title", "duration_ms", "size_bytes", "status", "updated_at")`,
          videos,
          (p) => `(${p[0]}, ${p[1]}, ${p[2]}, ${p[3]}, ${p[4]}, ${p[5]}, 0, 'INDEXED', now())`,
        );
        await vectors.insertBulk(segmentRows, tx);
      });
      options.onProgress?.(start + rows, options.count);
    }
    return segments;
  });
}

/** `values` plus Gaussian noise of `scale` × their root mean square. */
function perturb(values: Float32Array, scale: number, noise: () => number): Float32Array {
  const rms = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0) / values.length);
  return values.map((value) => value + scale * rms * noise());
}

function normalise(values: Float32Array): Float32Array {
  const norm = Math.hypot(...values) || 1;
  return values.map((value) => value / norm);
}
