/**
 * @module registry/storage/etcd-watch
 * Keeps the mirror in step with etcd: a paginated range of the namespace at one revision on open,
 * then one watch stream (with prevKv) from the mirror's revision + 1, applied in revision order.
 *
 * When the stream breaks (member killed, etcd down) it reconnects with a capped backoff, on any
 * member, from the last applied revision + 1, so listeners see no gap and no repeat. If etcd
 * compacted that revision meanwhile, it re-ranges the namespace and the mirror emits the
 * difference as synthetic PUT/DELETE events (service-center's list-watch does the same).
 */
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import type { Logger } from '../../shared/log.ts';
import type { KeyCodec } from './etcd-codec.ts';
import type { EtcdMirror } from './etcd-mirror.ts';
import type { EtcdRpc } from './etcd-rpc.ts';
import type { KeyValue } from './types.ts';
import { StoreError } from './types.ts';

/** Keys per range page (bounds one gRPC message on start-up and resync). */
const PAGE = 2_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 2_000;

/** Range the whole namespace at one revision, a page at a time. */
export async function rangeAll(rpc: EtcdRpc, codec: KeyCodec): Promise<{ kvs: KeyValue[]; rev: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rangePages(rpc, codec);
    } catch (err) {
      // The pinned revision can be compacted between pages: start over (a few times).
      if (attempt >= 3 || (err instanceof StoreError && err.code !== 'IO')) throw err;
    }
  }
}

async function rangePages(rpc: EtcdRpc, codec: KeyCodec): Promise<{ kvs: KeyValue[]; rev: number }> {
  const kvs: KeyValue[] = [];
  let rev = 0;
  let from = codec.root;
  for (;;) {
    const res = await rpc.call('range', (o) =>
      rpc.client.kv.range({ key: from, range_end: codec.rootEnd, limit: PAGE, revision: rev }, o),
    );
    if (rev === 0) rev = Number(res.header.revision);
    for (const raw of res.kvs) {
      const kv = codec.kv(raw);
      if (kv) kvs.push(kv);
    }
    if (!res.more || res.kvs.length === 0) return { kvs, rev };
    from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
  }
}

type Change = { type: 'PUT'; kv: KeyValue } | { type: 'DELETE'; key: string };

export interface EtcdWatchOptions {
  clock: Clock;
  log: Logger;
  /** Called whenever a (re)created watch is confirmed by etcd. */
  onConnected?: () => void;
}

export class EtcdWatch {
  #stream: IDuplexStream<IWatchRequest, IWatchResponse> | null = null;
  /** Bumped per stream: callbacks of an abandoned stream are ignored. */
  #gen = 0;
  #connected = false;
  #reason = 'connecting';
  #backoffMs = BACKOFF_MIN_MS;
  #retry: TimerHandle | null = null;
  /** The pending retry is a resync, not a plain reconnect. */
  #retryResync = false;
  #closed = false;
  #firstCreated: (() => void) | null = null;
  /** Resyncs after compaction (for tests and metrics). */
  resyncs = 0;

  constructor(
    private readonly rpc: EtcdRpc,
    private readonly codec: KeyCodec,
    private readonly mirror: EtcdMirror,
    private readonly opts: EtcdWatchOptions,
  ) {}

  /** Whether the watch stream is established; `reason` says why not. */
  get connected(): boolean {
    return this.#connected;
  }

  get reason(): string {
    return this.#reason;
  }

