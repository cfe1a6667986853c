/** Row ids are UUIDs; a string that is not one names nothing, so lookups can answer before asking the database. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is spelled as a UUID (any version). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
