/**
 * @module sidecar/upstream/lazy-undici
 * The undici transport behind a loader: `transport: undici` is an opt-in kept for re-measuring
 * (./undici-pool.ts), so the data plane does not import undici (about 5-6 MB of RSS, measured by
 * bench/memory/import-cost.mjs) unless a config actually selects it. The module loads on the
 * first call; calls made meanwhile wait for it.
 */
import type { CallContext, Outcome, Target } from '../chain/types.ts';
import type { Upstream, UpstreamOptions } from './types.ts';

export function createLazyUndiciUpstream(opts: UpstreamOptions): Upstream {
  let ready: Upstream | undefined;
  let loading: Promise<Upstream> | undefined;
  let closed = false;

  function load(): Promise<Upstream> {
    loading ??= import('./undici-pool.ts').then((m) => {
      ready = m.createUndiciUpstream(opts);
      // Closed while loading: nothing may keep sockets open afterwards.
      if (closed) ready.close();
      return ready;
    });
    return loading;
  }

  function via(
    op: 'request' | 'upgrade' | 'tunnel',
  ): (call: CallContext, target: Target) => Promise<Outcome> {
    return (call, target) =>
      ready !== undefined ? ready[op](call, target) : load().then((u) => u[op](call, target));
  }

  return {
    request: via('request'),
    upgrade: via('upgrade'),
    tunnel: via('tunnel'),
    close() {
      closed = true;
      ready?.close();
    },
  };
}
