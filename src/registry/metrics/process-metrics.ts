/**
 * @module registry/metrics/process-metrics
 * prom-client's default process and Node.js metrics (CPU, memory, heap spaces, event-loop lag,
 * GC, handles, file descriptors), collected once per process and prefix. Their collectors install
 * observers (a GC PerformanceObserver, an event-loop delay monitor) that prom-client cannot
 * remove, and they describe the process, not one registry: every registry started in the same
 * process (tests, the demo) renders the same shared Registry instead of adding another set.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

const shared = new Map<string, Registry>();

/** The process-metrics Registry for `prefix` (created on first use, kept for the process). */
export function processRegistry(prefix: string): Registry {
  let r = shared.get(prefix);
  if (r === undefined) {
    r = new Registry();
    collectDefaultMetrics({ register: r, prefix });
    shared.set(prefix, r);
  }
  return r;
}
