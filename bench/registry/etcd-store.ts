/**
 * @module bench/registry/etcd-store
 * A small measurement of the etcd Store against a running etcd (not run by tests):
 * - txn latency over sequential single-key puts (each resolves after its own watch event);
 * - keepalive throughput: distinct leases kept alive at once, answered by etcd per second;
 * - the cost of a coalesced keepAlive() call (the registry's heartbeat path, no I/O);
 * - the delay for a put on one replica to reach a watcher on another.
 *
 * Usage: node --import tsx bench/registry/etcd-store.ts http://127.0.0.1:2379[,...]
 */

import { openEtcdStore } from '../../src/registry/storage/etcd-store.ts';
import { createLogger } from '../../src/shared/log.ts';

export interface EtcdBenchOptions {
  puts?: number;
  leases?: number;
  watchSamples?: number;
}

export interface EtcdBenchResult {
  txnP50Ms: number;
  txnP99Ms: number;
  keepalivesPerSec: number;
  keepAliveCallNs: number;
  watchDelayP50Ms: number;
  watchDelayP99Ms: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export async function benchEtcdStore(
  endpoints: string[],
  o: EtcdBenchOptions = {},
): Promise<EtcdBenchResult> {
  const logger = createLogger('bench.etcd');
  logger.level = 'warn';
  const namespace = `/bench-${process.pid}-${Date.now()}`;
  const a = await openEtcdStore({ endpoints, namespace, logger });
  const b = await openEtcdStore({ endpoints, namespace, logger });
  try {
    const lat: number[] = [];
    for (let i = 0; i < (o.puts ?? 1000); i++) {
      const t0 = process.hrtime.bigint();
      await a.txn({ success: [{ type: 'put', key: `/p/${i % 100}`, value: String(i) }] });
      lat.push(ms(t0));
    }

    const ids: number[] = [];
    const n = o.leases ?? 2000;
    for (let i = 0; i < n; i += 50)
      ids.push(
        ...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => a.grantLease(60_000)))),
      );
    await new Promise((r) => setTimeout(r, 1100)); // past the coalescing window of the grants
    const before = a.keepalivesAnswered;
    const t0 = process.hrtime.bigint();
    for (const id of ids) a.keepAlive(id);
    while (a.keepalivesAnswered - before < ids.length) await new Promise((r) => setImmediate(r));
    const keepalivesPerSec = ids.length / (ms(t0) / 1000);
    const calls = 200_000;
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) a.keepAlive(ids[i % ids.length]!);
    const keepAliveCallNs = Number(process.hrtime.bigint() - t1) / calls;
    for (const id of ids) await a.revokeLease(id);

    const delays: number[] = [];
    for (let i = 0; i < (o.watchSamples ?? 200); i++) {
      let seenAt = 0n;
      const stop = b.watch('/w/', () => {
        seenAt = process.hrtime.bigint();
      });
      const t = process.hrtime.bigint();
      await a.txn({ success: [{ type: 'put', key: '/w/k', value: String(i) }] });
      while (seenAt === 0n) await new Promise((r) => setImmediate(r));
      stop();
      delays.push(Number(seenAt - t) / 1e6);
    }
    await a.txn({ success: [{ type: 'deletePrefix', prefix: '/' }] });
    return {
      txnP50Ms: pct(lat, 50),
      txnP99Ms: pct(lat, 99),
      keepalivesPerSec: Math.round(keepalivesPerSec),
      keepAliveCallNs: Math.round(keepAliveCallNs),
      watchDelayP50Ms: pct(delays, 50),
      watchDelayP99Ms: pct(delays, 99),
    };
  } finally {
    await a.close();
    await b.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const endpoints = (process.argv[2] ?? 'http://127.0.0.1:2379').split(',');
  console.log(JSON.stringify(await benchEtcdStore(endpoints), null, 2));
}
