/**
 * The write side of cameras: a camera agent registers its camera (created when missing, so running the
 * agent twice is harmless) and reports whether it streams (ONLINE/OFFLINE, with `lastSeenAt`). Reads
 * stay in the catalog.
 */
import { randomUUID } from 'node:crypto';

import type { Prisma, RelationalDatabase } from '../db/relational.js';
import { ensureTenant, isUniqueViolation } from '../db/relational.js';
import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';
import { stripUrlSecrets } from '../util/redact.js';
import type { CameraRecord, CameraStatus } from './video-catalog.js';
import { inTenantScope } from '../db/scope.js';

/** Longest camera name and source URL accepted. */
const MAX_NAME = 200;
const MAX_SOURCE_URL = 2000;

const CAMERA = {
  id: true,
  name: true,
  status: true,
  createdAt: true,
  lastSeenAt: true,
} satisfies Prisma.CameraSelect;

export interface CameraRegistration {
  /** A uuid to register the camera under; without it the camera is found (or created) by name. */
  id?: string | null;
  name: string;
  /** Where the agent reads the stream, for display; credentials and secret parameters are stripped. */
  sourceUrl?: string | null;
}

export class CameraRegistry {
  readonly #db: Pick<RelationalDatabase, 'prisma'>;

  constructor(db: Pick<RelationalDatabase, 'prisma'>) {
    this.#db = db;
  }

  /**
   * The camera, created when missing: by id when one is given (its name and source updated), else by
   * name. BAD_USER_INPUT for a malformed id, an empty or overlong name, or a name another camera has.
   */
  async register(input: CameraRegistration, tenantId: string): Promise<CameraRecord> {
    return inTenantScope(tenantId, async () => {
      const name = input.name.trim();
      // eslint-disable-next-line no-control-regex
      if (name.length === 0 || name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
        throw new HbiError('BAD_USER_INPUT', `name must be 1 to ${MAX_NAME} printable characters`);
      }
      const id = input.id ?? undefined;
      if (id !== undefined && !isUuid(id)) {
        throw new HbiError('BAD_USER_INPUT', `id is not an id: ${JSON.stringify(input.id)}`);
      }
      const sourceUrl = cleanSourceUrl(input.sourceUrl);
      const { prisma } = this.#db;
      await ensureTenant(prisma, tenantId);
      // A new source replaces the stored one; none keeps it (`COALESCE(EXCLUDED.source_url, source_url)`).
      const source = sourceUrl === null ? {} : { sourceUrl };
      if (id === undefined) {
        // INSERT … ON CONFLICT ("tenant_id", "name") DO UPDATE: one camera per name, even when two agents
        // race. (`name` in `update` keeps it non-empty: an empty one makes Prisma read, then insert.)
        return prisma.camera.upsert({
          where: { tenantId_name: { tenantId, name } },
          create: { id: randomUUID(), tenantId, name, sourceUrl },
          update: { name, ...source },
          select: CAMERA,
        });
      }
      const holder = await prisma.camera.findFirst({
        where: { tenantId, name, id: { not: id } },
        select: { id: true },
      });
      if (holder) throw nameTaken(name);
      let camera: CameraRecord | null;
      try {
        // INSERT … ON CONFLICT ("id") DO UPDATE … WHERE "tenant_id" = $tenant: another tenant's camera
        // with this id is neither changed nor revealed. Prisma then returns null (its type says otherwise).
        camera = await prisma.camera.upsert({
          where: { id, tenantId },
          create: { id, tenantId, name, sourceUrl },
          update: { name, ...source },
          select: CAMERA,
        });
      } catch (error) {
        // The name was taken between the check and the write.
        if (isUniqueViolation(error)) throw nameTaken(name);
        throw error;
      }
      if (!camera) throw new HbiError('NOT_FOUND', `Camera ${id} not found`, { details: { id } });
      return camera;
    });
  }

  /** Records that the camera is (or stopped) streaming, now; NOT_FOUND for an unknown camera. */
  async setStatus(id: string, status: CameraStatus, tenantId: string): Promise<CameraRecord> {
    return inTenantScope(tenantId, async () => {
      const [camera] = isUuid(id)
        ? await this.#db.prisma.camera.updateManyAndReturn({
            where: { id, tenantId },
            data: { status, lastSeenAt: new Date() },
            select: CAMERA,
          })
        : [];
      if (!camera) throw new HbiError('NOT_FOUND', `Camera ${id} not found`, { details: { id } });
      return camera;
    });
  }
}

function nameTaken(name: string): HbiError {
  return new HbiError('BAD_USER_INPUT', `Another camera is already named ${JSON.stringify(name)}`);
}

/**
 * The source URL without credentials (a camera's RTSP URL often carries them) or secret query
 * parameters (`?token=…`), or null. The length limit applies to what was given.
 */
function cleanSourceUrl(value: string | null | undefined): string | null {
  const text = value?.trim();
  if (!text) return null;
  if (text.length > MAX_SOURCE_URL) {
    throw new HbiError('BAD_USER_INPUT', `sourceUrl must be at most ${MAX_SOURCE_URL} characters`);
  }
  return stripUrlSecrets(text);
}
