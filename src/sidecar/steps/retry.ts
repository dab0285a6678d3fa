/**
 * @module sidecar/steps/retry
 * Retries (issue 4 item 2). Runs inside the circuit breaker (the breaker sees one outcome per call)
 * and outside the per-try timeout and outlier steps (they see every attempt):
 *
 *   … → circuit breaker → retry → outlier → timeout → load-balance → transport
 *
 * After each attempt `RetryPolicy.decide` says stop / same endpoint / next endpoint (connect
 * failures and resets before the first response byte: any method, on another endpoint; retry-on
 * statuses and timeouts: idempotent methods unless configured). A retry also needs the backoff to
 * fit before the call's deadline (`call.deadlineMs`, fixed by the timeout step) and a token from the service's `RetryBudget`; otherwise the caller
 * gets the last attempt's answer. Tried endpoints go into `call.exclude` when moving on (if that
 * leaves no endpoint the attempt runs without the exclusion); `retryOnSame` attempts pin the
 * endpoint (`call.pinned`).
 * Request bodies are replayed from a bounded buffer (./replay-body.ts); over the bound, no retry.
 *
 * When the policy allows one attempt only, the step is a property check and `next`.
 *
 * A provider sidecar that is shutting down answers 503 with `x-mesher-error: SHUTTING_DOWN`
 * without calling its app: that attempt is retried like a refused connection (any method, on
 * another endpoint). Only 503s are checked for the header.
 */
import type { Clock, Random } from '../../shared/clock.ts';
import { ERROR_HEADER, isMeshError, MeshError } from '../../shared/errors.ts';
import type { CallContext, Next, Outcome, Step } from '../chain/types.ts';
import type { PerService } from '../policy/index.ts';
import { policyFor, type ResiliencePolicies } from '../policy/index.ts';
import { type Backoff, createBackoff } from '../retry/backoff.ts';
import type { RetryBudget } from '../retry/retry-budget.ts';
import {
  type AttemptResult,
  RETRY_NEXT,
  type RetryDecision,
  RetryPolicy,
  STOP,
} from '../retry/retry-policy.ts';
import type { BackoffConfig, RetryConfig } from '../retry/types.ts';
import type { RoutePolicy } from '../routing/types.ts';
import type { GovernanceCounters } from '../telemetry/counters.ts';
import { bufferBody, DEFAULT_REPLAY_MAX_BYTES, type ReplayBody } from './replay-body.ts';
import { routeDecisionOf } from './route.ts';
import { discardOutcome } from './timeout.ts';

/** A refused-before-sending answer counts as a refused connection: retried for any method. */
const NOT_SENT: AttemptResult = Object.freeze({ errorCode: 'UPSTREAM_CONNECT' });

/** Whether a 503 is a provider sidecar's SHUTTING_DOWN (nothing reached its app). */
function refusedWhileShuttingDown(headers: readonly string[]): boolean {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === ERROR_HEADER) return headers[i + 1] === 'SHUTTING_DOWN';
  }
  return false;
}

export interface RetryStepDeps {
  readonly policies: ResiliencePolicies;
  readonly budgets: PerService<ResiliencePolicies['defaults']['retryBudget'], RetryBudget>;
  readonly clock: Clock;
  readonly random: Random;
  readonly counters?: GovernanceCounters;
  /** Largest request body kept for replay (default 64 KiB). */
  readonly replayMaxBytes?: number;
}

/** Engines derived from frozen config objects, built once per object (config versions share them). */
const policyCache = new WeakMap<RetryConfig, RetryPolicy>();
const routeCache = new WeakMap<RoutePolicy, RetryPolicy>();

function retryPolicyOf(config: RetryConfig): RetryPolicy {
  let p = policyCache.get(config);
  if (p === undefined) {
    p = new RetryPolicy(config);
    policyCache.set(config, p);
  }
  return p;
}

const GATEWAY_ERRORS = [502, 503, 504];

/** A route's `retry: {attempts, retryOn}` over the service's retry config. */
export function routeRetryConfig(base: RetryConfig, route: NonNullable<RoutePolicy['retry']>): RetryConfig {
  let statuses = base.retryOnStatuses;
  if (route.retryOn !== undefined) {
    const set = new Set<number>();
    for (const item of route.retryOn) {
      if (/^\d{3}$/.test(item)) set.add(Number(item));
      else if (/^[1-5]xx$/.test(item)) {
        const from = Number(item[0]) * 100;
        for (let s = from; s < from + 100; s++) set.add(s);
      } else if (item === 'gateway-error') for (const s of GATEWAY_ERRORS) set.add(s);
      // connect-failure / reset / timeout: always retried by the policy (timeouts for idempotent calls)
    }
    statuses = [...set];
  }
  return {
    ...base,
    enabled: route.attempts > 1,
    retryOnSame: 0,
    retryOnNext: Math.max(0, route.attempts - 1),
    retryOnStatuses: statuses,
  };
}

function retryPolicyFor(call: CallContext, config: RetryConfig): RetryPolicy {
  const route = routeDecisionOf(call)?.policy;
  if (route?.retry === undefined) return retryPolicyOf(config);
  let p = routeCache.get(route);
  if (p === undefined) {
    p = new RetryPolicy(routeRetryConfig(config, route.retry));
    routeCache.set(route, p);
  }
  return p;
}

function declaredLength(headers: readonly string[]): number | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.length === 14 && headers[i]!.toLowerCase() === 'content-length') {
      const n = Number(headers[i + 1]);
      return Number.isFinite(n) ? n : undefined;
    }
  }
  return undefined;
}

