/**
 * The write side of cameras: a camera agent registers its camera (created when missing, so running the
 * agent twice is harmless) and reports whether it streams (ONLINE/OFFLINE, with `lastSeenAt`). Reads
 * stay in the catalog.
 */
import { randomUUID } from 'node:crypto';

import type { Queryable } from '../db/port.js';
import { HbiError } from '../errors.js';
import { isUuid } from '../util/ids.js';
import type { CameraRecord, CameraStatus } from './video-catalog.js';

/** Longest camera name and source URL accepted. */
const MAX_NAME = 200;
const MAX_SOURCE_URL = 2000;

const COLUMNS = `"id", "name", "status", "created_at" AS "createdAt", "last_seen_at" AS "lastSeenAt"`;

export interface CameraRegistration {
  /** A uuid to register the camera under; without it the camera is found (or created) by name. */
  id?: string | null;
  name: string;
  /** Where the agent reads the stream, for display; credentials are stripped. */
  sourceUrl?: string | null;
}

export class CameraRegistry {
  readonly #db: Queryable;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /**
   * The camera, created when missing: by id when one is given (its name and source updated), else by
   * name. BAD_USER_INPUT for a malformed id, an empty or overlong name, or a name another camera has.
   */
  async register(input: CameraRegistration, tenantId: string): Promise<CameraRecord> {
    const name = input.name.trim();
    // eslint-disable-next-line no-control-regex
    if (name.length === 0 || name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
      throw new HbiError('BAD_USER_INPUT', `name must be 1 to ${MAX_NAME} printable characters`);
    }
    if (input.id !== null && input.id !== undefined && !isUuid(input.id)) {
      throw new HbiError('BAD_USER_INPUT', `id is not an id: ${JSON.stringify(input.id)}`);
    }
    const sourceUrl = cleanSourceUrl(input.sourceUrl);
    await this.#db.query(
      `INSERT INTO "tenants" ("id", "name") VALUES ($1, 'default') ON CONFLICT ("id") DO NOTHING`,
      [tenantId],
    );
    if (input.id === null || input.id === undefined) {
      const { rows } = await this.#db.query<CameraRecord>(
        `INSERT INTO "cameras" ("id", "tenant_id", "name", "source_url") VALUES ($1, $2, $3, $4)
         ON CONFLICT ("tenant_id", "name") DO UPDATE
           SET "source_url" = COALESCE(EXCLUDED."source_url", "cameras"."source_url")
         RETURNING ${COLUMNS}`,
        [randomUUID(), tenantId, name, sourceUrl],
      );
      return rows[0]!;
    }
    const { rows: holders } = await this.#db.query<{ id: string }>(
      `SELECT "id" FROM "cameras" WHERE "tenant_id" = $1 AND "name" = $2 AND "id" <> $3`,
      [tenantId, name, input.id],
    );
    if (holders.length > 0) {
      throw new HbiError('BAD_USER_INPUT', `Another camera is already named ${JSON.stringify(name)}`);
    }
    const { rows } = await this.#db.query<CameraRecord>(
      `INSERT INTO "cameras" ("id", "tenant_id", "name", "source_url") VALUES ($1, $2, $3, $4)
       ON CONFLICT ("id") DO UPDATE
         SET "name" = EXCLUDED."name", "source_url" = COALESCE(EXCLUDED."source_url", "cameras"."source_url")
         WHERE "cameras"."tenant_id" = EXCLUDED."tenant_id"
       RETURNING ${COLUMNS}`,
      [input.id, tenantId, name, sourceUrl],
    );
    if (!rows[0])
      throw new HbiError('NOT_FOUND', `Camera ${input.id} not found`, { details: { id: input.id } });
    return rows[0];
  }

  /** Records that the camera is (or stopped) streaming, now; NOT_FOUND for an unknown camera. */
  async setStatus(id: string, status: CameraStatus, tenantId: string): Promise<CameraRecord> {
    const { rows } = isUuid(id)
      ? await this.#db.query<CameraRecord>(
          `UPDATE "cameras" SET "status" = $3::"CameraStatus", "last_seen_at" = now()
           WHERE "id" = $1 AND "tenant_id" = $2 RETURNING ${COLUMNS}`,
          [id, tenantId, status],
        )
      : { rows: [] };
    if (!rows[0]) throw new HbiError('NOT_FOUND', `Camera ${id} not found`, { details: { id } });
    return rows[0];
  }
}

/** The source URL without credentials (a camera's RTSP URL often carries them), or null. */
function cleanSourceUrl(value: string | null | undefined): string | null {
  const text = value?.trim();
  if (!text) return null;
  if (text.length > MAX_SOURCE_URL) {
    throw new HbiError('BAD_USER_INPUT', `sourceUrl must be at most ${MAX_SOURCE_URL} characters`);
  }
  if (!URL.canParse(text)) return text;
  const url = new URL(text);
  url.username = '';
  url.password = '';
  return url.href;
}
