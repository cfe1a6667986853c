/**
 * Tenants: every video, camera, job, key, vector and cache entry belongs to exactly one. A request
 * acts for its principal's tenant; the default tenant exists from the first start (with its first
 * admin key).
 */

/** The installation's first tenant (`default`). */
export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000000';

/** The tenant of a request without credentials: the nil UUID, which owns nothing. */
export const NO_TENANT = '00000000-0000-0000-0000-000000000000';
