/**
 * @module sidecar/telemetry/recent-errors
 * A fixed-size ring of the latest proxy errors (time, direction, service, endpoint, code, message,
 * trace id) for the admin API: the live "why did that fail" view. Recording overwrites the oldest
 * entry; nothing grows.
 */

export interface RecentError {
  /** Epoch ms. */
  readonly time: number;
  readonly direction: 'inbound' | 'outbound';
  readonly service: string;
  /** Endpoint key (`instance@host:port`) or `local@host:port`; "" when none was chosen. */
  readonly endpoint: string;
  /** MeshError code, or `HTTP_5xx` for an upstream that answered 5xx. */
  readonly code: string;
  readonly message: string;
  readonly status: number;
  readonly traceId: string | undefined;
}

export class RecentErrors {
  readonly #ring: Array<RecentError | undefined>;
  #next = 0;
  #total = 0;

  constructor(readonly capacity = 100) {
    if (!(capacity >= 1)) throw new RangeError('RecentErrors capacity must be at least 1');
    this.#ring = new Array(capacity).fill(undefined);
  }

  record(e: RecentError): void {
    this.#ring[this.#next] = e;
    this.#next = (this.#next + 1) % this.capacity;
    this.#total++;
  }

  /** Errors recorded since start (including those the ring no longer holds). */
  get total(): number {
    return this.#total;
  }

  /** Newest first. */
  list(): RecentError[] {
    const out: RecentError[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const e = this.#ring[(this.#next - i + this.capacity) % this.capacity];
      if (e === undefined) break;
      out.push(e);
    }
    return out;
  }
}
