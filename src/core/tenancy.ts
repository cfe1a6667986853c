/**
 * Tenants: every video, camera, job, vector and cache entry belongs to exactly one. Until
 * authentication names the caller's tenant, every request acts for the default one, which exists
 * from the first start.
 */

/** The tenant of every request until authentication names another. */
export const DEFAULT_TENANT_ID = '00000000-0000-4000-8000-000000000000';
