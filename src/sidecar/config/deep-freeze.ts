/**
 * @module sidecar/config/deep-freeze
 * Freeze a plain data tree (objects and arrays) so config can be shared without defensive copies.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  return Object.freeze(value);
}
