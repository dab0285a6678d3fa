/**
 * @module sidecar/config-center/overrides
 * Pure functions from config-center KVs to the sidecar's flat key space:
 *
 * - `applies(kvLabels, own)`: Kie label semantics seen from one sidecar — a KV applies when every
 *   label it has equals the sidecar's (`app`, `service`, `version`, `environment`); a KV with fewer
 *   labels applies more broadly, one with no labels applies to every sidecar of the project.
 * - `resolveOverrides(kvs, own)`: the winning value per key. More specific wins: labels weigh
 *   service 8 > version 4 > app 2 > environment 1 and a KV's specificity is the sum, so two KVs
 *   of one key that both apply never tie (key + labels is unique in the config center).
 * - `isLiveKey(key)`: the governance namespaces the sidecar applies without a restart; other keys
 *   (listeners, registry, identity) are reported as ignored.
 * - `mergeFlat(base, overrides)`: config center over environment over files. The caller keeps the
 *   file+env `flat` as `base` and merges again on every change, so a deleted KV gives the
 *   file/env value back.
 */
import { canonicalKey } from '../config/index.ts';

export type Labels = Readonly<Record<string, string>>;

/** One KV as the client sees it (the api-client's `Kv` fits). */
export interface KvLike {
  readonly key: string;
  readonly value: string;
  readonly valueType?: string;
  readonly labels: Labels;
  readonly status?: string;
}

const WEIGHT: Readonly<Record<string, number>> = { service: 8, version: 4, app: 2, environment: 1 };

/**
 * Canonical (`servicecomb.`) prefixes of keys applied live. Issue 5 item 4: route rules, load
 * balancing, timeouts, retries, circuit breaker, rate limits, fault injection; plus ingress and
 * egress rules and `logLevel`, which the original also reloaded.
 */
export const LIVE_PREFIXES: readonly string[] = [
  'servicecomb.routeRule.',
  'servicecomb.darklaunch.',
  'servicecomb.loadbalance.',
  'servicecomb.isolation.',
  'servicecomb.circuitBreaker.',
  'servicecomb.fallback.',
  'servicecomb.fallbackpolicy.',
  'servicecomb.flowcontrol.',
  'servicecomb.rateLimiting.',
  'servicecomb.match.',
  // The marker-based form (src/sidecar/governance): markers and bulkhead policies by name.
  'servicecomb.matchGroup.',
  'servicecomb.bulkhead.',
  'servicecomb.governance.',
  'servicecomb.retry.',
  'servicecomb.timeout.',
  'servicecomb.outlierDetection.',
  'routeRule.',
  'mesher.ingress.',
  'egress.',
  'egressRule.',
];

export function isLiveKey(key: string): boolean {
  const c = canonicalKey(key);
  return c === 'logLevel' || LIVE_PREFIXES.some((p) => c.startsWith(p));
}

/** The sidecar's own labels, without empty values. */
export function ownLabels(service: {
  name: string;
  app: string;
  version: string;
  environment: string;
}): Labels {
  const out: Record<string, string> = { app: service.app, service: service.name, version: service.version };
  if (service.environment) out.environment = service.environment;
  for (const k of Object.keys(out)) if (out[k] === '') delete out[k];
  return out;
}

export function applies(kvLabels: Labels, own: Labels): boolean {
  return Object.keys(kvLabels).every((k) => kvLabels[k] === '' || own[k] === kvLabels[k]);
}

export function specificity(kvLabels: Labels): number {
  let s = 0;
  for (const k of Object.keys(kvLabels)) if (kvLabels[k] !== '') s += WEIGHT[k] ?? 16;
  return s;
}

/** A KV's value as a flat value: `json` values are parsed (so numbers stay numbers), others are text. */
export function flatValue(kv: KvLike): unknown {
  if (kv.valueType === 'json') {
    try {
      return JSON.parse(kv.value);
    } catch {
      return kv.value;
    }
  }
  return kv.value;
}

export interface Resolved {
  /** Live keys → winning value. */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** Keys that apply to this sidecar but are not applied live (restart-only settings). */
  readonly ignored: readonly string[];
}

export function resolveOverrides(kvs: readonly KvLike[], own: Labels): Resolved {
  const best = new Map<string, { kv: KvLike; score: number }>();
  for (const kv of kvs) {
    if (kv.status === 'disabled' || !applies(kv.labels, own)) continue;
    const score = specificity(kv.labels);
    // Two spellings of one key (cse./servicecomb.) compete as one key.
    const id = canonicalKey(kv.key);
    const prev = best.get(id);
    if (!prev || score > prev.score || (score === prev.score && kv.key.startsWith('servicecomb.')))
      best.set(id, { kv, score });
  }
  const overrides: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const { kv } of [...best.values()].sort((a, b) => (a.kv.key < b.kv.key ? -1 : 1))) {
    if (isLiveKey(kv.key)) overrides[kv.key] = flatValue(kv);
    else ignored.push(kv.key);
  }
  return { overrides, ignored };
}

function spellings(key: string): string[] {
  const c = canonicalKey(key);
  return c.startsWith('servicecomb.') ? [c, `cse.${c.slice('servicecomb.'.length)}`] : [c];
}

/**
 * `base` with `overrides` on top. An override replaces the base key in either spelling, so a
 * reader asking for `servicecomb.x` never sees a file's `servicecomb.x` beside the config
 * center's `cse.x`. Neither input is modified.
 */
export function mergeFlat(
  base: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    for (const s of spellings(k)) delete out[s];
    out[k] = v;
  }
  return out;
}
