/**
 * @module sidecar/registry-client/address-pool
 * The registry addresses (servicecomb.registry.address, comma list) with failover: calls go to
 * the current address; a connection failure, timeout or 5xx there moves to the next one, which then
 * stays current for as long as it answers ("remember the healthy one"). Several calls failing on the
 * same address concurrently advance the pointer only once.
 */

export class AddressPool {
  readonly addresses: readonly string[];
  #current = 0;

  constructor(addresses: readonly string[]) {
    const normalised = addresses.map(normaliseAddress).filter((a) => a !== '');
    if (normalised.length === 0) throw new RangeError('registry addresses must not be empty');
    this.addresses = Object.freeze([...new Set(normalised)]);
  }

  /** The address calls should try first. */
  current(): string {
    return this.addresses[this.#current]!;
  }

  /** The order to try addresses in for one call: current first, then the rest in list order. */
  order(): string[] {
    const n = this.addresses.length;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.addresses[(this.#current + i) % n]!);
    return out;
  }

  /** `address` failed: if it is still the current one, move to the next. */
  markFailed(address: string): void {
    if (this.addresses[this.#current] === address) {
      this.#current = (this.#current + 1) % this.addresses.length;
    }
  }

  /** `address` answered: make it current. */
  markHealthy(address: string): void {
    const i = this.addresses.indexOf(address);
    if (i >= 0) this.#current = i;
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
