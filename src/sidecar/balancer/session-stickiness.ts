/**
 * @module sidecar/balancer/session-stickiness
 * SessionStickiness: the same `sessionKey` goes to the same endpoint, actually (the original set a
 * cookie but read a key Mesher never set, so it degraded to round robin). A session is re-mapped
 * when its endpoint
 * - is gone from the endpoint set, or is excluded for this pick (tried already, or ejected); the
 *   session then sticks to the replacement;
 * - has failed `successiveFailedTimes` calls in a row since the session was mapped to it (failures
 *   are counted per endpoint, as calls do not carry the session key; the replacement avoids the
 *   failing endpoint when any other is allowed);
 * - or the session was idle longer than `sessionTimeoutInSeconds`.
 * The original's keys and defaults (`SessionStickinessRule.sessionTimeoutInSeconds` 30,
 * `successiveFailedTimes` 5) apply. New sessions, and picks without a session key, go round robin
 * (with zone preference); once mapped, a session stays put even if a closer endpoint appears.
 *
 * The session table is bounded (`maxSessions`): it is kept in least-recently-used order (a hit
 * moves the entry to the back, at most once a second per session: moving halves the cost of a
 * sticky pick), the oldest entry is evicted when full, and expired entries are swept from the
 * front in small batches. So a busy session can only be evicted by more than `maxSessions` new
 * sessions arriving within one second; it is then simply mapped again.
 */
import type { BalancerDeps } from './base.ts';
import type { EndpointState } from './endpoint-state.ts';
import { parseOptions } from './options.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { EndpointStats, PickRequest, PickResult } from './types.ts';

export const SESSION_STICKINESS_OPTIONS = {
  sessionTimeoutInSeconds: { default: 30, min: 0.001, max: 86_400, doc: 'idle time before re-mapping, s' },
  successiveFailedTimes: {
    default: 5,
    min: 1,
    max: 1_000_000,
    integer: true,
    doc: 'failures before re-mapping',
  },
  maxSessions: { default: 10_000, min: 1, max: 10_000_000, integer: true, doc: 'session table bound' },
} as const;

/** A session's place in the LRU order is refreshed at most this often (ms). */
const REORDER_AFTER_MS = 1_000;
/** Sweep expired sessions every this many sticky picks, removing at most this many. */
const SWEEP_EVERY = 64;

interface Session {
  endpointKey: string;
  /** The endpoint's failureEpoch when the session was mapped to it. */
  epoch: number;
  lastUsedMs: number;
}

export class SessionStickinessBalancer extends RoundRobinBalancer {
  override readonly name = 'SessionStickiness';
  readonly #timeoutMs: number;
  readonly #failuresToRemap: number;
  readonly #maxSessions: number;
  readonly #sessions = new Map<string, Session>();
  #sinceSweep = 0;

  constructor(deps: BalancerDeps, options?: unknown) {
    super(deps);
    const o = parseOptions('SessionStickiness', SESSION_STICKINESS_OPTIONS, options);
    this.#timeoutMs = o.sessionTimeoutInSeconds * 1000;
    this.#failuresToRemap = o.successiveFailedTimes;
    this.#maxSessions = o.maxSessions;
  }

  /** Number of sessions remembered (bounded by maxSessions). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Whether `sessionKey` is currently mapped (for tests and the admin API). */
  hasSession(sessionKey: string): boolean {
    return this.#sessions.has(sessionKey);
  }

  /** Per-endpoint stats plus the sessions mapped to each endpoint (admin API; O(sessions)). */
  override stats(): readonly EndpointStats[] {
    const perKey = new Map<string, number>();
    for (const s of this.#sessions.values()) perKey.set(s.endpointKey, (perKey.get(s.endpointKey) ?? 0) + 1);
    return this.states.map((st) => ({ ...st.stats(), sessions: perKey.get(st.endpoint.key) ?? 0 }));
  }

  override pick(req?: PickRequest): PickResult {
    const key = req?.sessionKey;
    if (key === undefined || this.states.length === 0) return super.pick(req);
    const now = this.clock.now();
    if (++this.#sinceSweep >= SWEEP_EVERY) this.#sweep(now);
    const s = this.#sessions.get(key);
    if (s === undefined) {
      const res = super.pick(req);
      if (res.kind === 'ok') this.#remember(key, res, now);
      return res;
    }
    const st = this.byKey.get(s.endpointKey);
    const ex = req!.exclude;
    const isExcluded = ex !== undefined && ex.size > 0 && ex.has(s.endpointKey);
    const failed = st !== undefined && st.failureEpoch !== s.epoch;
    if (st !== undefined && !isExcluded && !failed && now - s.lastUsedMs <= this.#timeoutMs) {
      this.#touch(key, s, now);
      return st.result;
    }
    let res: PickResult | undefined;
    if (failed && !isExcluded && this.states.length > 1) {
      // Move off the failing endpoint if anything else is allowed (a rare path: one Set per re-map).
      const avoid = new Set(ex ?? []);
      avoid.add(s.endpointKey);
      res = super.pick({ ...req, exclude: avoid });
    }
    if (res === undefined || res.kind !== 'ok') res = super.pick(req);
    if (res.kind === 'ok') {
      s.endpointKey = res.endpoint.key;
      s.epoch = this.byKey.get(res.endpoint.key)!.failureEpoch;
      this.#touch(key, s, now);
    }
    return res;
  }

  protected override reported(st: EndpointState): void {
    if (st.consecutiveFailures > 0 && st.consecutiveFailures % this.#failuresToRemap === 0) st.failureEpoch++;
  }

  #remember(key: string, res: PickResult & { kind: 'ok' }, now: number): void {
    const epoch = this.byKey.get(res.endpoint.key)!.failureEpoch;
    this.#sessions.set(key, { endpointKey: res.endpoint.key, epoch, lastUsedMs: now });
    if (this.#sessions.size > this.#maxSessions) {
      const oldest = this.#sessions.keys().next();
      if (!oldest.done) this.#sessions.delete(oldest.value);
    }
  }

  /**
   * Mark used and move to the back of the LRU order. Moving costs a delete and an insert, so a
   * session used again within REORDER_AFTER_MS keeps its place: the order is then off by at most
   * that much, which neither eviction nor the expiry sweep cares about.
   */
  #touch(key: string, s: Session, now: number): void {
    const stale = now - s.lastUsedMs >= REORDER_AFTER_MS || now < s.lastUsedMs;
    s.lastUsedMs = now;
    if (!stale) return;
    this.#sessions.delete(key);
    this.#sessions.set(key, s);
  }

  /** Drop expired sessions from the front (oldest first), at most SWEEP_EVERY of them. */
  #sweep(now: number): void {
    this.#sinceSweep = 0;
    let budget = SWEEP_EVERY;
    for (const [key, s] of this.#sessions) {
      if (budget-- === 0 || now - s.lastUsedMs <= this.#timeoutMs) break;
      this.#sessions.delete(key);
    }
  }
}

export function createSessionStickiness(deps: BalancerDeps, options?: unknown): SessionStickinessBalancer {
  return new SessionStickinessBalancer(deps, options);
}
