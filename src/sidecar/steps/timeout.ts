/**
 * @module sidecar/steps/timeout
 * Timeouts (issue 4 item 1) in one step that runs around every attempt, inside the retry step:
 *
 *   … → retry → outlier → timeout → load-balance → transport
 *
 * At the first attempt it fixes the call's deadline (`call.deadlineMs` = now + `requestMs`, or the
 * route's `timeoutMs`); each attempt then gets min(`perTryMs` (or the route's
 * `retry.perTryTimeoutMs`), time left before the deadline), and the retry step only retries when
 * the backoff still fits before it. So the whole call — retries and backoff included — is bounded
 * by `requestMs` until the response head of its last attempt, with ONE timer per attempt. It also
 * sets the connect timeout (`connectMs`) the transport uses.
 *
 * Expiry aborts the attempt (a child `CallSignal`, so the upstream request is destroyed) and throws
 * 504 UPSTREAM_TIMEOUT at once; an answer that arrives later is discarded (its body drained).
 * Timers come from a `DeadlineQueue` on the injected Clock. Upgrades and CONNECT tunnels are not
 * timed here.
 */
import type { Clock } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import { CallSignal } from '../chain/call-signal.ts';
import type { CallContext, Next, Outcome, Step } from '../chain/types.ts';
import { policyFor, type ResiliencePolicies } from '../policy/index.ts';
import { DeadlineQueue } from './deadline-queue.ts';
import { routeDecisionOf } from './route.ts';

/** Throw away an answer nobody will read: drain a streaming body (keeps keep-alive), close sockets. */
export function discardOutcome(out: Outcome): void {
  const body = out.body;
  if (body !== null && !Buffer.isBuffer(body)) body.resume();
  out.socket?.destroy();
}

/**
 * Run `next(call)` with a deadline of `ms`: on expiry abort this attempt only (a child of the
 * call's signal) and reject with UPSTREAM_TIMEOUT.
 */
export function runWithTimeout(
  call: CallContext,
  next: Next,
  ms: number,
  timers: Pick<Clock, 'setTimeout'>,
): Promise<Outcome> {
  const parent = call.signal;
  // What CallSignal.child() does, without adding a `detach` property to the instance (that shape
  // change made child() cost ~0.7 µs; this is ~0.15 µs).
  const child = new CallSignal();
  const forward = () => child.abort();
  parent.add(forward);
  call.signal = child;
  return new Promise<Outcome>((resolve, reject) => {
    let done = false;
    const settle = () => {
      done = true;
      timer.cancel();
      parent.remove(forward);
      // Only restore what we installed: an outer step may have moved on already.
      if (call.signal === child) call.signal = parent;
    };
    const timer = timers.setTimeout(() => {
      if (done) return;
      settle();
      child.abort();
      reject(new MeshError('UPSTREAM_TIMEOUT', { service: call.service }));
    }, ms);
    next(call).then(
      (out) => {
        if (done) return discardOutcome(out);
        settle();
        resolve(out);
      },
      (err: unknown) => {
        if (done) return;
        settle();
        reject(err);
      },
    );
  });
}

export interface TimeoutStepDeps {
  readonly policies: ResiliencePolicies;
  readonly clock: Clock;
  /** Shared timer queue (default: one per step). */
  readonly timers?: DeadlineQueue;
}

/** Per-attempt timeout bounded by the whole-call deadline, plus the connect timeout. */
export function createTimeout(deps: TimeoutStepDeps): Step {
  const { policies, clock } = deps;
  const timers = deps.timers ?? new DeadlineQueue(clock);
  return function timeout(call, next) {
    if (call.kind !== 'request') return next(call);
    const t = policyFor(policies, call.service).timeouts;
    call.connectTimeoutMs = t.connectMs;
    const route = routeDecisionOf(call)?.policy;
    let deadline = call.deadlineMs;
    if (deadline === undefined) {
      deadline = clock.now() + (route?.timeoutMs ?? t.requestMs);
      call.deadlineMs = deadline;
    }
    const left = deadline - clock.now();
    if (left <= 0) return Promise.reject(new MeshError('UPSTREAM_TIMEOUT', { service: call.service }));
    const perTry = route?.retry?.perTryTimeoutMs ?? t.perTryMs;
    // The common case (a full per-try timeout) shares a queue; a remainder is a one-off timer.
    return perTry < left
      ? runWithTimeout(call, next, perTry, timers)
      : runWithTimeout(call, next, left, clock);
  };
}
