/**
 * @module sidecar/policy/values
 * Scalar coercers for flat config values. Files give numbers and booleans; environment variables
 * and `${ENV||default}` substitution give strings; both are accepted. Each coercer returns either
 * `{ ok: true, value }` or `{ ok: false, message }`, the message phrased to follow the key name.
 */

export type Coerced<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string };
export type Coercer<T = unknown> = (raw: unknown) => Coerced<T>;

const ok = <T>(value: T): Coerced<T> => ({ ok: true, value });
const bad = (message: string): Coerced<never> => ({ ok: false, message });

function show(raw: unknown): string {
  try {
    return typeof raw === 'string' ? JSON.stringify(raw) : String(JSON.stringify(raw) ?? raw);
  } catch {
    return String(raw);
  }
}

export const bool: Coercer<boolean> = (raw) => {
  if (typeof raw === 'boolean') return ok(raw);
  if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (s === 'true') return ok(true);
    if (s === 'false') return ok(false);
  }
  return bad(`must be true or false (got ${show(raw)})`);
};

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw)) return Number(raw);
  return undefined;
}

export function int(min: number, max = Number.MAX_SAFE_INTEGER): Coercer<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined || !Number.isInteger(n)) return bad(`must be an integer (got ${show(raw)})`);
    if (n < min || n > max) return bad(`must be between ${min} and ${max} (got ${n})`);
    return ok(n);
  };
}

export function num(min: number, max = Number.MAX_VALUE): Coercer<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined || !Number.isFinite(n)) return bad(`must be a number (got ${show(raw)})`);
    if (n < min || n > max) return bad(`must be between ${min} and ${max} (got ${n})`);
    return ok(n);
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** Milliseconds: an integer, or a string with a unit ("250ms", "2s", "1.5s", "1m"). */
export function ms(min: number, max = 24 * 3_600_000): Coercer<number> {
  const plain = int(min, max);
  return (raw) => {
    if (typeof raw === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/i.exec(raw);
      if (m) {
        const n = Math.round(Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!);
        if (n < min || n > max) return bad(`must be between ${min} and ${max} ms (got ${n} ms)`);
        return ok(n);
      }
    }
    const r = plain(raw);
    return r.ok
      ? r
      : bad(`${r.message.replace(/^must be an integer/, 'must be milliseconds (an integer or e.g. "2s")')}`);
  };
}

/** One of a fixed set of words, case-insensitive; the canonical (table) spelling is returned. */
export function oneOf<T extends string>(...words: readonly T[]): Coercer<T> {
  return (raw) => {
    if (typeof raw === 'string') {
      const s = raw.trim().toLowerCase();
      const w = words.find((x) => x.toLowerCase() === s);
      if (w !== undefined) return ok(w);
    }
    return bad(`must be one of ${words.join(', ')} (got ${show(raw)})`);
  };
}

/**
 * A list of HTTP statuses: an array, or a comma-separated string. Items are a status (`503`), a
 * class (`5xx`) or the original's `http_503` spelling. The result is sorted and deduplicated.
 */
export const statusList: Coercer<readonly number[]> = (raw) => {
  let items: unknown[];
  if (Array.isArray(raw)) items = raw;
  else if (typeof raw === 'string') items = raw.split(',').filter((s) => s.trim() !== '');
  else if (typeof raw === 'number') items = [raw];
  else return bad(`must be a list of HTTP statuses such as "502,503" or "5xx" (got ${show(raw)})`);
  const out = new Set<number>();
  for (const item of items) {
    const s = String(item)
      .trim()
      .toLowerCase()
      .replace(/^http_/, '');
    const cls = /^([1-5])xx$/.exec(s);
    if (cls) {
      const base = Number(cls[1]) * 100;
      for (let i = 0; i < 100; i++) out.add(base + i);
      continue;
    }
    if (!/^\d{3}$/.test(s) || Number(s) < 100 || Number(s) > 599) {
      return bad(`has ${show(item)}, which is not an HTTP status 100-599 or a class like 5xx`);
    }
    out.add(Number(s));
  }
  return ok([...out].sort((a, b) => a - b));
};
