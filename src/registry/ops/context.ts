/**
 * @module registry/ops/context
 * What every registry operation needs: the store (writes), the catalog (reads), the clock, the
 * validated config and the registry's own identity. Operations are plain async functions over
 * this context, callable without a socket; the HTTP layer only parses and formats.
 */
import type { Clock } from '../../shared/clock.ts';
import type { Catalog } from '../catalog.ts';
import type { SelfPreservationOptions } from '../self-preservation.ts';
import type { Store } from '../storage/types.ts';

export interface RegistryConfig {
  /** The registry's own environment; global providers are looked up in it (spec §4.4). */
  environment: string;
  /** Extra service names visible from every app/env besides SERVICECENTER. */
  globalVisible: readonly string[];
  /** When > 0, replaces every instance's TTL (seconds). */
  instanceTtlSec: number;
  /** Push-mode health checks are raised to at least these (spec §3.2). */
  minIntervalSec: number;
  minTimes: number;
  quota: { services: number; instances: number; schemas: number; tags: number };
  version: string;
  /**
   * Holding back mass lease expiry (../self-preservation.ts). Unset fields take the defaults:
   * enabled with the etcd store (off with the embedded one), windowMs 2000, threshold 0.8,
   * minInstances 5, maxHoldMs 600000.
   */
  selfPreservation?: Partial<SelfPreservationOptions>;
}

export const DEFAULT_CONFIG: RegistryConfig = {
  environment: 'production',
  globalVisible: [],
  instanceTtlSec: 0,
  minIntervalSec: 5,
  minTimes: 3,
  quota: { services: 50_000, instances: 150_000, schemas: 100, tags: 100 },
  version: '2.2.0',
};

export interface RegistryContext {
  store: Store;
  catalog: Catalog;
  clock: Clock;
  config: RegistryConfig;
  /** The registry's own serviceId/instanceId once it has registered itself as SERVICECENTER. */
  self: { tenant: string; serviceId: string; instanceId: string } | null;
}

export const SELF_NAME = 'SERVICECENTER';