  /** Start watching; resolves once etcd confirmed the watch, or false after `timeoutMs`. */
  start(timeoutMs: number): Promise<boolean> {
    const confirmed = new Promise<boolean>((resolve) => {
      const timer = this.opts.clock.setTimeout(() => resolve(false), timeoutMs);
      this.#firstCreated = () => {
        timer.cancel();
        resolve(true);
      };
    });
    void this.#connect();
    return confirmed;
  }

  /** etcd answered a call: if the watch is waiting out a backoff, reconnect now. */
  kick(): void {
    if (this.#closed || this.#connected || !this.#retry) return;
    this.#retry.cancel();
    this.#retry = null;
    this.#backoffMs = BACKOFF_MIN_MS;
    void (this.#retryResync ? this.#resync() : this.#connect());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry?.cancel();
    this.#drop();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const gen = ++this.#gen;
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.rpc.client.watchClient.watch();
    } catch (err) {
      if (gen === this.#gen) this.#fail(`cannot open the etcd watch: ${String(err)}`);
      return;
    }
    if (this.#closed || gen !== this.#gen) {
      stream.cancel();
      return;
    }
    this.#stream = stream;
    stream.on('data', (res) => {
      if (gen === this.#gen) this.#onResponse(res);
    });
    stream.on('error', (err) => {
      if (gen === this.#gen) this.#fail(`etcd watch failed: ${err.message}`);
    });
    stream.on('end', () => {
      if (gen === this.#gen) this.#fail('etcd watch stream ended');
    });
    stream.write({
      create_request: {
        key: this.codec.root,
        range_end: this.codec.rootEnd,
        start_revision: this.mirror.rev + 1,
        prev_kv: true,
      },
    });
  }

  #onResponse(res: IWatchResponse): void {
    if (res.canceled) {
      const compacted = Number(res.compact_revision);
      if (compacted > 0) {
        this.opts.log.warn(
          { from: this.mirror.rev + 1, compacted },
          'etcd watch fell behind a compaction; re-ranging',
        );
        this.#drop();
        void this.#resync();
      } else this.#fail(`etcd canceled the watch: ${res.cancel_reason || 'no reason given'}`);
      return;
    }
    if (res.created) {
      this.#connected = true;
      this.#reason = '';
      this.#backoffMs = BACKOFF_MIN_MS;
      this.opts.log.debug({ from: this.mirror.rev + 1 }, 'etcd watch established');
      this.opts.onConnected?.();
      this.#firstCreated?.();
      this.#firstCreated = null;
    }
    if (res.events.length > 0) this.#applyEvents(res.events);
  }

  /** Apply events grouped by revision (one listener call per etcd revision). */
  #applyEvents(events: readonly IEvent[]): void {
    let rev = 0;
    let batch: Change[] = [];
    for (const ev of events) {
      const r = Number(ev.kv.mod_revision);
      if (r !== rev && batch.length > 0) {
        this.mirror.apply(rev, batch);
        batch = [];
      }
      rev = r;
      if (ev.type === 'Put') {
        const kv = this.codec.kv(ev.kv);
        if (kv) batch.push({ type: 'PUT', kv });
      } else {
        const key = this.codec.unkey(ev.kv.key);
        if (key !== undefined) batch.push({ type: 'DELETE', key });
      }
    }
    if (batch.length > 0) this.mirror.apply(rev, batch);
  }

  async #resync(): Promise<void> {
    if (this.#closed) return;
    this.#connected = false;
    this.#reason = 'resynchronising after compaction';
    try {
      const { kvs, rev } = await rangeAll(this.rpc, this.codec);
      if (this.#closed) return;
      const changed = this.mirror.resync(kvs, rev);
      this.resyncs++;
      this.opts.log.info({ rev, changed }, 'etcd mirror resynchronised');
      void this.#connect();
    } catch (err) {
      this.#fail(`resync failed: ${String(err)}`, true);
    }
  }

  /** Mark the watch down and try again after the backoff (a resync if `resync`). */
  #fail(reason: string, resync = false): void {
    if (this.#closed) return;
    if (this.#connected) this.opts.log.warn({ reason }, 'etcd watch lost; reconnecting');
    this.#connected = false;
    this.#reason = reason;
    this.#drop();
    this.#retry?.cancel();
    const delay = this.#backoffMs * (0.75 + Math.random() / 2);
    this.#backoffMs = Math.min(this.#backoffMs * 2, BACKOFF_MAX_MS);
    this.#retryResync = resync;
    this.#retry = this.opts.clock.setTimeout(() => {
      this.#retry = null;
      void (resync ? this.#resync() : this.#connect());
    }, delay);
  }

  #drop(): void {
    this.#gen++;
    const s = this.#stream;
    this.#stream = null;
    if (s) {
      try {
        s.cancel();
      } catch {
        // already closed
      }
    }
  }
}
