/**
 * @module sidecar/governance/values
 * Field coercers for the marker form's YAML documents. Values come from YAML (numbers, booleans,
 * lists) or from config-center strings, so numeric strings are accepted everywhere. Each coercer
 * returns `{ ok, value }` or `{ ok: false, message }`, the message phrased to follow the key
 * (`servicecomb.rateLimiting.userLogin.rate: must be a positive number (got -1)`).
 */
import { type Coerced, type Coercer, statusList } from '../policy/values.ts';

export type { Coerced, Coercer };
export { statusList };

const ok = <T>(value: T): Coerced<T> => ({ ok: true, value });
const bad = (message: string): Coerced<never> => ({ ok: false, message });

export function show(raw: unknown): string {
  try {
    const s = JSON.stringify(raw);
    if (s === undefined) return String(raw);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(raw);
  }
}

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === 'string' && /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw)) return Number(raw);
  return undefined;
}

/** A finite number > 0 (at most `max`). */
export function positive(max = Number.MAX_SAFE_INTEGER): Coercer<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined || n <= 0) return bad(`must be a positive number (got ${show(raw)})`);
    if (n > max) return bad(`must be at most ${max} (got ${n})`);
    return ok(n);
  };
}

/** A number in [min, max]. */
export function between(min: number, max: number): Coercer<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined) return bad(`must be a number (got ${show(raw)})`);
    if (n < min || n > max) return bad(`must be between ${min} and ${max} (got ${n})`);
    return ok(n);
  };
}

/** An integer in [min, max]. */
export function integer(min: number, max: number): Coercer<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined || !Number.isInteger(n)) return bad(`must be an integer (got ${show(raw)})`);
    if (n < min || n > max) return bad(`must be between ${min} and ${max} (got ${n})`);
    return ok(n);
  };
}

export const bool: Coercer<boolean> = (raw) => {
  if (typeof raw === 'boolean') return ok(raw);
  if (typeof raw === 'string' && /^\s*(true|false)\s*$/i.test(raw)) return ok(/true/i.test(raw));
  return bad(`must be true or false (got ${show(raw)})`);
};

/** One of `words`, case-insensitive; the canonical spelling is returned. */
export function oneOf<T extends string>(...words: readonly T[]): Coercer<T> {
  return (raw) => {
    if (typeof raw === 'string') {
      const w = words.find((x) => x.toLowerCase() === raw.trim().toLowerCase());
      if (w !== undefined) return ok(w);
    }
    return bad(`must be one of ${words.join(', ')} (got ${show(raw)})`);
  };
}

const MESHER_UNIT = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const ISO = /^(?:PT)?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/i;
const MS_PER: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds, as Java chassis reads them: a plain integer is milliseconds; otherwise an
 * ISO-8601 duration with or without its `PT` (`PT1S`, `1S`, `1M30S`). mesher's own spelling
 * (`250ms`, `2s`, `1m`) is accepted too. At most 24 h.
 */
export function duration(min: number, max = 24 * 3_600_000): Coercer<number> {
  return (raw) => {
    let n: number | undefined;
    if (typeof raw === 'number') n = Number.isInteger(raw) ? raw : undefined;
    else if (typeof raw === 'string') {
      const s = raw.trim();
      const u = MESHER_UNIT.exec(s);
      const iso = ISO.exec(s);
      if (/^\d+$/.test(s)) n = Number(s);
      else if (u) n = Math.round(Number(u[1]) * MS_PER[u[2]!]!);
      else if (iso && (iso[1] ?? iso[2] ?? iso[3]) !== undefined) {
        n = Math.round(
          Number(iso[1] ?? 0) * 3_600_000 + Number(iso[2] ?? 0) * 60_000 + Number(iso[3] ?? 0) * 1000,
        );
      }
    }
    if (n === undefined)
      return bad(`must be a duration: milliseconds, or e.g. "PT1S", "1S", "500ms" (got ${show(raw)})`);
    if (n < min || n > max) return bad(`must be between ${min} and ${max} ms (got ${n} ms)`);
    return ok(n);
  };
}

/** A string, trimmed and not empty. */
export const text: Coercer<string> = (raw) => {
  if (typeof raw === 'string' && raw.trim() !== '') return ok(raw.trim());
  if (typeof raw === 'number') return ok(String(raw));
  return bad(`must be a non-empty string (got ${show(raw)})`);
};
