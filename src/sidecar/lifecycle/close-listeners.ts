/**
 * @module sidecar/lifecycle/close-listeners
 * How the data plane's listeners stop (phase 4 of the shutdown, docs/lifecycle.md), in two steps:
 *
 * 1. **Inbound first** (the reverse proxy, or the edge's ingress): stop accepting, and answer
 *    every request that STARTS from now on — on a keep-alive connection, or a head that was still
 *    arriving — with 503 `SHUTTING_DOWN` and `Connection: close`. The instance was deregistered a
 *    whole drain period ago, so such a caller works from a stale cache; nothing reached the app, so
 *    it may safely retry elsewhere (a consumer sidecar's retry step does, for any method).
 *    Requests already in flight finish.
 * 2. **Outbound last** (the forward proxy): it keeps accepting and serving while inbound requests
 *    are in flight, because the app may need outbound calls to finish them (the classic "proxy
 *    exits before the app" failure). Once the inbound side is done — or the in-flight deadline
 *    passed — it stops accepting, and outbound calls that start from then on get 503
 *    `SHUTTING_DOWN` too, so the app learns why instead of meeting a reset.
 *
 * Both steps share one deadline (`inFlightMs` from the start of the close); when it passes, every
 * remaining connection is cut by the caller. Refusing costs nothing on the hot path: the listener's
 * chain slot is swapped to a handler that answers at once.
 */
import type { Server } from 'node:http';
import type { Clock, TimerHandle } from '../../shared/clock.ts';
import { MeshError } from '../../shared/errors.ts';
import type { Slot } from '../chain/compose.ts';
import { rescue } from '../chain/rescue.ts';
import type { Handler } from '../chain/types.ts';
import type { EdgeRoute, EdgeServer } from '../listeners/server.ts';

/** Answers every call with 503 SHUTTING_DOWN (its connection closes: the listener is draining). */
export const refuseShuttingDown: Handler = async (call) =>
  rescue(
    new MeshError('SHUTTING_DOWN', {
      service: call.service,
      message: 'The proxy is shutting down; the call was not sent anywhere, retry it elsewhere',
    }),
    call.service,
  );

/** One proxy listener: its server, its chain slot. */
export interface ClosingListener {
  readonly edge: EdgeServer;
  readonly slot: Slot<EdgeRoute>;
}

/** Stop accepting, refuse new calls, close idle connections; resolves when the server has closed. */
function stop(l: ClosingListener): Promise<void> {
  const closed = closeServer(l.edge.server);
  l.slot.swap({ makeCall: l.slot.current.makeCall, handler: refuseShuttingDown });
  l.edge.drain();
  l.edge.server.closeIdleConnections();
  return closed;
}

/**
 * Wait for `done` until `deadlineAt` (clock ms), closing connections of `servers` that turn idle
 * every 100 ms (a response written while draining closes its connection; one that ended just
 * before may otherwise linger as keep-alive). Resolves true when `done` won.
 */
async function waitSweeping(
  clock: Clock,
  done: Promise<unknown>,
  deadlineAt: number,
  servers: readonly Server[],
): Promise<boolean> {
  const left = deadlineAt - clock.now();
  if (left <= 0) return false;
  const sweep = clock.setInterval(() => {
    for (const s of servers) s.closeIdleConnections();
  }, 100);
  let timer: TimerHandle | undefined;
  try {
    return await Promise.race([
      done.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = clock.setTimeout(() => resolve(false), left);
      }),
    ]);
  } finally {
    sweep.cancel();
    timer?.cancel();
  }
}

/** `server.close()` as a promise (already closed: resolved). */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/**
 * Close `inbound` then `outbound` as the module header says, within `inFlightMs`. Resolves when
 * both have closed or the deadline passed, with `closed`: settles once every server (others
 * included) has closed — after the caller cut what was left.
 */
export async function closeListenersInOrder(opts: {
  readonly inbound?: ClosingListener;
  readonly outbound?: ClosingListener;
  /** Other servers to close at once (the admin API). */
  readonly others?: readonly Server[];
  readonly inFlightMs: number;
  readonly clock: Clock;
}): Promise<{ closed: Promise<void> }> {
  const { inbound, outbound, clock } = opts;
  const deadlineAt = clock.now() + opts.inFlightMs;
  const othersClosed = (opts.others ?? []).map(closeServer);
  const inboundClosed = inbound === undefined ? Promise.resolve() : stop(inbound);
  if (inbound !== undefined && outbound !== undefined) {
    await waitSweeping(clock, inboundClosed, deadlineAt, [inbound.edge.server]);
  }
  const outboundClosed = outbound === undefined ? Promise.resolve() : stop(outbound);
  const servers = [inbound, outbound].flatMap((l) => (l === undefined ? [] : [l.edge.server]));
  await waitSweeping(clock, Promise.all([inboundClosed, outboundClosed]), deadlineAt, servers);
  return { closed: Promise.all([inboundClosed, outboundClosed, ...othersClosed]).then(() => {}) };
}
