/**
 * The read side of the library: videos, segments and cameras of one tenant, one by id or a page at a
 * time after a keyset (never an offset, so pages stay stable while ingest adds rows). Malformed ids
 * name nothing: they read as "not found" without a database error.
 */
import type { Prisma, RelationalDatabase } from '../db/relational.js';
import type { PublicError } from '../errors.js';
import { isUuid } from '../util/ids.js';
import { inTenantScope } from '../db/scope.js';

export type VideoStatus = 'PENDING' | 'INDEXING' | 'INDEXED' | 'FAILED' | 'DELETED';
export type CameraStatus = 'ONLINE' | 'OFFLINE' | 'DISABLED';

export interface VideoRecord {
  id: string;
  tenantId: string;
  cameraId: string | null;
  title: string | null;
  sourceUri: string | null;
  sizeBytes: number;
  durationMs: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  container: string | null;
  codec: string | null;
  status: VideoStatus;
  /** Why the last indexing failed (client-safe), while status is FAILED. */
  error: PublicError | null;
  /** Wall-clock time the video was recorded (camera videos). */
  capturedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SegmentRecord {
  id: string;
  videoId: string;
  index: number;
  startMs: number;
  endMs: number;
  createdAt: Date;
}

export interface CameraRecord {
  id: string;
  name: string;
  status: CameraStatus;
  createdAt: Date;
  lastSeenAt: Date | null;
}

/** Where a page starts: after the row with this sort key. */
export interface TimeKey {
  createdAt: Date;
  id: string;
}

/** A video row as `VideoRecord` needs it (`recordedAt` becomes `capturedAt`). */
const VIDEO = { objectKey: true, contentSha256: true } satisfies Prisma.VideoOmit;

const CAMERA = {
  id: true,
  name: true,
  status: true,
  createdAt: true,
  lastSeenAt: true,
} satisfies Prisma.CameraSelect;

export class VideoCatalog {
  readonly #db: Pick<RelationalDatabase, 'prisma'>;

  constructor(db: Pick<RelationalDatabase, 'prisma'>) {
    this.#db = db;
  }

  async video(tenantId: string, id: string): Promise<VideoRecord | undefined> {
    return inTenantScope(tenantId, async () => {
      if (!isUuid(id)) return undefined;
      const row = await this.#db.prisma.video.findFirst({ where: { id, tenantId }, omit: VIDEO });
      return row ? toVideo(row) : undefined;
    });
  }

  /** Newest first; `cameraId` and `status` narrow the list (and its total). */
  async videos(
    tenantId: string,
    options: { limit: number; after?: TimeKey; cameraId?: string; status?: VideoStatus },
  ): Promise<{ videos: VideoRecord[]; totalCount: number }> {
    return inTenantScope(tenantId, async () => {
      const { prisma } = this.#db;
      const where: Prisma.VideoWhereInput = {
        tenantId,
        ...(options.cameraId !== undefined ? { cameraId: options.cameraId } : {}),
        ...(options.status !== undefined ? { status: options.status } : {}),
      };
      const { after } = options;
      const [totalCount, rows] = await Promise.all([
        prisma.video.count({ where }),
        prisma.video.findMany({
          // (created_at, id) < (after.createdAt, after.id)
          where: after
            ? {
                ...where,
                OR: [
                  { createdAt: { lt: after.createdAt } },
                  { createdAt: after.createdAt, id: { lt: after.id } },
                ],
              }
            : where,
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: options.limit,
          omit: VIDEO,
        }),
      ]);
      return { videos: rows.map(toVideo), totalCount };
    });
  }

  async segment(tenantId: string, id: string): Promise<SegmentRecord | undefined> {
    return inTenantScope(tenantId, async () => {
      if (!isUuid(id)) return undefined;
      return (await this.#db.prisma.segment.findFirst({ where: { id, video: { tenantId } } })) ?? undefined;
    });
  }

  /** A video's segments in timeline order, after segment `afterIndex`. */
  async segments(
    tenantId: string,
    videoId: string,
    options: { limit: number; afterIndex?: number },
  ): Promise<{ segments: SegmentRecord[]; totalCount: number }> {
    return inTenantScope(tenantId, async () => {
      if (!isUuid(videoId)) return { segments: [], totalCount: 0 };
      const { prisma } = this.#db;
      const where = { videoId, video: { tenantId } } satisfies Prisma.SegmentWhereInput;
      const [totalCount, segments] = await Promise.all([
        prisma.segment.count({ where }),
        prisma.segment.findMany({
          where: { ...where, index: { gt: options.afterIndex ?? -1 } },
          orderBy: { index: 'asc' },
          take: options.limit,
        }),
      ]);
      return { segments, totalCount };
    });
  }

  async camera(tenantId: string, id: string): Promise<CameraRecord | undefined> {
    return inTenantScope(tenantId, async () => {
      if (!isUuid(id)) return undefined;
      const row = await this.#db.prisma.camera.findFirst({ where: { id, tenantId }, select: CAMERA });
      return row ?? undefined;
    });
  }

  /** By name (unique per tenant), after the camera named `afterName`. */
  async cameras(
    tenantId: string,
    options: { limit: number; afterName?: string },
  ): Promise<{ cameras: CameraRecord[]; totalCount: number }> {
    return inTenantScope(tenantId, async () => {
      const { prisma } = this.#db;
      const [totalCount, cameras] = await Promise.all([
        prisma.camera.count({ where: { tenantId } }),
        prisma.camera.findMany({
          where: {
            tenantId,
            ...(options.afterName !== undefined ? { name: { gt: options.afterName } } : {}),
          },
          orderBy: { name: 'asc' },
          take: options.limit,
          select: CAMERA,
        }),
      ]);
      return { cameras, totalCount };
    });
  }
}

function toVideo({
  sizeBytes,
  error,
  recordedAt,
  ...row
}: Prisma.VideoGetPayload<{ omit: typeof VIDEO }>): VideoRecord {
  return { ...row, sizeBytes: Number(sizeBytes), error: error as PublicError | null, capturedAt: recordedAt };
}
