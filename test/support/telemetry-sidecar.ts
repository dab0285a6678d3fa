/**
 * An in-process sidecar for telemetry tests (metrics, tracing): the real data plane with the real
 * telemetry steps, endpoints from a FakeDirectory and FakeRoundRobin balancing, listening on
 * 127.0.0.1:0. An inbound listener (and the local app behind it) only when `localAppPort` is given.
 */
import type { SidecarConfig } from '../../src/sidecar/config/types.ts';
import { createDataPlane, type DataPlane } from '../../src/sidecar/data-plane.ts';
import { createTelemetry, type Telemetry } from '../../src/sidecar/telemetry/index.ts';
import { type FakeDirectory, FakeRoundRobin, testSidecarConfig } from './fake-directory.ts';

export interface TelemetrySidecarSpec {
  readonly name: string;
  readonly directory: FakeDirectory;
  /** The local app behind an inbound listener; none (outbound only) when undefined. */
  readonly localAppPort?: number;
  /** Flat config keys (e.g. servicecomb.tracing.*). */
  readonly flat?: Record<string, unknown>;
  /** Process metrics (CPU, memory) in the registry; off keeps scrapes small. */
  readonly processMetrics?: boolean;
}

export interface TelemetrySidecar {
  readonly telemetry: Telemetry;
  readonly plane: DataPlane;
  readonly outboundPort: number;
  /** The inbound listener's address, when there is a local app. */
  readonly inbound: { host: string; port: number } | undefined;
}

export async function startTelemetrySidecar(spec: TelemetrySidecarSpec): Promise<TelemetrySidecar> {
  const { localAppPort } = spec;
  const base = testSidecarConfig();
  const config: SidecarConfig = testSidecarConfig({
    service: { ...base.service, name: spec.name, version: '1.0.0' },
    listeners: {
      outbound: { host: '127.0.0.1', port: 0 },
      inbound: localAppPort === undefined ? null : { host: '127.0.0.1', port: 0 },
      advertise: null,
      admin: null,
    },
    localApp: localAppPort === undefined ? null : { host: '127.0.0.1', port: localAppPort },
    ...(spec.flat === undefined ? {} : { flat: spec.flat }),
  });
  const telemetry = createTelemetry({
    config,
    ...(spec.processMetrics === undefined ? {} : { processMetrics: spec.processMetrics }),
  });
  const plane = createDataPlane({
    config,
    directory: spec.directory,
    createBalancer: () => new FakeRoundRobin(),
    extraSteps: (c) => telemetry.steps(c),
  });
  const addr = await plane.listen();
  return {
    telemetry,
    plane,
    outboundPort: addr.outbound.port,
    inbound: addr.inbound === undefined ? undefined : { host: '127.0.0.1', port: addr.inbound.port },
  };
}
