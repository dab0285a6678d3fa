/**
 * @module sidecar/config-overlay
 * The effective config = the file/env config with the config center's governance overrides laid
 * over its `flat` keys (config center > env > files, as in the original). The governance features
 * read their settings from `flat` per config version and keep their last good settings when a
 * value is invalid; load-balancing strategy names are typed fields, so they are re-derived here
 * (an unknown strategy name in an override is dropped with a warning, the file/env one stays).
 */
import { resolveBalancerName } from './balancer/registry.ts';
import type { LoadBalanceConfig, SidecarConfig } from './config/types.ts';
import { mergeFlat } from './config-center/index.ts';

const STRATEGY = /^(?:servicecomb|cse)\.loadbalance\.(?:(.+)\.)?strategy\.name$/;

/** Strategy overrides from `overrides`, validated; returns the new LoadBalanceConfig and any rejected keys. */
function overlayLoadBalance(
  base: LoadBalanceConfig,
  overrides: Readonly<Record<string, unknown>>,
): { loadBalance: LoadBalanceConfig; rejected: string[] } {
  let strategy = base.strategy;
  const perService: Record<string, { readonly strategy: string }> = { ...base.perService };
  const rejected: string[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    const m = STRATEGY.exec(key);
    if (!m) continue;
    const name = typeof value === 'string' ? resolveBalancerName(value) : undefined;
    if (name === undefined) {
      rejected.push(`${key}: unknown strategy ${JSON.stringify(value)}`);
      continue;
    }
    if (m[1] === undefined) strategy = name;
    else perService[m[1]] = Object.freeze({ strategy: name });
  }
  return { loadBalance: Object.freeze({ strategy, perService: Object.freeze(perService) }), rejected };
}

export function overlayConfig(
  base: SidecarConfig,
  overrides: Readonly<Record<string, unknown>>,
): { config: SidecarConfig; rejected: string[] } {
  if (Object.keys(overrides).length === 0) return { config: base, rejected: [] };
  const lb = overlayLoadBalance(base.loadBalance, overrides);
  const config: SidecarConfig = Object.freeze({
    ...base,
    flat: Object.freeze(mergeFlat(base.flat, overrides)),
    loadBalance: lb.loadBalance,
  });
  return { config, rejected: lb.rejected };
}
