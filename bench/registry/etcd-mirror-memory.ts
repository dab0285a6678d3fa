/**
 * @module bench/registry/etcd-mirror-memory
 * Heap held by the etcd store's mirror at N instances (default 100k) next to the heap of the same
 * records parsed (what the registry's catalog holds as objects): where a replica's memory goes.
 * No etcd needed: the mirror is loaded as openEtcdStore's initial range would load it.
 *
 * Usage: node --expose-gc --import tsx bench/registry/etcd-mirror-memory.ts [N]
 */
import { EtcdMirror } from '../../src/registry/storage/etcd-mirror.ts';
import type { KeyValue } from '../../src/registry/storage/types.ts';

const gc = (globalThis as { gc?: () => void }).gc!;
const mb = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 1e6, rss: m.rss / 1e6 };
};
const N = Number(process.argv[2] ?? 100_000);
const base = mb();
const kvs: KeyValue[] = [];
for (let i = 0; i < N; i++) {
  const sid = `svc${i % 1000}`;
  const iid = `${i.toString(16).padStart(32, '0')}`;
  const value = JSON.stringify({
    instanceId: iid,
    serviceId: sid,
    endpoints: [`rest://10.0.${(i >> 8) & 255}.${i & 255}:8080`],
    hostName: `host-${i}`,
    status: 'UP',
    healthCheck: { mode: 'push', interval: 30, times: 3 },
    version: '1.0.0',
    timestamp: '1700000000',
    modTimestamp: '1700000000',
    properties: { zone: 'z1', tag: 'a' },
  });
  kvs.push({
    key: `/cse-sr/inst/files/default/default/${sid}/${iid}`,
    value,
    createRevision: i + 2,
    modRevision: i + 2,
    version: 1,
    lease: 1e15 + i,
  });
}
const m = new EtcdMirror({ historyLimit: 10_000, onListenerError: () => {}, onLeaseUnused: () => {} });
m.load(kvs, N + 2);
kvs.length = 0;
const afterMirror = mb();
const parsed = m.range('/cse-sr/inst/').map((kv) => JSON.parse(kv.value));
const afterParsed = mb();
console.log(
  JSON.stringify({
    N,
    valueBytes: m.range('/cse-sr/inst/files/default/default/svc0/')[0]?.value.length,
    base,
    mirrorHeapMB: afterMirror.heap - base.heap,
    parsedHeapMB: afterParsed.heap - afterMirror.heap,
    rss: afterParsed.rss,
    parsedCount: parsed.length,
  }),
);
m.close();
