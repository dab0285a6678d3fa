/**
 * @module bench/registry/etcd-store
 * A small measurement of the etcd Store against a running etcd (not run by tests):
 * - txn latency over sequential single-key puts (each resolves after its own watch event);
 * - keepalive throughput: distinct leases kept alive at once, answered by etcd per second;
 * - the cost of a coalesced keepAlive() call (the registry's heartbeat path, no I/O);
 * - the delay for a put on one replica to reach a watcher on another;
 * - `--stages`: where a registration's time goes (benchRegistrationStages below).
 *
 * Usage: node --import tsx bench/registry/etcd-store.ts http://127.0.0.1:2379[,...]
 *          [--stages [--pool 0,32] [--rounds 3]]
 * (`--stages` runs the store with each lease pool size in turn, alternating, `--rounds` times.)
 */

import { Etcd3 } from 'etcd3';
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

export interface StageRow {
  /** The store's lease pool size (0: every lease granted on the request path, as before the pool). */
  leasePoolSize: number;
  /** Registrations whose lease came from the pool, % (the rest granted on the request path). */
  pooledPct: number;
  /** Registrations in flight at once. */
  inFlight: number;
  registrationsPerSec: number;
  /** CPU of this process (the store and the etcd3 client) over the run, % of one core. */
  clientCpuPct: number;
  /** Plain-client registrations (each followed by one lag probe) per second. */
  rawRegistrationsPerSec: number;
  /** p50 / p99 in ms of each stage. */
  grant: [number, number];
  txn: [number, number];
  registration: [number, number];
  /** The same grant + guarded put on a plain etcd3 client (no store, no mirror). */
  rawRegistration: [number, number];
  /** Txn answered by etcd (plain client) until the store's mirror applied it (watch event). */
  mirrorLag: [number, number];
}

/**
 * Where a registration's time goes: the registry's sequence (grantLease, then a txn that puts the
 * instance under the lease guarded by the service key, resolving once the mirror applied it),
 * timed per stage at each concurrency. The same sequence on a plain etcd3 client gives the
 * store's overhead; a plain txn waited for through a store watcher gives the mirror's lag behind
 * etcd's answer (woken by the watch event, no polling).
 */
export async function benchRegistrationStages(
  endpoints: string[],
  o: { iterations?: number; inFlight?: number[]; leasePoolSize?: number } = {},
): Promise<StageRow[]> {
  const logger = createLogger('bench.etcd');
  logger.level = 'warn';
  const namespace = `/bench-stages-${process.pid}-${Date.now()}`;
  const leasePoolSize = o.leasePoolSize ?? 32;
  const store = await openEtcdStore({ endpoints, namespace, logger, leasePoolSize });
  const raw = new Etcd3({ hosts: endpoints });
  const seen = new Map<string, () => void>();
  const stop = store.watch('/lag/', (evs) => {
    for (const e of evs) seen.get(e.kv.key)?.();
  });
  const value = 'x'.repeat(300); // about an instance record
  const rows: StageRow[] = [];
  let n = 0;
  try {
    await store.txn({ success: [{ type: 'put', key: '/svc', value: 's' }] });
    // Start the pool for the TTL (its first grant is direct) and let it fill.
    await store.revokeLease(await store.grantLease(30_000));
    for (const inFlight of o.inFlight ?? [1, 32, 64]) {
      const fillBy = Date.now() + 5_000;
      while (store.pooledLeases(30_000).length < leasePoolSize && Date.now() < fillBy)
        await new Promise((r) => setTimeout(r, 20));
      const taken0 = store.leasePool().taken;
      const st = {
        grant: [] as number[],
        txn: [] as number[],
        reg: [] as number[],
        raw: [] as number[],
        lag: [] as number[],
      };
      const storeReg = async () => {
        const i = n++;
        const t0 = process.hrtime.bigint();
        const lease = await store.grantLease(30_000);
        st.grant.push(ms(t0));
        const t1 = process.hrtime.bigint();
        await store.txn({
          compare: [{ key: '/svc', target: 'version', op: '!=', value: 0 }],
          success: [{ type: 'put', key: `/inst/${i}`, value, lease }],
        });
        st.txn.push(ms(t1));
        st.reg.push(ms(t0));
      };
      const rawReg = async () => {
        const i = n++;
        const t0 = process.hrtime.bigint();
        const id = await raw.lease(30, { autoKeepAlive: false }).grant();
        await raw
          .if(`${namespace}/svc`, 'Version', '!=', 0)
          .then(raw.put(`${namespace}/raw/${i}`).value(value).lease(id))
          .commit();
        st.raw.push(ms(t0));
        const key = `/lag/${i}`;
        const applied = new Promise<void>((r) => seen.set(key, r));
        await raw.put(`${namespace}${key}`).value(value);
        const t1 = process.hrtime.bigint();
        await applied;
        st.lag.push(ms(t1));
        seen.delete(key);
      };
      const run = async (fn: () => Promise<void>) => {
        let left = o.iterations ?? 500;
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: inFlight }, async () => {
            while (left-- > 0) await fn();
          }),
        );
        const elapsed = ms(t0);
        const cpu = process.cpuUsage(cpu0);
        return {
          perSec: Math.round(((o.iterations ?? 500) * 1000) / elapsed),
          cpuPct: Math.round(((cpu.user + cpu.system) / 1e3 / elapsed) * 100),
        };
      };
      const storeRun = await run(storeReg);
      const pooledPct = Math.round(((store.leasePool().taken - taken0) * 100) / (o.iterations ?? 500));
      const rawRun = await run(rawReg);
      const p = (xs: number[]): [number, number] => [pct(xs, 50), pct(xs, 99)];
      rows.push({
        leasePoolSize,
        pooledPct,
        inFlight,
        registrationsPerSec: storeRun.perSec,
        clientCpuPct: storeRun.cpuPct,
        rawRegistrationsPerSec: rawRun.perSec,
        grant: p(st.grant),
        txn: p(st.txn),
        registration: p(st.reg),
        rawRegistration: p(st.raw),
        mirrorLag: p(st.lag),
      });
    }
    await store.txn({ success: [{ type: 'deletePrefix', prefix: '/' }] });
    await raw.delete().prefix(`${namespace}/`);
    return rows;
  } finally {
    stop();
    raw.close();
    await store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const endpoints = (process.argv[2] ?? 'http://127.0.0.1:2379').split(',');
  if (process.argv.includes('--stages')) {
    // Before/after side by side: pool off (0) and on, alternated over `--rounds` (default 3).
    const arg = (name: string, d: string) => {
      const i = process.argv.indexOf(name);
      return i > 0 ? process.argv[i + 1]! : d;
    };
    const sizes = arg('--pool', '0,32').split(',').map(Number);
    const rounds = Number(arg('--rounds', '3'));
    for (let r = 0; r < rounds; r++)
      for (const leasePoolSize of sizes)
        for (const row of await benchRegistrationStages(endpoints, { leasePoolSize }))
          console.log(JSON.stringify({ round: r, ...row }));
  } else console.log(JSON.stringify(await benchEtcdStore(endpoints), null, 2));
}
