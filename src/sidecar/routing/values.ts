/**
 * @module sidecar/routing/values
 * Small readers for rule values. Rules arrive either as YAML text we parse with the failsafe
 * schema (every scalar a string, so `version: 1.0` stays "1.0") or as a list the config loader
 * already parsed (numbers and booleans typed). Each reader accepts both and returns a value or an
 * error message; the callers attach the key path.
 */

export type Read<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const bad = (message: string): Read<never> => ({ ok: false, message });

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An integer in [min, max], from a number or a decimal string. */
export function readInt(v: unknown, min: number, max: number): Read<number> {
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^[+-]?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n)) return bad(`must be an integer, got ${JSON.stringify(v)}`);
  if (n < min || n > max) return bad(`must be between ${min} and ${max}, got ${n}`);
  return ok(n);
}

/** A finite number in (min, max], from a number or a decimal string. */
export function readPositive(v: unknown, max: number): Read<number> {
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0) return bad(`must be a number > 0, got ${JSON.stringify(v)}`);
  if (n > max) return bad(`must be at most ${max}, got ${n}`);
  return ok(n);
}

export function readBool(v: unknown): Read<boolean> {
  if (typeof v === 'boolean') return ok(v);
  if (v === 'true' || v === 'false') return ok(v === 'true');
  return bad(`must be true or false, got ${JSON.stringify(v)}`);
}

/**
 * A string value. Numbers are accepted (an already-parsed YAML turned `1.0` into 1) and reported
 * through `onNumber` so the caller can warn that quoting keeps the spelling.
 */
export function readString(v: unknown, onNumber?: (n: number) => void): Read<string> {
  if (typeof v === 'string') return ok(v);
  if (typeof v === 'number' && Number.isFinite(v)) {
    onNumber?.(v);
    return ok(String(v));
  }
  if (typeof v === 'boolean') return ok(String(v));
  return bad(`must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
}

/** A `{string: string}` map (tags). */
export function readStringMap(
  v: unknown,
  maxEntries: number,
  onNumber?: (key: string, n: number) => void,
): Read<Record<string, string>> {
  if (!isPlainObject(v)) return bad('must be a map of names to values');
  const entries = Object.entries(v);
  if (entries.length > maxEntries) return bad(`has more than ${maxEntries} entries`);
  const out: Record<string, string> = {};
  for (const [k, raw] of entries) {
    const s = readString(raw, (n) => onNumber?.(k, n));
    if (!s.ok) return bad(`${k} ${s.message}`);
    out[k] = s.value;
  }
  return ok(out);
}

/** Keys of `obj` not in `allowed`, as one message, or undefined. */
export function unknownKeys(obj: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length === 0) return undefined;
  return `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')} (allowed: ${allowed.join(', ')})`;
}
