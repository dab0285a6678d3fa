/**
 * @module registry/metrics/catalog-metrics
 * What the registry holds and how it changes, and the self-preservation gate:
 *
 *   <p>services{tenant}, <p>instances{tenant}      gauges from the catalog (first `maxTenants`
 *                                                 tenants by name; the rest summed as `_other`)
 *   <p>instance_registrations_total               instance records created
 *   <p>instance_deregistrations_total             instances deleted by a deregistration
 *   <p>instance_expiries_total                    instances whose lease ended without one (missed
 *                                                 heartbeats; also a forced service delete)
 *   <p>self_preservation_enabled / _active        gauges 0/1 — alert on _active == 1
 *   <p>self_preservation_held_instances           expiries held back now (still served)
 *   <p>self_preservation_pending_expiries         expiries waiting for their window to close
 *   <p>self_preservation_activations_total        times protection turned on
 *
 * The three instance counters come from the store's watch stream, so with etcd every replica
 * counts the whole cluster's changes (aggregate replicas with max(), not sum()). An expiry is
 * counted when the store deletes the instance, whether or not self-preservation then holds it.
 * A deregistration is recognised by the marker key it writes in the same transaction
 * (../self-preservation.ts `deregisterMarkerKey`). Nothing here touches the request path.
 */
import type { Catalog } from '../catalog.ts';
import { keys } from '../keys.ts';
import { DEREGISTER_MARKER_PREFIX, instanceKeyOfMarker } from '../self-preservation.ts';
import type { Store, WatchEvent } from '../storage/types.ts';
import { callbackMetric, type PromMetric, type Sample } from './cells.ts';

/** Deregistration markers remembered at most (each lives from its txn to the lease revoke). */
const MAX_MARKERS = 100_000;
export const OTHER_TENANT = '_other';

/** Counts instance creates, deregistrations and expiries from the store's watch stream. */
export class InstanceLifecycle {
  registrations = 0;
  deregistrations = 0;
  expiries = 0;
  readonly #explicit = new Set<string>();
  readonly #stop: () => void;

  constructor(store: Store) {
    this.#stop = store.watch('/cse-sr/inst/', (events) => {
      for (const e of events) this.#apply(e);
    });
  }

  #apply(e: WatchEvent): void {
    const key = e.kv.key;
    if (key.startsWith(DEREGISTER_MARKER_PREFIX)) {
      const inst = instanceKeyOfMarker(key);
      if (e.type === 'DELETE') this.#explicit.delete(inst);
      else if (this.#explicit.size < MAX_MARKERS) this.#explicit.add(inst);
      return;
    }
    if (!key.startsWith(keys.instancePrefix)) return;
    if (e.type === 'PUT') {
      if (e.kv.version === 1) this.registrations++;
    } else if (this.#explicit.delete(key)) this.deregistrations++;
    else this.expiries++;
  }

  close(): void {
    this.#stop();
    this.#explicit.clear();
  }
}

/** Per-tenant services and instances, the first `maxTenants` tenants by name, the rest folded. */
function perTenant(catalog: Catalog, maxTenants: number): { services: Sample[]; instances: Sample[] } {
  const rows: Array<[string, number, number]> = [];
  for (const [tenant, idx] of catalog.tenants())
    if (idx.services.size > 0 || idx.instanceCount > 0)
      rows.push([tenant, idx.services.size, idx.instanceCount]);
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const services: Sample[] = [];
  const instances: Sample[] = [];
  let otherS = 0;
  let otherI = 0;
  rows.forEach(([tenant, s, i], n) => {
    if (n < maxTenants) {
      services.push({ labels: { tenant }, value: s });
      instances.push({ labels: { tenant }, value: i });
    } else {
      otherS += s;
      otherI += i;
    }
  });
  if (rows.length > maxTenants) {
    services.push({ labels: { tenant: OTHER_TENANT }, value: otherS });
    instances.push({ labels: { tenant: OTHER_TENANT }, value: otherI });
  }
  return { services, instances };
}

export interface CatalogMetrics {
  readonly metrics: PromMetric[];
  /** Read the per-tenant rows once; called before each scrape renders. */
  refresh(): void;
}

export function catalogMetrics(
  catalog: Catalog,
  lifecycle: InstanceLifecycle,
  prefix: string,
  maxTenants: number,
): CatalogMetrics {
  // Both per-tenant gauges come from one pass over the tenants, made when a scrape starts.
  let last = perTenant(catalog, maxTenants);
  const rows = () => last;
  const sp = () => catalog.selfPreservation();
  const metrics = [
    callbackMetric(
      `${prefix}services`,
      'Microservices in the catalog, by tenant (domain/project)',
      'gauge',
      () => rows().services,
    ),
    callbackMetric(
      `${prefix}instances`,
      'Instances in the catalog (held ones included), by tenant (domain/project)',
      'gauge',
      () => rows().instances,
    ),
    callbackMetric(
      `${prefix}instance_registrations_total`,
      'Instance records created in the store (cluster-wide with etcd)',
      'counter',
      () => lifecycle.registrations,
    ),
    callbackMetric(
      `${prefix}instance_deregistrations_total`,
      'Instances deleted by an explicit deregistration (cluster-wide with etcd)',
      'counter',
      () => lifecycle.deregistrations,
    ),
    callbackMetric(
      `${prefix}instance_expiries_total`,
      'Instances whose lease ended without a deregistration: missed heartbeats, or a forced service delete (cluster-wide with etcd)',
      'counter',
      () => lifecycle.expiries,
    ),
    callbackMetric(
      `${prefix}self_preservation_enabled`,
      'Whether the self-preservation gate is configured on (1) or off (0)',
      'gauge',
      () => (sp().enabled ? 1 : 0),
    ),
    callbackMetric(
      `${prefix}self_preservation_active`,
      'Self-preservation is holding back mass instance expiry (1): the registry is serving instances whose leases ended',
      'gauge',
      () => (sp().active ? 1 : 0),
    ),
    callbackMetric(
      `${prefix}self_preservation_held_instances`,
      'Instance expiries held back now (those instances are still served)',
      'gauge',
      () => sp().held,
    ),
    callbackMetric(
      `${prefix}self_preservation_pending_expiries`,
      'Instance expiries waiting for the self-preservation window to close',
      'gauge',
      () => sp().pending,
    ),
    callbackMetric(
      `${prefix}self_preservation_activations_total`,
      'Times self-preservation turned on since start',
      'counter',
      () => sp().activations,
    ),
  ];
  return {
    metrics,
    refresh: () => {
      last = perTenant(catalog, maxTenants);
    },
  };
}
