/**
 * @module sidecar/discovery/service-entry
 * The cache record of one tracked service (`app/name`): the raw instances as the registry last
 * described them, the registry revision they came with, and the immutable snapshot built from them.
 *
 * Ordering with the watcher: while a fetch is in flight, watch events are applied at once *and*
 * remembered; when the fetch result lands it replaces the instances and the remembered events are
 * replayed on top, so an event that raced the fetch is never lost. The memory is bounded; on
 * overflow the registry revision is dropped so the next refresh fetches everything.
 */
import type { MicroServiceInstance, WatchEvent } from '../registry-client/types.ts';
import { signatureOf, toEndpoints } from './endpoints.ts';
import type { ServiceSnapshot } from './types.ts';

export const MAX_BUFFERED_EVENTS = 1000;

export type EntryState = 'new' | 'ok' | 'notFound';

export class ServiceEntry {
  readonly key: string;
  readonly serviceName: string;
  readonly app: string;
  state: EntryState = 'new';
  instances = new Map<string, MicroServiceInstance>();
  /** Revision of the last full answer, sent as `rev` to get "not modified". */
  registryRev: string | undefined;
  snapshot: ServiceSnapshot | undefined;
  /** Clock time of the last answer (found or not found). */
  checkedAt = 0;
  /** Clock time the last fetch failed for lack of a registry (0 = not failing). */
  failedAt = 0;
  /** Clock time the registry first said "does not exist" while we had endpoints (0 = it did not). */
  notFoundSince = 0;
  /** The first-lookup fetch every concurrent caller shares. */
  inflight: Promise<void> | undefined;
  #pending: WatchEvent[] | undefined;
  #overflow = false;
  #signature = '';
  #seq = 0;

  constructor(serviceName: string, app: string) {
    this.serviceName = serviceName;
    this.app = app;
    this.key = entryKey(serviceName, app);
  }

  /** A fetch starts: remember watch events from now on. */
  beginFetch(): void {
    this.#pending ??= [];
  }

  /** The fetch failed or answered "not modified": stop remembering (events are already applied). */
  endFetch(): void {
    this.#pending = undefined;
    this.#overflow = false;
  }

  /** A full answer: replace the instances, replay events that raced it. Returns true if endpoints changed. */
  applyFull(instances: readonly MicroServiceInstance[], rev: string): boolean {
    this.instances = new Map();
    for (const i of instances) if (typeof i.instanceId === 'string') this.instances.set(i.instanceId, i);
    for (const e of this.#pending ?? []) this.#patch(e);
    this.registryRev = this.#overflow ? undefined : rev || undefined;
    this.endFetch();
    this.state = 'ok';
    return this.#rebuild();
  }

  /** A watch event. Returns true if the endpoints changed. */
  applyEvent(event: WatchEvent): boolean {
    if (this.#pending) {
      if (this.#pending.length < MAX_BUFFERED_EVENTS) this.#pending.push(event);
      else this.#overflow = true;
    }
    if (this.state !== 'ok') return false; // nothing to patch yet; the fetch result will carry it
    if (!this.#patch(event)) return false;
    // The cache now differs from what `registryRev` described: the next refresh must not get a 304.
    this.registryRev = undefined;
    return this.#rebuild();
  }

  /** The registry says the service does not exist. Returns true if a snapshot was dropped. */
  markNotFound(): boolean {
    const had = this.snapshot !== undefined;
    this.state = 'notFound';
    this.notFoundSince = 0;
    this.instances = new Map();
    this.registryRev = undefined;
    this.snapshot = undefined;
    this.#signature = '';
    this.endFetch();
    return had;
  }

  #patch(e: WatchEvent): boolean {
    const id = e.instance.instanceId;
    if (typeof id !== 'string' || id === '') return false;
    switch (e.action.toUpperCase()) {
      case 'CREATE':
      case 'UPDATE':
        this.instances.set(id, e.instance);
        return true;
      case 'DELETE':
      case 'EXPIRE':
        return this.instances.delete(id);
      default:
        return false;
    }
  }

  #rebuild(): boolean {
    const endpoints = toEndpoints(this.instances.values(), this.app);
    const sig = signatureOf(endpoints);
    if (this.snapshot && sig === this.#signature) return false;
    this.#signature = sig;
    this.snapshot = Object.freeze({
      serviceName: this.serviceName,
      app: this.app,
      revision: String(++this.#seq),
      endpoints: Object.freeze(endpoints),
    });
    return true;
  }
}

export function entryKey(serviceName: string, app: string): string {
  return `${app}/${serviceName}`;
}
