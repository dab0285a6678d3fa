/**
 * @module sidecar/policy/to-flat
 * The inverse of ./parse.ts: write policies back as a flat key map in the canonical spelling of
 * every field. Used by the config-dump admin endpoint and by the round-trip test
 * (parse(toFlat(p)) must equal p). Defaults are written as global keys; every field of every
 * service with overrides is written under that service.
 */
import type { RateLimitConfig } from '../ratelimit/rate-limiter.ts';
import { canonicalKeys, FAULT_GLOBAL_SCOPE, FAULT_INFIX } from './keys.ts';
import type { ResiliencePolicies, ServicePolicy } from './types.ts';

function get(policy: ServicePolicy, path: string): unknown {
  let v: unknown = policy;
  for (const part of path.split('.')) v = (v as Record<string, unknown>)[part];
  return Array.isArray(v) ? [...v] : v;
}

function writeService(out: Record<string, unknown>, policy: ServicePolicy, service: string | null): void {
  for (const [path, { family, prop }] of canonicalKeys()) {
    const prefix = family.prefixes[0]!.prefix;
    const key =
      family.layout === 'fault'
        ? `${prefix}${service ?? FAULT_GLOBAL_SCOPE}${FAULT_INFIX}rest.${prop}`
        : `${prefix}${service === null ? '' : `${service}.`}${prop}`;
    out[key] = get(policy, path);
  }
}

function writeRateLimit(
  out: Record<string, unknown>,
  side: 'Consumer' | 'Provider',
  c: RateLimitConfig,
): void {
  const p = `cse.flowcontrol.${side}.qps.`;
  out[`${p}enabled`] = c.enabled;
  out[`${p}enforced`] = c.enforced;
  for (const name of Object.keys(c.limits)) {
    out[`${p}limit.${name}`] = c.limits[name]!.ratePerSec;
    out[`${p}burst.${name}`] = c.limits[name]!.burst;
  }
  if (c.fallback) {
    out[`${p}global.limit`] = c.fallback.ratePerSec;
    out[`${p}global.burst`] = c.fallback.burst;
  }
}

export function policiesToFlat(policies: ResiliencePolicies): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  writeService(out, policies.defaults, null);
  for (const service of Object.keys(policies.services))
    writeService(out, policies.services[service]!, service);
  writeRateLimit(out, 'Consumer', policies.rateLimit.consumer);
  writeRateLimit(out, 'Provider', policies.rateLimit.provider);
  return out;
}
