/**
 * @module sidecar/steps/load-balance
 * Outbound: find the target service's endpoints (directory `peek` first, `lookup` only on a cache
 * miss), let its balancer pick one, and report the call's result back to the balancer. Sets
 * `call.target` / `call.endpoint`. Unknown service → SERVICE_NOT_FOUND (from the directory);
 * nothing to pick → NO_ENDPOINTS. A refused connection (UPSTREAM_CONNECT: nothing reached the
 * instance) fails over to another instance, up to twice, for calls without a request body; the
 * tried instances go into `call.exclude`. Configurable retries are the retry step's (issue 4):
 * when it runs (`call.retrying`), this step makes exactly one attempt and leaves failover to it.
 */
import type { Readable } from 'node:stream';
import { isMeshError, MeshError } from '../../shared/errors.ts';
import type { Balancer } from '../balancer/types.ts';
import type { CallContext, Step } from '../chain/types.ts';
import type { Endpoint, ServiceDirectory, ServiceSnapshot } from '../discovery/types.ts';
import type { BalancerSet } from './balancer-set.ts';

/** A narrowed endpoint set for one call (a route's subset), with a stable key for its balancer. */
export interface Subset {
  readonly key: string;
  readonly snapshot: ServiceSnapshot;
}

export interface LoadBalanceDeps {
  readonly directory: ServiceDirectory;
  readonly balancers: BalancerSet;
  /**
   * Narrow the service's endpoints for this call (route rules); undefined = all of them. May throw
   * a MeshError (e.g. NO_ENDPOINTS when a route's subset is empty).
   */
  readonly subset?: (call: CallContext, snapshot: ServiceSnapshot) => Subset | undefined;
  /** Monotonic milliseconds (performance.now by default). */
  readonly now?: () => number;
}

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
  const { directory, balancers, subset } = deps;
  const now = deps.now ?? performance.now.bind(performance);
  return async function loadBalance(call, next) {
    const snapshot =
      directory.peek(call.service, call.app) ?? (await directory.lookup(call.service, call.app));
    const narrowed = subset === undefined ? undefined : subset(call, snapshot);
    const balancer =
      narrowed === undefined
        ? balancers.get(call.service, call.app, snapshot)
        : balancers.get(call.service, call.app, narrowed.snapshot, narrowed.key);
    let outcome: Awaited<ReturnType<typeof next>>;
    let endpoint: Endpoint;
    let start: number;
    let lastError: unknown;
    for (let failovers = 0; ; failovers++) {
      const picked =
        call.pinned !== undefined
          ? { kind: 'ok' as const, endpoint: call.pinned }
          : call.exclude === undefined
            ? balancer.pick()
            : balancer.pick({ exclude: call.exclude });
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
