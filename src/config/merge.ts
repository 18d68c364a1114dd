/**
 * Environment overrides: `environments.<name>` merges over the top-level keys. Plain objects merge deeply;
 * arrays and every other value replace. A key present with the value undefined replaces too, so that
 * `secrets: { X: process.env.PROD_X }` with PROD_X unset is reported, never silently filled from the top level.
 */
export function mergeOverrides(base: Readonly<Record<string, unknown>>, overrides: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeOverrides(current, value) : value;
  }
  return merged;
}

/** A plain object from any realm: jiti evaluates config files in their own context, with its own Object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (Object.prototype.toString.call(value) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Whether `path` leads to a value the object itself sets (used to say where a problem was written). */
export function hasPath(object: unknown, path: readonly PropertyKey[]): boolean {
  let current: unknown = object;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return false;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return true;
}
