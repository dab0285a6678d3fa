/**
 * @module sidecar/registration/registration
 * Keeps this sidecar registered: microservice (existence check, then create; properties kept in
 * sync), then its instance under a client-chosen instanceId, then a heartbeat every interval.
 *
 * - `start()` never blocks: every registry call runs in the background; failures retry with
 *   capped exponential backoff + jitter on the injected clock.
 * - A heartbeat answered 400017 (the registry lost the instance: restart, lease expiry) re-registers
 *   service and instance under the same instanceId. Discovery can report the same thing
 *   (`reportLost`) when the registry no longer knows our serviceId as a consumer.
 * - Consumer-only sidecars (no advertised address) register the microservice only — they need a
 *   serviceId to act as `X-ConsumerId` — and no instance: an instance without endpoints would be
 *   listed as an UP provider nobody can call. Their "heartbeat" checks the service still exists.
 * - `stop()` cancels timers, aborts in-flight calls and deregisters the instance (short timeout).
 *   Because the instanceId is chosen here, a registration cut short by stop() is still cleaned up.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, type Random, systemClock, type TimerHandle } from '../../shared/clock.ts';
import { createLogger, type Logger } from '../../shared/log.ts';
import type { SidecarConfig } from '../config/types.ts';
import { Backoff } from '../registry-client/backoff.ts';
import { isRegistryError, RegistryError, SC_ERROR, toRegistryError } from '../registry-client/errors.ts';
import type { RegistryApi } from '../registry-client/types.ts';
import { buildInstance, buildMicroService, endpointsOf, mesherVersion, serviceKeyOf } from './payload.ts';

export type DesiredStatus = 'UP' | 'DOWN';

export interface RegistrationStatus {
  /** The microservice (and, unless consumer-only, the instance) is registered. */
  readonly registered: boolean;
  readonly serviceId?: string;
  readonly instanceId?: string;
  /** Clock time of the last successful heartbeat (or registration). */
  readonly lastHeartbeatOk?: number;
  readonly lastError?: string;
  /** The status this sidecar wants its instance to have. */
  readonly instanceStatus: DesiredStatus;
  /** True when no instance is registered because the sidecar has no inbound address. */
  readonly consumerOnly: boolean;
}

export interface Registration {
  /** Begin registering in the background; returns at once. Calling it twice is harmless. */
  start(): void;
  /** Cancel timers and in-flight calls, deregister the instance (bounded by deregisterTimeoutMs). */
  stop(): Promise<void>;
  status(): RegistrationStatus;
  /** Set the instance status (local health checks). Applied now if registered, else at registration. Never rejects. */
  setStatus(status: DesiredStatus): Promise<void>;
  /** Resolves once registered (at once if already); rejects if stop() comes first. */
  whenRegistered(): Promise<RegistrationStatus>;
  /** Called on every change of `registered` or `serviceId`. Returns an unsubscribe function. */
  onChange(listener: (status: RegistrationStatus) => void): () => void;
  /** Evidence that the registry forgot us (e.g. our consumer id is unknown): re-register now. */
  reportLost(reason: string): void;
}

export interface RegistrationOptions {
  api: RegistryApi;
  config: SidecarConfig;
  clock?: Clock;
  random?: Random;
  /** Fixed instanceId (default: a random 32-hex id, kept for the process's lifetime). */
  instanceId?: string;
  /** framework.version sent with the microservice (default: mesher's package version). */
  frameworkVersion?: string;
  /** Retry backoff (defaults 1 s → 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Timeout of the DELETE sent by stop(), ms (default 2000). */
  deregisterTimeoutMs?: number;
  logger?: Logger;
}

export function createRegistration(opts: RegistrationOptions): Registration {
  return new RegistrationImpl(opts);
}

type Phase = 'idle' | 'registering' | 'registered' | 'stopped';

