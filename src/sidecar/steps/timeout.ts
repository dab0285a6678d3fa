/**
 * @module sidecar/steps/timeout
 * Timeouts (issue 4 item 1), as two steps around the retry step:
 *
 *   request timeout → retry → outlier → per-try timeout → load-balance → transport
 *
 * - `createRequestTimeout`: the whole call, retries and backoff included (`requestMs`, or the
 *   route's `timeoutMs`), until the response head of the last attempt.
 * - `createPerTryTimeout`: one attempt until its response head (`perTryMs`, or the route's
 *   `retry.perTryTimeoutMs`); it also sets the call's connect timeout (`connectMs`).
 *
 * Expiry aborts the attempt (a child `CallSignal`, so the upstream request is destroyed) and throws
 * 504 UPSTREAM_TIMEOUT at once; an answer that arrives later is discarded (its body drained).
 * Both use the injected Clock; upgrades and CONNECT tunnels are not timed here.
 */
import type { Clock } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import type { CallContext, Next, Outcome, Step } from '../chain/types.ts';
import { policyFor, type ResiliencePolicies } from '../policy/index.ts';
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
export function runWithTimeout(call: CallContext, next: Next, ms: number, clock: Clock): Promise<Outcome> {
  const parent = call.signal;
  const child = parent.child();
  call.signal = child;
  return new Promise<Outcome>((resolve, reject) => {
    let done = false;
    const settle = () => {
      done = true;
      timer.cancel();
      child.detach();
      // Only restore what we installed: an outer step may have moved on already.
      if (call.signal === child) call.signal = parent;
    };
    const timer = clock.setTimeout(() => {
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
}

/** The whole-call timeout (requestMs; a route's `timeoutMs` overrides it). */
export function createRequestTimeout(deps: TimeoutStepDeps): Step {
  const { policies, clock } = deps;
  return function requestTimeout(call, next) {
    if (call.kind !== 'request') return next(call);
    const ms =
      routeDecisionOf(call)?.policy?.timeoutMs ?? policyFor(policies, call.service).timeouts.requestMs;
    return runWithTimeout(call, next, ms, clock);
  };
}

/** The per-attempt timeout (perTryMs; a route's `retry.perTryTimeoutMs` overrides it) and connect timeout. */
export function createPerTryTimeout(deps: TimeoutStepDeps): Step {
  const { policies, clock } = deps;
  return function perTryTimeout(call, next) {
    if (call.kind !== 'request') return next(call);
    const t = policyFor(policies, call.service).timeouts;
    call.connectTimeoutMs = t.connectMs;
    const route = routeDecisionOf(call)?.policy;
    const ms = route?.retry?.perTryTimeoutMs ?? t.perTryMs;
    // A try allowed as long as the whole call is already bounded by the request timeout.
    if (ms >= (route?.timeoutMs ?? t.requestMs)) return next(call);
    return runWithTimeout(call, next, ms, clock);
  };
}
