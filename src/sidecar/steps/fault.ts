/**
 * @module sidecar/steps/fault
 * Fault injection (issue 4 item 6), consumer side: per target service, delay a share of calls by
 * a fixed time (on the injected Clock) and/or answer a share with the configured status (thrown as
 * FAULT_INJECTED, marked `x-mesher-error` like every proxy answer) without calling upstream.
 * Services without a fault configured cost one lookup and a property check.
 *
 * A delay counts against the call's whole-call timeout: the step fixes `call.deadlineMs` (now +
 * `requestMs`, or the route's `timeoutMs`) as the timeout step would at the first attempt, and a
 * delay that would outlast it ends AT the deadline with 504 UPSTREAM_TIMEOUT — as a slow upstream
 * would. Upgrades and tunnels (never timed) wait the whole delay.
 */
import type { Clock } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import type { CallContext, Next, Outcome, Step } from '../chain/types.ts';
import { faultAbortError } from '../fault/fault-error.ts';
import { type FaultConfig, type FaultInjector, faultActive } from '../fault/fault-injector.ts';
import { type PerService, policyFor, type ResiliencePolicies, type ServicePolicy } from '../policy/index.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { routeDecisionOf } from './route.ts';

export interface FaultStepDeps {
  readonly policies: ResiliencePolicies;
  readonly injectors: PerService<FaultConfig, FaultInjector>;
  readonly clock: Clock;
  readonly counters?: GovernanceCounters;
}

/** Wait `ms` on the clock, or until the client leaves (the chain's answer is not read then). */
function wait(call: CallContext, clock: Clock, ms: number): Promise<void> {
  const signal = call.signal;
  return new Promise<void>((resolve) => {
    const done = () => {
      timer.cancel();
      signal.remove(done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.add(done);
  });
}

export function createFault(deps: FaultStepDeps): Step {
  const { policies, injectors, clock, counters } = deps;

  /** A call the injector may delay or abort (only services with a fault configured get here). */
  async function injected(call: CallContext, next: Next, p: ServicePolicy): Promise<Outcome> {
    const decision = injectors.get(call.service, p.fault).decide();
    if (decision.delayMs > 0) {
      counters?.fault.inc(call.service, 'delay');
      if (call.kind !== 'request') await wait(call, clock, decision.delayMs);
      else {
        const now = clock.now();
        let deadline = call.deadlineMs;
        if (deadline === undefined) {
          deadline = now + (routeDecisionOf(call)?.policy?.timeoutMs ?? p.timeouts.requestMs);
          call.deadlineMs = deadline;
        }
        const left = deadline - now;
        if (decision.delayMs < left) await wait(call, clock, decision.delayMs);
        else {
          if (left > 0) await wait(call, clock, left);
          throw new MeshError('UPSTREAM_TIMEOUT', {
            service: call.service,
            message: `The injected delay (${decision.delayMs} ms) outlasted the request timeout`,
          });
        }
      }
    }
    if (decision.abortStatus !== undefined) {
      counters?.fault.inc(call.service, 'abort');
      throw faultAbortError(call.service, decision.abortStatus);
    }
    return next(call);
  }

  // Not async: a service without faults hands `next`'s promise straight back (an async wrapper
  // costs a promise and three microtask turns per call).
  return function fault(call, next) {
    const p = policyFor(policies, call.service);
    return faultActive(p.fault) ? injected(call, next, p) : next(call);
  };
}
