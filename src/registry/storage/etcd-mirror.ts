/**
 * @module registry/storage/etcd-mirror
 * The replica's local copy of its etcd namespace: keys, the revision it reflects, a bounded
 * history of recent events for `watch(prefix, l, fromRevision)` replays, and the Store's watch
 * fan-out. Everything here is synchronous; etcd-watch feeds it, in revision order, from one etcd
 * watch stream, and the store serves `get`/`range`/`revision` from it.
 *
 * `revision()` is the revision of the last change this mirror applied (or the revision its
 * contents were loaded at). Writes to other namespaces of the same etcd move etcd's revision
 * without events here, so revisions jump, and two replicas agree once they applied the same
 * events.
 */
import type { KeyValue, WatchEvent, WatchListener } from './types.ts';
import { StoreError } from './types.ts';

interface Watcher {
  prefix: string;
  listener: WatchListener;
}

interface Waiter {
  rev: number;
  resolve: (ok: boolean) => void;
  timer: { cancel(): void } | null;
}

export interface MirrorOptions {
  /** Events kept for replays (default 10,000; trimmed at whole revisions). */
  historyLimit?: number;
  /** Told when a watch listener throws (the mirror carries on). */
  onListenerError?: (err: unknown) => void;
  /** Told when the last mirrored key attached to a lease goes away. */
  onLeaseUnused?: (lease: number) => void;
}

export class EtcdMirror {
  readonly kvs = new Map<string, KeyValue>();
  /** Lease id → number of mirrored keys attached to it. */
  readonly leaseKeys = new Map<number, number>();
  #rev = 0;
  /** Every event with revision >= this is in #history. */
  #historyFrom = 1;
  readonly #history: WatchEvent[] = [];
  readonly #historyLimit: number;
  readonly #watchers = new Set<Watcher>();
  #waiters: Waiter[] = [];

  constructor(private readonly opts: MirrorOptions = {}) {
    this.#historyLimit = opts.historyLimit ?? 10_000;
  }

  get rev(): number {
    return this.#rev;
  }

  range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    for (const kv of this.kvs.values()) if (kv.key.startsWith(prefix)) out.push(kv);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Initial contents, as ranged at `rev`. No events. */
  load(kvs: readonly KeyValue[], rev: number): void {
    for (const kv of kvs) this.#set(kv);
    this.#rev = rev;
    this.#historyFrom = rev + 1;
  }