/** Wait `ms` on the clock; rejects early when the call is aborted. */
function sleep(ms: number, clock: Clock, call: CallContext): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  const signal = call.signal;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      timer.cancel();
      reject(
        new MeshError('UPSTREAM_TIMEOUT', { service: call.service, message: 'Aborted during retry backoff' }),
      );
    };
    const timer = clock.setTimeout(() => {
      signal.remove(onAbort);
      resolve();
    }, ms);
    signal.add(onAbort);
  });
}

/**
 * What `runRetries` needs to decide after each attempt: the engine's `RetryPolicy` satisfies it,
 * and so does the marker policy of src/sidecar/governance/retry-policy.ts.
 */
export interface AttemptPolicy {
  /** Total attempts including the first; at most 1 = no retry. */
  readonly maxAttempts: number;
  decide(attempt: number, method: string, result: AttemptResult, replayable?: boolean): RetryDecision;
  nextAttemptNumber(attempt: number, decision: RetryDecision): number;
}

/** One call's retry setting: the policy, its backoff, the budget to draw from. */
export interface RetryRun {
  readonly policy: AttemptPolicy;
  readonly backoff: Backoff;
  readonly budget: RetryBudget;
  readonly clock: Clock;
  readonly counters?: GovernanceCounters;
  readonly maxBytes: number;
}

export function createRetry(deps: RetryStepDeps): Step {
  const { policies, budgets, clock, counters } = deps;
  const maxBytes = deps.replayMaxBytes ?? DEFAULT_REPLAY_MAX_BYTES;
  const backoffs = new WeakMap<BackoffConfig, Backoff>();
  const backoffOf = (c: BackoffConfig): Backoff => {
    let b = backoffs.get(c);
    if (b === undefined) {
      b = createBackoff(c, { random: deps.random });
      backoffs.set(c, b);
    }
    return b;
  };

  return function retry(call, next) {
    // Another retry step (a marker `servicecomb.retry` policy) already owns this call's attempts.
    if (call.kind !== 'request' || call.retrying === true) return next(call);
    const p = policyFor(policies, call.service);
    const policy = retryPolicyFor(call, p.retry);
    if (policy.maxAttempts <= 1) return next(call);
    const budget = budgets.get(call.service, p.retryBudget);
    return runRetries(call, next, {
      policy,
      backoff: backoffOf(policy.config.backoff),
      budget,
      clock,
      counters,
      maxBytes,
    });
  };
}

/**
 * The retry loop shared by the per-service step and the marker step: bounded body replay, the
 * call's deadline, the budget, endpoint exclusion / pinning. The caller checked `maxAttempts > 1`.
 */
export async function runRetries(call: CallContext, next: Next, run: RetryRun): Promise<Outcome> {
  const { policy, backoff, budget, clock, counters, maxBytes } = run;
  budget.recordRequest();
  call.retrying = true;
  let replay: ReplayBody | undefined;
  if (call.hasBody && call.body !== null) {
    try {
      replay = await bufferBody(call.body, maxBytes, declaredLength(call.headers));
    } catch (err) {
      throw new MeshError('BAD_REQUEST', {
        service: call.service,
        message: 'The request body ended early',
        cause: err,
      });
    }
    call.body = replay.stream();
  }
  const replayable = replay === undefined || replay.replayable;
  let attempt = 1;
  let retries = 0;
  let excluded = false;
  let outcome: Outcome | undefined;
  let error: unknown;

  for (;;) {
    outcome = undefined;
    error = undefined;
    try {
      outcome = await next(call);
    } catch (err) {
      error = err;
      // Everything was excluded (tried or ejected): try again without our exclusions.
      if (excluded && isMeshError(err) && err.code === 'NO_ENDPOINTS' && !call.signal.aborted) {
        call.exclude = undefined;
        call.pinned = undefined;
        excluded = false;
        if (replay !== undefined) call.body = replay.stream();
        try {
          outcome = await next(call);
          error = undefined;
        } catch (err2) {
          error = err2;
        }
      }
    }
    if (call.signal.aborted) break;
    let result: AttemptResult;
    if (outcome !== undefined)
      result =
        outcome.status === 503 && refusedWhileShuttingDown(outcome.headers)
          ? NOT_SENT
          : { status: outcome.status };
    else if (isMeshError(error)) result = { errorCode: error.code };
    else break;
    const decision = policy.decide(attempt, call.method, result, replayable);
    if (decision === STOP) break;
    const delay = backoff.delayMs(retries + 1);
    // The backoff and at least 1 ms of attempt must fit before the deadline.
    if (call.deadlineMs !== undefined && call.deadlineMs - clock.now() - delay < 1) break;
    if (!budget.tryRetry()) {
      counters?.retryBudgetExhausted.inc(call.service);
      break;
    }
    counters?.retry.inc(call.service);
    if (outcome !== undefined) discardOutcome(outcome);
    const tried = call.endpoint;
    if (decision === RETRY_NEXT) {
      call.pinned = undefined;
      if (tried !== undefined) {
        if (call.exclude === undefined) call.exclude = new Set();
        call.exclude.add(tried.key);
        excluded = true;
      }
    } else call.pinned = tried;
    await sleep(delay, clock, call);
    attempt = policy.nextAttemptNumber(attempt, decision);
    retries++;
    call.attempt = retries + 1;
    if (replay !== undefined) call.body = replay.stream();
  }
  if (outcome === undefined) throw error;
  return outcome;
}
