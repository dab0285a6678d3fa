/**
 * @module sidecar/discovery/watch-sync
 * Keeps one registry watch connection open for the sidecar's consumer id: connects when the id is
 * known, reconnects with capped backoff + jitter (injected clock) when the socket closes, and
 * reconnects at once when the id changes. The backoff resets only after a connection stayed up for
 * a while, so a registry that accepts and immediately closes cannot cause a hot loop.
 * The owner is told about every (re)open (it then does a full refresh: events may have been
 * missed while disconnected) and about an unknown consumer id (registration must re-register).
 */
import type { Clock, Random, TimerHandle } from '../../shared/clock.ts';
import type { Logger } from '../../shared/log.ts';
import { Backoff } from '../registry-client/backoff.ts';
import { SC_ERROR } from '../registry-client/errors.ts';
import type { RegistryApi, WatchEvent, WatchHandle } from '../registry-client/types.ts';

export interface WatchSyncOptions {
  api: RegistryApi;
  clock: Clock;
  random?: Random;
  log: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
  /** A connection that stayed open this long resets the backoff (ms, default 10000). */
  stableAfterMs?: number;
  onOpen(): void;
  onEvent(event: WatchEvent): void;
  onConsumerUnknown(): void;
}

export class WatchSync {
  readonly #o: WatchSyncOptions;
  readonly #backoff: Backoff;
  #consumerId: string | undefined;
  #handle: WatchHandle | undefined;
  #timer: TimerHandle | undefined;
  #openedAt = 0;
  #closed = false;
  #connected = false;

  constructor(o: WatchSyncOptions) {
    this.#o = o;
    this.#backoff = new Backoff({ ...o.backoff, random: o.random });
  }

  /** True while a watch connection is open. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Watch as `consumerId` (undefined stops watching). Reconnects when the id changes. */
  setConsumer(consumerId: string | undefined): void {
    if (this.#closed || consumerId === this.#consumerId) return;
    this.#consumerId = consumerId;
    this.#disconnect();
    this.#backoff.reset();
    if (consumerId !== undefined) this.#connect();
  }

  close(): void {
    this.#closed = true;
    this.#disconnect();
  }

  #disconnect(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#handle?.close();
    this.#handle = undefined;
    this.#connected = false;
  }

  #connect(): void {
    const consumerId = this.#consumerId;
    if (this.#closed || consumerId === undefined) return;
    let handle: WatchHandle | undefined;
    const mine = () => this.#handle === handle && handle !== undefined && !this.#closed;
    handle = this.#o.api.watch(consumerId, {
      onOpen: () => {
        if (!mine()) return;
        this.#connected = true;
        this.#openedAt = this.#o.clock.now();
        this.#o.log.debug({ consumerId }, 'registry watch open');
        this.#o.onOpen();
      },
      onEvent: (event) => {
        if (mine()) this.#o.onEvent(event);
      },
      onClose: (err) => {
        if (!mine()) return;
        const wasOpen = this.#connected;
        this.#connected = false;
        this.#handle = undefined;
        if (wasOpen && this.#o.clock.now() - this.#openedAt >= (this.#o.stableAfterMs ?? 10_000)) {
          this.#backoff.reset();
        }
        if (err?.errorCode === SC_ERROR.SERVICE_NOT_EXISTS) this.#o.onConsumerUnknown();
        const delay = this.#backoff.next();
        this.#o.log.debug({ consumerId, err: err?.message, retryInMs: delay }, 'registry watch closed');
        this.#timer = this.#o.clock.setTimeout(() => {
          this.#timer = undefined;
          this.#connect();
        }, delay);
      },
    });
    this.#handle = handle;
  }
}