  /**
   * Apply the events of one revision (from the etcd watch), then tell watchers and release the
   * txns waiting for it. DELETE events carry the mirror's last copy of the key.
   */
  apply(
    rev: number,
    changes: ReadonlyArray<{ type: 'PUT'; kv: KeyValue } | { type: 'DELETE'; key: string }>,
  ): void {
    if (rev <= this.#rev) return; // already applied (a resumed watch never repeats, but be safe)
    const events: WatchEvent[] = [];
    for (const c of changes) {
      if (c.type === 'PUT') {
        this.#set(c.kv);
        events.push({ type: 'PUT', kv: c.kv, revision: rev });
      } else {
        const prev = this.#delete(c.key);
        if (prev) events.push({ type: 'DELETE', kv: prev, revision: rev });
      }
    }
    this.#rev = rev;
    this.#publish(events);
  }

  /**
   * Replace the contents with a fresh range at `rev` (after the watch fell behind a compaction)
   * and emit the difference as one batch of synthetic PUT/DELETE events, so listeners converge.
   * History before `rev` is gone: replays from earlier revisions answer COMPACTED.
   */
  resync(kvs: readonly KeyValue[], rev: number): number {
    const events: WatchEvent[] = [];
    const fresh = new Map(kvs.map((kv) => [kv.key, kv]));
    for (const key of [...this.kvs.keys()]) {
      if (fresh.has(key)) continue;
      const prev = this.#delete(key)!;
      events.push({ type: 'DELETE', kv: prev, revision: rev });
    }
    for (const kv of kvs) {
      const prev = this.kvs.get(kv.key);
      if (prev && prev.modRevision === kv.modRevision && prev.value === kv.value) continue;
      this.#set(kv);
      events.push({ type: 'PUT', kv, revision: rev });
    }
    this.#history.length = 0;
    this.#historyFrom = rev + 1;
    this.#rev = Math.max(this.#rev, rev);
    this.#notify(events);
    this.#release();
    return events.length;
  }

  /** Resolves true once the mirror has applied `rev`, false after `timeoutMs`. */
  waitFor(
    rev: number,
    timeoutMs: number,
    clock: { setTimeout(fn: () => void, ms: number): { cancel(): void } },
  ) {
    if (rev <= this.#rev) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = { rev, resolve, timer: null };
      w.timer = clock.setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  watch(prefix: string, listener: WatchListener, fromRevision?: number): () => void {
    if (fromRevision !== undefined && fromRevision <= this.#rev) {
      if (fromRevision < this.#historyFrom)
        throw new StoreError(
          'COMPACTED',
          `revision ${fromRevision} is no longer in this replica's history (oldest ${this.#historyFrom})`,
        );
      const past = this.#history.filter((e) => e.revision >= fromRevision && e.kv.key.startsWith(prefix));
      if (past.length > 0) listener(past);
    }
    const w: Watcher = { prefix, listener };
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  /** Fail every pending wait (on close). */
  close(): void {
    for (const w of this.#waiters) {
      w.timer?.cancel();
      w.resolve(false);
    }
    this.#waiters = [];
    this.#watchers.clear();
  }

  // === internals ===

  #set(kv: KeyValue): void {
    const prev = this.kvs.get(kv.key);
    this.kvs.set(kv.key, kv);
    if (prev?.lease === kv.lease) return;
    if (prev?.lease) this.#unref(prev.lease);
    if (kv.lease) this.leaseKeys.set(kv.lease, (this.leaseKeys.get(kv.lease) ?? 0) + 1);
  }

  #delete(key: string): KeyValue | undefined {
    const prev = this.kvs.get(key);
    if (!prev) return undefined;
    this.kvs.delete(key);
    if (prev.lease) this.#unref(prev.lease);
    return prev;
  }

  #unref(lease: number): void {
    const n = (this.leaseKeys.get(lease) ?? 1) - 1;
    if (n > 0) {
      this.leaseKeys.set(lease, n);
      return;
    }
    this.leaseKeys.delete(lease);
    this.opts.onLeaseUnused?.(lease);
  }

  #publish(events: WatchEvent[]): void {
    if (events.length > 0) {
      for (const e of events) this.#history.push(e);
      if (this.#history.length > this.#historyLimit * 2) this.#trim();
      this.#notify(events);
    }
    this.#release();
  }

  /** Drop the oldest events down to the limit, at a revision boundary. */
  #trim(): void {
    let cut = this.#history.length - this.#historyLimit;
    const last = this.#history[cut - 1]!.revision;
    while (cut < this.#history.length && this.#history[cut]!.revision === last) cut++;
    this.#history.splice(0, cut);
    this.#historyFrom = last + 1;
  }

  #notify(events: WatchEvent[]): void {
    if (events.length === 0) return;
    for (const w of this.#watchers) {
      const mine = w.prefix === '' ? events : events.filter((e) => e.kv.key.startsWith(w.prefix));
      if (mine.length === 0) continue;
      try {
        w.listener(mine);
      } catch (err) {
        this.opts.onListenerError?.(err);
      }
    }
  }

  #release(): void {
    if (this.#waiters.length === 0) return;
    const due = this.#waiters.filter((w) => w.rev <= this.#rev);
    if (due.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.rev > this.#rev);
    for (const w of due) {
      w.timer?.cancel();
      w.resolve(true);
    }
  }
}
