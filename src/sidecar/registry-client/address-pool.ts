/**
 * @module sidecar/registry-client/address-pool
 * The registry addresses with failover: the configured seeds (servicecomb.registry.address, comma
 * list) followed by the replicas learned through auto-discovery (./peer-discovery.ts). Calls go to
 * the current address; a connection failure, timeout or 5xx there moves to the next one, which
 * then stays current for as long as it answers ("remember the healthy one"). Several calls failing
 * on the same address concurrently advance the pointer only once. Seeds are never dropped; the
 * learned list is replaced as a whole and bounded.
 */

/** At most this many learned replicas are kept (a registry listing more is cut, not trusted). */
export const MAX_LEARNED_ADDRESSES = 32;

export class AddressPool {
  readonly seeds: readonly string[];
  #all: readonly string[];
  #current = 0;

  constructor(addresses: readonly string[]) {
    const normalised = addresses.map(normaliseAddress).filter((a) => a !== '');
    if (normalised.length === 0) throw new RangeError('registry addresses must not be empty');
    this.seeds = Object.freeze([...new Set(normalised)]);
    this.#all = this.seeds;
  }

  /** Seeds first, then learned replicas. */
  get addresses(): readonly string[] {
    return this.#all;
  }

  /** The address calls should try first. */
  current(): string {
    return this.#all[this.#current]!;
  }

  /** The order to try addresses in for one call: current first, then the rest in list order. */
  order(): string[] {
    const n = this.#all.length;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.#all[(this.#current + i) % n]!);
    return out;
  }

  /** `address` failed: if it is still the current one, move to the next. */
  markFailed(address: string): void {
    if (this.#all[this.#current] === address) {
      this.#current = (this.#current + 1) % this.#all.length;
    }
  }

  /** `address` answered: make it current. */
  markHealthy(address: string): void {
    const i = this.#all.indexOf(address);
    if (i >= 0) this.#current = i;
  }

  /**
   * Replace the learned replicas with `addresses` (unparseable ones and seeds are skipped; at most
   * MAX_LEARNED_ADDRESSES kept). The current address stays current if it is still in the pool.
   * Returns whether the pool changed.
   */
  setLearned(addresses: readonly string[]): boolean {
    const learned: string[] = [];
    for (const raw of addresses) {
      const a = normaliseAddress(raw);
      if (a === '' || this.seeds.includes(a) || learned.includes(a)) continue;
      if (learned.length >= MAX_LEARNED_ADDRESSES) break;
      learned.push(a);
    }
    const next = [...this.seeds, ...learned];
    if (next.length === this.#all.length && next.every((a, i) => a === this.#all[i])) return false;
    const cur = this.current();
    this.#all = Object.freeze(next);
    this.#current = Math.max(0, next.indexOf(cur));
    return true;
  }
}

/**
 * `http://h:p`, `https://h:p/`, or a bare `h:p` → origin form (`http://h:p`), no trailing slash.
 * Anything unparseable is returned as '' and dropped (config validation reports it properly).
 */
export function normaliseAddress(raw: string): string {
  const s = raw.trim();
  if (s === '') return '';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`;
  try {
    const u = new URL(withScheme);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
    return u.origin;
  } catch {
    return '';
  }
}
