/**
 * @module bench/lib/one-endpoint
 * The in-process data-plane rig the micro-benchmarks share (bench/telemetry/e2e-cost.ts,
 * bench/transports.ts): a directory and a balancer that always answer with one endpoint and keep
 * no state, so what is measured is the proxy path and not discovery or balancing. (The config and
 * the endpoint come from test/support/fake-directory.ts: `testSidecarConfig`, `endpointOf`.)
 */
import type { Balancer, PickResult } from '../../src/sidecar/balancer/types.ts';
import type { Endpoint, ServiceDirectory, ServiceSnapshot } from '../../src/sidecar/discovery/types.ts';

/** A directory in which `serviceName` always resolves to `endpoint` (and nothing ever changes). */
export function oneEndpointDirectory(serviceName: string, endpoint: Endpoint): ServiceDirectory {
  const snapshot: ServiceSnapshot = { serviceName, app: 'default', revision: '1', endpoints: [endpoint] };
  return {
    lookup: async () => snapshot,
    peek: () => snapshot,
    subscribe: () => () => {},
    tracked: () => [snapshot],
  };
}

/** A balancer that always picks `endpoint`. */
export function oneEndpointBalancer(endpoint: Endpoint): Balancer {
  return {
    name: 'one-endpoint',
    update() {},
    pick: (): PickResult => ({ kind: 'ok', endpoint }),
    onStart() {},
    onFinish() {},
  };
}
