/**
 * @module sidecar/config/flat-read
 * Reading `SidecarConfig.flat` for features that own their own keys (governance, tracing, TLS...).
 * `flat` keeps each key in the spelling that won (`cse.isolation...` or `servicecomb.isolation...`,
 * never both), so readers ask with either prefix and these helpers try the other one too.
 */
import { canonicalKey } from './schema.ts';

const alt = (key: string): string | undefined => {
  if (key.startsWith('servicecomb.')) return `cse.${key.slice('servicecomb.'.length)}`;
  if (key.startsWith('cse.')) return `servicecomb.${key.slice('cse.'.length)}`;
  return undefined;
};

/** The value of `key` in either spelling, or undefined. */
export function getFlat(flat: Readonly<Record<string, unknown>>, key: string): unknown {
  if (Object.hasOwn(flat, key)) return flat[key];
  const other = alt(key);
  return other !== undefined && Object.hasOwn(flat, other) ? flat[other] : undefined;
}

/**
 * Every key under `prefix` (either spelling), keyed by the part after the prefix:
 * `flatUnder(flat, 'cse.flowcontrol.Consumer.qps.limit')` -> `{ server2: 100 }`.
 */
export function flatUnder(flat: Readonly<Record<string, unknown>>, prefix: string): Record<string, unknown> {
  const want = `${canonicalKey(prefix)}.`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    const c = canonicalKey(k);
    if (c.startsWith(want)) out[c.slice(want.length)] = v;
  }
  return out;
}