class RegistrationImpl implements Registration {
  readonly #api: RegistryApi;
  readonly #config: SidecarConfig;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  readonly #log: Logger;
  readonly #frameworkVersion: string;
  readonly #deregisterTimeoutMs: number;
  readonly #consumerOnly: boolean;
  readonly #listeners = new Set<(s: RegistrationStatus) => void>();
  #waiters: Array<{ resolve: (s: RegistrationStatus) => void; reject: (e: Error) => void }> = [];

  #phase: Phase = 'idle';
  #instanceId: string;
  #serviceId: string | undefined;
  #instanceAttempted = false;
  #lastHeartbeatOk: number | undefined;
  #lastError: string | undefined;
  #desired: DesiredStatus = 'UP';
  #timer: TimerHandle | undefined;
  #abort = new AbortController();

  constructor(o: RegistrationOptions) {
    this.#api = o.api;
    this.#config = o.config;
    this.#clock = o.clock ?? systemClock;
    this.#backoff = new Backoff({ ...o.backoff, random: o.random });
    this.#log = o.logger ?? createLogger('sidecar.registration');
    this.#frameworkVersion = o.frameworkVersion ?? mesherVersion();
    this.#deregisterTimeoutMs = o.deregisterTimeoutMs ?? 2000;
    this.#instanceId = o.instanceId ?? randomUUID().replaceAll('-', '');
    this.#consumerOnly = endpointsOf(o.config).length === 0;
  }

