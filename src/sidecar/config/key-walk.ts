/**
 * @module sidecar/config/key-walk
 * Classifies one canonical dotted key against the schema: known (with the nested path to place its
 * value at), passthrough (another feature's namespace), a section given a plain value, or unknown
 * (with a "did you mean" suggestion when a known key is a few edits away).
 * Map sections (`protocols.<name>`, `loadbalance.<service>`, `properties.<key>`) take free names;
 * a service name may itself contain dots, so the shortest name that makes the rest a known key wins.
 */
import type { TSchema } from '@sinclair/typebox';
import { closest } from './did-you-mean.ts';
import { KNOWN_TOP, PASSTHROUGH, SidecarFileSchema, STALE_KEYS } from './schema.ts';

export type KeyClass =
  | { readonly kind: 'known'; readonly path: readonly string[] }
  | { readonly kind: 'passthrough' }
  | { readonly kind: 'stale'; readonly hint: string }
  /** The key names a section (`servicecomb.registry: x`); `children` are the keys it may hold. */
  | { readonly kind: 'section'; readonly children: readonly string[] }
  | { readonly kind: 'unknown'; readonly suggestion?: string };

type Miss =
  | { kind: 'unknown'; suggestion?: string; distance: number }
  | { kind: 'section'; children: string[] };
type Hit = { kind: 'known'; path: string[] };

const ROOT = SidecarFileSchema as TSchema;

function props(node: TSchema): Record<string, TSchema> {
  return (node.properties as Record<string, TSchema> | undefined) ?? {};
}

/** The schema of a map section's values (additionalProperties or a Record's pattern), if any. */
function mapValue(node: TSchema): TSchema | undefined {
  if (typeof node.additionalProperties === 'object') return node.additionalProperties as TSchema;
  const pp = node.patternProperties as Record<string, TSchema> | undefined;
  return pp ? Object.values(pp)[0] : undefined;
}

const isObject = (s: TSchema) => s.type === 'object';

/** Relative leaf paths under a node (fixed properties only, bounded depth) for suggestions. */
function leafPaths(node: TSchema, depth = 3): string[] {
  const out: string[] = [];
  for (const [name, child] of Object.entries(props(node))) {
    if (isObject(child) && depth > 1) {
      const below = leafPaths(child, depth - 1);
      if (below.length === 0) out.push(name);
      for (const p of below) out.push(`${name}.${p}`);
    } else out.push(name);
  }
  return out;
}

function suggest(node: TSchema, segs: readonly string[], i: number, prefix: readonly string[]): Miss {
  const rest = segs.slice(i).join('.');
  const head = prefix.length ? `${prefix.join('.')}.` : '';
  let best: { s: string; d: number } | undefined;
  const consider = (candidate: string | undefined, d: number | undefined) => {
    if (candidate !== undefined && d !== undefined && (!best || d < best.d)) best = { s: candidate, d };
  };
  const whole = closest(rest, leafPaths(node));
  consider(whole && head + whole.match, whole?.distance);
  const one = closest(segs[i] as string, Object.keys(props(node)));
  consider(one && head + [one.match, ...segs.slice(i + 1)].join('.'), one?.distance);
  const mv = mapValue(node);
  if (mv && isObject(mv) && i + 1 < segs.length) {
    const inner = closest(segs.slice(i + 1).join('.'), leafPaths(mv));
    consider(inner && `${head}${segs[i]}.${inner.match}`, inner?.distance);
  }
  return best ? { kind: 'unknown', suggestion: best.s, distance: best.d } : { kind: 'unknown', distance: 99 };
}

function walk(node: TSchema, segs: readonly string[], i: number, path: string[]): Hit | Miss {
  if (i === segs.length) {
    if (!isObject(node)) return { kind: 'known', path };
    return { kind: 'section', children: leafPaths(node, 1) };
  }
  if (!isObject(node)) return { kind: 'unknown', distance: 99 };
  const seg = segs[i] as string;
  let miss: Miss | undefined;
  const fixed = props(node)[seg];
  if (fixed) {
    const r = walk(fixed, segs, i + 1, [...path, seg]);
    if (r.kind === 'known') return r;
    miss = r;
  }
  const mv = mapValue(node);
  if (mv) {
    // A map of plain values: the whole rest is one name (property keys may contain dots).
    if (!isObject(mv)) return { kind: 'known', path: [...path, segs.slice(i).join('.')] };
    for (let j = i + 1; j <= segs.length; j++) {
      const r = walk(mv, segs, j, [...path, segs.slice(i, j).join('.')]);
      if (r.kind === 'known') return r;
    }
    // `loadbalance.server2: x`: an entry given a plain value instead of a section.
    if (!miss && i + 1 === segs.length) miss = { kind: 'section', children: leafPaths(mv, 1) };
  }
  return miss ?? suggest(node, segs, i, path);
}

/** Classify a canonical (`servicecomb.`-spelled) dotted key. */
export function classifyKey(canonical: string): KeyClass {
  for (const s of STALE_KEYS) {
    if (canonical === s.prefix || canonical.startsWith(`${s.prefix}.`))
      return { kind: 'stale', hint: s.hint };
  }
  for (const p of PASSTHROUGH) {
    if (canonical === p || canonical.startsWith(`${p}.`)) return { kind: 'passthrough' };
  }
  const segs = canonical.split('.');
  const top = segs[0] as string;
  if (!(KNOWN_TOP as readonly string[]).includes(top)) {
    // Only a near-miss of a namespace we know is worth a warning; other tools' keys pass through.
    const near = closest(top, [...KNOWN_TOP, ...PASSTHROUGH.filter((p) => !p.includes('.')), 'cse']);
    if (!near || near.distance === 0) return { kind: 'passthrough' };
    return { kind: 'unknown', suggestion: [near.match, ...segs.slice(1)].join('.') };
  }
  const r = walk(ROOT, segs, 0, []);
  if (r.kind === 'known') return { kind: 'known', path: r.path };
  if (r.kind === 'section') return { kind: 'section', children: r.children };
  return r.suggestion === undefined ? { kind: 'unknown' } : { kind: 'unknown', suggestion: r.suggestion };
}

/** Every leaf key of the schema, with `<name>` for map entries (docs and tests use this list). */
export function schemaKeys(node: TSchema = ROOT, prefix = ''): string[] {
  const out: string[] = [];
  for (const [name, child] of Object.entries(props(node))) {
    const key = prefix + name;
    if (isObject(child)) out.push(...schemaKeys(child, `${key}.`));
    else out.push(key);
  }
  const mv = mapValue(node);
  if (mv) {
    if (isObject(mv)) out.push(...schemaKeys(mv, `${prefix}<name>.`));
    else out.push(`${prefix}<key>`);
  }
  return out;
}
