/**
 * @module sidecar/steps/load-balance
 * Outbound: find the target service's endpoints (directory `peek` first, `lookup` only on a cache
 * miss), let its balancer pick one, and report the call's result back to the balancer. Sets
 * `call.target` / `call.endpoint`. Unknown service → SERVICE_NOT_FOUND (from the directory);
 * nothing to pick → NO_ENDPOINTS. A refused connection (UPSTREAM_CONNECT: nothing reached the
 * instance) fails over to another instance, up to twice, for calls without a request body; the
 * tried instances go into `call.exclude`. Configurable retries are the retry step's (issue 4):
 * when it runs (`call.retrying`), this step makes exactly one attempt and leaves failover to it.
 *
 * Route decisions (`route`): the service is looked up in the decision's app when its tags name one
 * (cross-app routing), else in `call.app` (the caller's own app); a decision with tags narrows the
 * endpoints to its subset, which gets a balancer of its own (`routedSnapshot`).
 *
 * What `pick()` is told, without allocating in the common case: the caller's zone (`zone`, fixed
 * per config version, so the request objects are built once here) and, only for services whose
 * strategy is SessionStickiness, the call's session key (./session-key.ts).
 */
import type { Readable } from 'node:stream';
import { isMeshError, MeshError } from '../../shared/errors.ts';
import type { Balancer, PickRequest, PickResult } from '../balancer/types.ts';
import type { CallContext, Step } from '../chain/types.ts';
import type { Endpoint, ServiceDirectory } from '../discovery/types.ts';
import { routedSnapshot } from '../routing/filter.ts';
import type { RouteDecision } from '../routing/types.ts';
import type { BalancerSet } from './balancer-set.ts';
import { sessionKeyOf } from './session-key.ts';

/** The caller's zone (the sidecar's own region and availableZone). */
export interface CallerZone {
  readonly region: string;
  readonly availableZone: string;
}

export interface LoadBalanceDeps {
  readonly directory: ServiceDirectory;
  readonly balancers: BalancerSet;
  /**
   * The route decision for this call (the route step's `routeDecisionOf`); undefined = the default
   * selection in the caller's app. Its app (cross-app routing) and tag subset are applied here; an
   * empty subset throws 503 NO_ENDPOINTS.
   */
  readonly route?: (call: CallContext) => RouteDecision | undefined;
  /** The caller's zone: endpoints in the same zone, then region, are preferred. */
  readonly zone?: CallerZone;
  /** Monotonic milliseconds (performance.now by default). */
  readonly now?: () => number;
}

/** The strategy whose balancers are given the call's session key. */
const STICKY = 'SessionStickiness';

/** Reports the end of a call to the balancer when the response body is done (or failed). */
function reportWhenDone(
  body: Readable,
  balancer: Balancer,
  endpoint: Endpoint,
  status: number,
  start: number,
  now: () => number,
): void {
  let reported = false;
  const report = () => {
    if (reported) return;
    reported = true;
    balancer.onFinish(endpoint, { ok: status < 500 && body.readableEnded, latencyMs: now() - start });
  };
  body.once('close', report);
  body.once('end', report);
}

/** Connect failures fail over to another instance at most this many times per call. */
const MAX_CONNECT_FAILOVERS = 2;

function canFailOver(err: unknown, call: CallContext, failovers: number): boolean {
  return (
    failovers < MAX_CONNECT_FAILOVERS &&
    call.retrying !== true &&
    isMeshError(err) &&
    err.code === 'UPSTREAM_CONNECT' &&
    !call.hasBody &&
    !call.signal.aborted
  );
}

export function createLoadBalance(deps: LoadBalanceDeps): Step {
  const { directory, balancers, route, zone } = deps;
  const now = deps.now ?? performance.now.bind(performance);
  // Built once: the common pick (no exclusions, not sticky) passes a shared frozen request.
  const zoneOnly: PickRequest | undefined = zone === undefined ? undefined : Object.freeze({ zone });

  /** Ask the balancer, telling it what the strategy uses. Allocates only with exclusions or sessions. */
  function pick(balancer: Balancer, call: CallContext): PickResult {
    if (balancer.name === STICKY) {
      const sessionKey = sessionKeyOf(call.headers);
      if (sessionKey !== undefined) return balancer.pick({ exclude: call.exclude, sessionKey, zone });
    }
    if (call.exclude !== undefined) return balancer.pick({ exclude: call.exclude, zone });
    return zoneOnly === undefined ? balancer.pick() : balancer.pick(zoneOnly);
  }

  return async function loadBalance(call, next) {
    const decision = route === undefined ? undefined : route(call);
    const app = decision?.app ?? call.app;
    const snapshot = directory.peek(call.service, app) ?? (await directory.lookup(call.service, app));
    const balancer =
      decision === undefined || decision.tags === undefined
        ? balancers.get(call.service, app, snapshot)
        : balancers.get(call.service, app, routedSnapshot(snapshot, decision), decision.routeKey);
    let outcome: Awaited<ReturnType<typeof next>>;
    let endpoint: Endpoint;
    let start: number;
    let lastError: unknown;
    for (let failovers = 0; ; failovers++) {
      const picked: PickResult =
        call.pinned !== undefined ? { kind: 'ok', endpoint: call.pinned } : pick(balancer, call);
      if (picked.kind !== 'ok') {
        // After a failed connect with nowhere left to go, the caller learns why (502), not 503.
        throw lastError ?? new MeshError('NO_ENDPOINTS', { service: call.service });
      }
      endpoint = picked.endpoint;
      call.endpoint = endpoint;
      call.target = endpoint;
      start = now();
      balancer.onStart(endpoint);
      try {
        outcome = await next(call);
        break;
      } catch (err) {
        balancer.onFinish(endpoint, { ok: false, latencyMs: now() - start });
        if (!canFailOver(err, call, failovers)) throw err;
        lastError = err;
        // The instance refused the connection: nothing reached it, so another instance may
        // take the call (only without a request body: a body stream cannot be replayed here).
        if (call.exclude === undefined) call.exclude = new Set();
        call.exclude.add(endpoint.key);
        call.attempt++;
      }
    }
    const body = outcome.body;
    if (body !== null && !Buffer.isBuffer(body) && outcome.socket === undefined) {
      reportWhenDone(body, balancer, endpoint, outcome.status, start, now);
    } else {
      balancer.onFinish(endpoint, { ok: outcome.status < 500, latencyMs: now() - start });
    }
    return outcome;
  };
}
