/**
 * @module sidecar/balancer/zone
 * Zone-aware preference shared by every strategy: when the caller names its zone and endpoints
 * carry `dataCenterInfo`, a strategy first chooses among endpoints in the same region and zone,
 * then among those in the same region, then among all (the original's `zoneaware` filter, which it
 * never wired up). A tier is only tried when it is non-empty and smaller than the next one, so a
 * fully excluded tier falls through to the next.
 *
 * Tiers are index lists into the balancer's endpoint array, computed on first use per caller zone
 * and cached until the next `update()`; the common case (the same caller zone every time) costs two
 * string comparisons per pick and no allocation.
 */
import type { Endpoint } from '../discovery/types.ts';

/** Index lists to try in order before falling back to all endpoints. */
export type ZoneTiers = readonly Int32Array[];

const NO_TIERS: ZoneTiers = Object.freeze([]);
/** Distinct caller zones cached per endpoint set (a sidecar has one; this only bounds misuse). */
const MAX_CACHED_ZONES = 64;

interface CallerZone {
  readonly region: string;
  readonly availableZone: string;
}

export class ZonePreference {
  #endpoints: readonly Endpoint[] = [];
  #anyZoned = false;
  #cache = new Map<string, ZoneTiers>();
  #lastRegion: string | undefined;
  #lastZone: string | undefined;
  #lastTiers: ZoneTiers = NO_TIERS;

  /** Forget cached tiers; called by the balancer whenever its endpoint array changes. */
  reset(endpoints: readonly Endpoint[]): void {
    this.#endpoints = endpoints;
    this.#anyZoned = endpoints.some((e) => e.zone !== undefined);
    this.#cache.clear();
    this.#lastRegion = undefined;
    this.#lastZone = undefined;
    this.#lastTiers = NO_TIERS;
  }

  /** Tiers to try for a caller in `zone` (empty when no endpoint has zone info). */
  tiers(zone: CallerZone): ZoneTiers {
    if (!this.#anyZoned) return NO_TIERS;
    if (zone.region === this.#lastRegion && zone.availableZone === this.#lastZone) return this.#lastTiers;
    const cacheKey = `${zone.region}\u0000${zone.availableZone}`;
    let tiers = this.#cache.get(cacheKey);
    if (tiers === undefined) {
      tiers = computeTiers(this.#endpoints, zone);
      if (this.#cache.size >= MAX_CACHED_ZONES) this.#cache.clear();
      this.#cache.set(cacheKey, tiers);
    }
    this.#lastRegion = zone.region;
    this.#lastZone = zone.availableZone;
    this.#lastTiers = tiers;
    return tiers;
  }
}

function computeTiers(endpoints: readonly Endpoint[], zone: CallerZone): ZoneTiers {
  const sameZone: number[] = [];
  const sameRegion: number[] = [];
  for (let i = 0; i < endpoints.length; i++) {
    const z = endpoints[i]!.zone;
    if (z === undefined || z.region !== zone.region) continue;
    sameRegion.push(i);
    if (z.availableZone === zone.availableZone) sameZone.push(i);
  }
  // Each tier is a subset of the next; keep only non-empty tiers strictly smaller than the next one.
  const out: Int32Array[] = [];
  for (const tier of [sameZone, sameRegion]) {
    if (tier.length === 0 || tier.length >= endpoints.length) continue;
    if (out.length > 0 && out[out.length - 1]!.length >= tier.length) continue;
    out.push(Int32Array.from(tier));
  }
  return Object.freeze(out);
}
