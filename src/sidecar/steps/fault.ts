/**
 * @module sidecar/steps/fault
 * Fault injection (issue 4 item 6), consumer side: per target service, delay a share of calls by
 * a fixed time (on the injected Clock) and/or answer a share with the configured status (thrown as
 * FAULT_INJECTED, marked `x-mesher-error` like every proxy answer) without calling upstream.
 * Services without a fault configured cost one lookup and a property check.
 */
import type { Clock } from '../../shared/clock.ts';
import type { Step } from '../chain/types.ts';
import { faultAbortError } from '../fault/fault-error.ts';
import { type FaultConfig, type FaultInjector, faultActive } from '../fault/fault-injector.ts';
import { type PerService, policyFor, type ResiliencePolicies } from '../policy/index.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';

export interface FaultStepDeps {
  readonly policies: ResiliencePolicies;
  readonly injectors: PerService<FaultConfig, FaultInjector>;
  readonly clock: Clock;
  readonly counters?: GovernanceCounters;
}

export function createFault(deps: FaultStepDeps): Step {
  const { policies, injectors, clock, counters } = deps;
  return async function fault(call, next) {
    const config = policyFor(policies, call.service).fault;
    if (!faultActive(config)) return next(call);
    const decision = injectors.get(call.service, config).decide();
    if (decision.delayMs > 0) {
      counters?.fault.inc(call.service, 'delay');
      const signal = call.signal;
      await new Promise<void>((resolve) => {
        const done = () => {
          timer.cancel();
          signal.remove(done);
          resolve();
        };
        const timer = clock.setTimeout(done, decision.delayMs);
        signal.add(done); // the client left: stop waiting (the chain's answer is not read anyway)
      });
    }
    if (decision.abortStatus !== undefined) {
      counters?.fault.inc(call.service, 'abort');
      throw faultAbortError(call.service, decision.abortStatus);
    }
    return next(call);
  };
}
