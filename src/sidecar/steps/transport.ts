/**
 * @module sidecar/steps/transport
 * The last step of every chain: send the call to `call.target` through the upstream pool and
 * return the response head with a streaming body (or, for upgrades and CONNECT, the upstream
 * socket to splice). Never calls `next`.
 */
import { MeshError } from '../../shared/errors.ts';
import type { Step } from '../chain/types.ts';
import type { Upstream } from '../upstream/types.ts';

export function createTransport(upstream: Upstream): Step {
  return function transport(call) {
    const target = call.target;
    if (target === undefined) {
      return Promise.reject(
        new MeshError('INTERNAL', { message: 'No target was chosen for the call', service: call.service }),
      );
    }
    if (call.kind === 'request') return upstream.request(call, target);
    if (call.kind === 'upgrade') return upstream.upgrade(call, target);
    return upstream.tunnel(call, target);
  };
}