  start(): void {
    if (this.#phase !== 'idle') return;
    this.#phase = 'registering';
    void this.#register();
  }

  async stop(): Promise<void> {
    if (this.#stopped()) return;
    const wasRegistered = this.#phase === 'registered';
    this.#phase = 'stopped';
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#abort.abort();
    for (const w of this.#waiters.splice(0)) w.reject(new Error('registration stopped'));
    const sid = this.#serviceId;
    if (sid && this.#instanceAttempted) {
      try {
        await this.#api.deregisterInstance(sid, this.#instanceId, { timeoutMs: this.#deregisterTimeoutMs });
        this.#log.info({ serviceId: sid, instanceId: this.#instanceId }, 'instance deregistered');
      } catch (err) {
        if (!isRegistryError(err, SC_ERROR.INSTANCE_NOT_EXISTS)) {
          this.#log.warn({ err: toRegistryError(err).message }, 'deregistration failed');
        }
      }
    }
    if (wasRegistered) this.#notify();
  }

  status(): RegistrationStatus {
    return {
      registered: this.#phase === 'registered',
      serviceId: this.#serviceId,
      instanceId: this.#consumerOnly ? undefined : this.#instanceId,
      lastHeartbeatOk: this.#lastHeartbeatOk,
      lastError: this.#lastError,
      instanceStatus: this.#desired,
      consumerOnly: this.#consumerOnly,
    };
  }

  async setStatus(status: DesiredStatus): Promise<void> {
    this.#desired = status;
    if (this.#phase !== 'registered' || this.#consumerOnly || !this.#serviceId) return;
    try {
      await this.#api.setInstanceStatus(this.#serviceId, this.#instanceId, status, {
        signal: this.#abort.signal,
      });
    } catch (err) {
      if (this.#stopped()) return;
      const e = toRegistryError(err);
      this.#lastError = e.message;
      if (e.errorCode === SC_ERROR.INSTANCE_NOT_EXISTS) this.reportLost('instance gone on status update');
    }
  }

  whenRegistered(): Promise<RegistrationStatus> {
    if (this.#phase === 'registered') return Promise.resolve(this.status());
    if (this.#phase === 'stopped') return Promise.reject(new Error('registration stopped'));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  onChange(listener: (s: RegistrationStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  reportLost(reason: string): void {
    if (this.#phase !== 'registered') return;
    this.#log.warn({ reason }, 'registry lost this sidecar; re-registering');
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#phase = 'registering';
    this.#notify();
    void this.#register();
  }

  // === impl: the registration sequence ===

  async #register(): Promise<void> {
    const signal = this.#abort.signal;
    try {
      const key = serviceKeyOf(this.#config);
      const wanted = buildMicroService(this.#config, this.#frameworkVersion);
      let sid = await this.#api.existence(key, { signal });
      if (sid === null) {
        sid = await this.#api.createService(wanted, { signal });
      } else {
        await this.#syncProperties(sid, wanted.properties ?? {}, signal);
      }
      if (this.#stopped()) return;
      const changed = sid !== this.#serviceId;
      this.#serviceId = sid;
      if (!this.#consumerOnly) {
        this.#instanceAttempted = true;
        const instance = buildInstance(this.#config, this.#instanceId, this.#desired);
        const iid = await this.#api.registerInstance(sid, instance, { signal });
        if (this.#stopped()) return;
        this.#instanceId = iid;
      }
      if (this.#stopped()) return;
      this.#phase = 'registered';
      this.#backoff.reset();
      this.#lastError = undefined;
      this.#lastHeartbeatOk = this.#clock.now();
      this.#log.info(
        { serviceId: sid, instanceId: this.#consumerOnly ? undefined : this.#instanceId, changed },
        this.#consumerOnly ? 'microservice registered (consumer only)' : 'instance registered',
      );
      for (const w of this.#waiters.splice(0)) w.resolve(this.status());
      this.#notify();
      this.#scheduleHeartbeat();
    } catch (err) {
      if (this.#stopped()) return;
      const e = toRegistryError(err);
      this.#lastError = e.message;
      const delay = this.#backoff.next();
      this.#log.warn({ err: e.message, retryInMs: delay }, 'registration failed; will retry');
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        if (this.#phase === 'registering') void this.#register();
      }, delay);
    }
  }

  /** The service exists already: make its properties match the config (the original never sent them). */
  async #syncProperties(sid: string, wanted: Record<string, string>, signal: AbortSignal): Promise<void> {
    const current = await this.#api.getService(sid, { signal });
    if (current === null) return; // gone again; the instance registration will say so
    if (!sameMap(current.properties ?? {}, wanted)) {
      await this.#api.updateServiceProperties(sid, wanted, { signal });
    }
  }

  #scheduleHeartbeat(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#heartbeat();
    }, this.#config.registry.heartbeatIntervalMs);
  }

  async #heartbeat(): Promise<void> {
    const sid = this.#serviceId;
    if (this.#phase !== 'registered' || !sid) return;
    const signal = this.#abort.signal;
    try {
      if (this.#consumerOnly) {
        const svc = await this.#api.getService(sid, { signal });
        if (svc === null) throw lost();
      } else {
        await this.#api.heartbeat(sid, this.#instanceId, { signal });
      }
      if (this.#phase !== 'registered') return;
      this.#lastHeartbeatOk = this.#clock.now();
      this.#lastError = undefined;
      this.#scheduleHeartbeat();
    } catch (err) {
      if (this.#phase !== 'registered') return;
      const e = toRegistryError(err);
      this.#lastError = e.message;
      if (e.errorCode === SC_ERROR.INSTANCE_NOT_EXISTS || e.errorCode === SC_ERROR.SERVICE_NOT_EXISTS) {
        this.reportLost(e.message);
        return;
      }
      this.#log.warn({ err: e.message }, 'heartbeat failed');
      this.#scheduleHeartbeat();
    }
  }

  /** A method, not a field comparison, so TypeScript does not narrow `#phase` across awaits. */
  #stopped(): boolean {
    return this.#phase === 'stopped';
  }

  #notify(): void {
    const s = this.status();
    for (const l of this.#listeners) {
      try {
        l(s);
      } catch (err) {
        this.#log.error({ err }, 'registration listener threw');
      }
    }
  }
}

function lost(): RegistryError {
  return new RegistryError('registry', 'microservice no longer registered', {
    errorCode: SC_ERROR.SERVICE_NOT_EXISTS,
    status: 400,
  });
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
