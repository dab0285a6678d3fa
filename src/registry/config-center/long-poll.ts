/**
 * @module registry/config-center/long-poll
 * Held list requests (`wait=30s`). One store watch on the KV prefix feeds every waiter: a PUT or
 * DELETE whose KV (before or after the change) passes a waiter's key and label filter wakes it
 * with `'changed'`; otherwise its timer, on the injected Clock, ends it with `'timeout'`. A status
 * flip wakes `status=enabled` watchers too (the filter's status is ignored for waking).
 *
 * Bounded: at most `maxWaiters` requests are held; past that `hold` throws 503001 so clients
 * back off instead of piling up sockets. `close()` ends every waiter with `'closed'`.
 * (The HTTP layer gives handlers no disconnect signal, so a waiter whose client left stays until
 * its timer; the bound and the clamped `wait` keep that finite.)
 */
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { Store, WatchEvent } from '../storage/types.ts';
import { kieKeys, parseStored, tenantOfKvKey } from './kv-repo.ts';
import { KieError, type KvFilter, kvMatches } from './model.ts';

export type WakeReason = 'changed' | 'timeout' | 'closed';

interface Waiter {
  tenant: string;
  filter: KvFilter;
  timer: TimerHandle;
  resolve: (r: WakeReason) => void;
}

export class LongPoll {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #byTenant = new Map<string, Set<Waiter>>();
  readonly #unwatch: () => void;
  #count = 0;
  #closed = false;

  constructor(store: Store, clock: Clock, maxWaiters = 10_000) {
    this.#clock = clock;
    this.#max = maxWaiters;
    this.#unwatch = store.watch(kieKeys.kvPrefix, (events) => this.#onEvents(events));
  }

  /** Requests currently held (tests wait for this before moving the clock). */
  get pending(): number {
    return this.#count;
  }

  /** Hold until a matching change, `waitMs`, or close. */
  hold(tenant: string, filter: KvFilter, waitMs: number): Promise<WakeReason> {
    if (this.#closed) return Promise.resolve('closed');
    if (this.#count >= this.#max) throw new KieError(503001, `${this.#max} requests are already waiting`);
    return new Promise<WakeReason>((resolve) => {
      let set = this.#byTenant.get(tenant);
      if (!set) {
        set = new Set();
        this.#byTenant.set(tenant, set);
      }
      const waiter: Waiter = {
        tenant,
        filter,
        resolve,
        timer: this.#clock.setTimeout(() => this.#wake(waiter, 'timeout'), waitMs),
      };
      set.add(waiter);
      this.#count++;
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    for (const set of [...this.#byTenant.values()]) for (const w of [...set]) this.#wake(w, 'closed');
  }

  #wake(w: Waiter, reason: WakeReason): void {
    const set = this.#byTenant.get(w.tenant);
    if (!set?.delete(w)) return;
    if (set.size === 0) this.#byTenant.delete(w.tenant);
    this.#count--;
    w.timer.cancel();
    w.resolve(reason);
  }

  #onEvents(events: readonly WatchEvent[]): void {
    if (this.#count === 0) return;
    for (const ev of events) {
      const tenant = tenantOfKvKey(ev.kv.key);
      const set = tenant === undefined ? undefined : this.#byTenant.get(tenant);
      if (!set) continue;
      const kv = parseStored(ev.kv.value);
      if (!kv) continue;
      for (const w of [...set]) if (kvMatches(kv, w.filter, false)) this.#wake(w, 'changed');
    }
  }
}
