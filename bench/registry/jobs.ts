/**
 * @module bench/registry/jobs
 * The load the registry benchmark generates, as plain async functions over undici Pools
 * (ScClient, one per registry replica, used in turn). They run inside worker threads (load-worker.ts) so several event loops share the
 * client work; each returns counts and, where asked, latency samples in milliseconds. Pools are
 * kept per worker and reused by later jobs with the same shape (origins, connections,
 * pipelining), so a phase does not start on cold connections; they go with the worker thread.
 */
import { ScClient } from '../lib/sc-client.ts';
import { runOpenLoop } from './open-loop.ts';

export type Job =
  | {
      readonly kind: 'register';
      /** Registry replicas; requests go round-robin over them (one keep-alive pool each). */
      readonly origins: readonly string[];
      readonly serviceIds: readonly string[];
      /** Instance numbers [from, to) to register; instance i goes to service i % serviceIds.length. */
      readonly from: number;
      readonly to: number;
      readonly connections: number;
      readonly concurrency: number;
    }
  | {
      readonly kind: 'heartbeat';
      /** Registry replicas; requests go round-robin over them (one keep-alive pool each). */
      readonly origins: readonly string[];
      readonly instances: readonly (readonly [string, string])[];
      readonly seconds: number;
      readonly connections: number;
      readonly concurrency: number;
      /** Requests in flight per connection (undici pipelining; heartbeats are idempotent PUTs). */
      readonly pipelining: number;
    }
  | {
      readonly kind: 'find';
      /** Registry replicas; requests go round-robin over them (one keep-alive pool each). */
      readonly origins: readonly string[];
      readonly serviceNames: readonly string[];
      readonly consumerId: string;
      readonly seconds: number;
      readonly connections: number;
      /** Open loop at this many requests/s (latency from the scheduled send time); 0 = closed loop. */
      readonly rate: number;
      /** Open loop: unrecorded seconds at the same rate before the recorded window. */
      readonly warmupS?: number;
      readonly concurrency: number;
    };

export interface JobResult {
  readonly ok: number;
  readonly failed: number;
  readonly seconds: number;
  readonly firstError?: string;
  /** register: the new [serviceId, instanceId] pairs. */
  readonly instances?: [string, string][];
  /** find: latency samples in ms. */
  readonly latencies?: number[];
  /** open-loop find: the driver's send lateness (actual send − scheduled send) per request, ms. */
  readonly sendLateness?: number[];
  /** open-loop find: completion − actual send per request, ms (the driver's lateness left out). */
  readonly fromSend?: number[];
}

const now = (): number => performance.now();

/** Run `body` on `concurrency` loops until `more()` says stop; counts outcomes. */
async function loops(
  concurrency: number,
  more: () => boolean,
  body: () => Promise<boolean | string>,
): Promise<{ ok: number; failed: number; firstError?: string }> {
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more()) {
        let r: boolean | string;
        try {
          r = await body();
        } catch (err) {
          r = err instanceof Error ? err.message : String(err);
        }
        if (r === true) ok++;
        else {
          failed++;
          firstError ??= typeof r === 'string' ? r : 'unexpected status';
        }
      }
    }),
  );
  return { ok, failed, firstError };
}

/** One pool per replica, `connections` shared out among them; `next()` takes them in turn. */
class ClientRing {
  private readonly clients: ScClient[];
  private i = 0;
  constructor(origins: readonly string[], connections: number, pipelining: number) {
    if (origins.length === 0) throw new Error('no registry origin');
    const per = Math.max(1, Math.ceil(connections / origins.length));
    this.clients = origins.map((o) => new ScClient(o, { connections: per, pipelining }));
  }
  next(): ScClient {
    return this.clients[this.i++ % this.clients.length]!;
  }
  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/** Rings by shape; a worker holds a handful (register/find share one, heartbeats another). */
const rings = new Map<string, ClientRing>();
const MAX_RINGS = 8;

function ringFor(origins: readonly string[], connections: number, pipelining: number): ClientRing {
  const key = `${origins.join(',')}|${connections}|${pipelining}`;
  let ring = rings.get(key);
  if (!ring) {
    if (rings.size >= MAX_RINGS) void closeClients();
    ring = new ClientRing(origins, connections, pipelining);
    rings.set(key, ring);
  }
  return ring;
}

/** Close every kept pool (a worker about to go, or a test's cleanup). */
export async function closeClients(): Promise<void> {
  const all = [...rings.values()];
  rings.clear();
  await Promise.all(all.map((r) => r.close()));
}

export async function runJob(job: Job): Promise<JobResult> {
  const ring = ringFor(job.origins, job.connections, job.kind === 'heartbeat' ? job.pipelining : 1);
  const t0 = now();
  if (job.kind === 'register') {
    const out: [string, string][] = [];
    let next = job.from;
    const r = await loops(
      job.concurrency,
      () => next < job.to,
      async () => {
        const i = next++;
        const sid = job.serviceIds[i % job.serviceIds.length]!;
        const iid = await ring.next().registerInstance(sid, {
          endpoints: [`rest://127.0.${(i >> 16) & 255}.${(i >> 8) & 255}:${10000 + (i & 255)}`],
          hostName: `host-${i}`,
          intervalS: 300,
          times: 3,
        });
        out.push([sid, iid]);
        return true;
      },
    );
    return { ...r, seconds: (now() - t0) / 1000, instances: out };
  }
  if (job.kind === 'heartbeat') {
    const end = t0 + job.seconds * 1000;
    let k = Math.floor(Math.random() * job.instances.length);
    const r = await loops(
      job.concurrency,
      () => now() < end,
      async () => {
        const [sid, iid] = job.instances[k++ % job.instances.length]!;
        const res = await ring.next().heartbeat(sid, iid);
        return res.status === 200 || `heartbeat HTTP ${res.status}`;
      },
    );
    return { ...r, seconds: (now() - t0) / 1000 };
  }
  return await runFind(ring, job, t0);
}

async function runFind(
  ring: ClientRing,
  job: Extract<Job, { kind: 'find' }>,
  t0: number,
): Promise<JobResult> {
  const end = t0 + job.seconds * 1000;
  const latencies: number[] = [];
  /** One find; `record` pushes its latency from `scheduled` (the open loop records its own). */
  const one = async (scheduled: number, record = true): Promise<boolean | string> => {
    const name = job.serviceNames[Math.floor(Math.random() * job.serviceNames.length)]!;
    const res = await ring.next().find(name, job.consumerId);
    if (record) latencies.push(now() - scheduled);
    const n = (res.json as { instances?: unknown[] } | undefined)?.instances?.length ?? 0;
    return (res.status === 200 && n > 0) || `find HTTP ${res.status} with ${n} instances`;
  };
  if (job.rate <= 0) {
    const r = await loops(
      job.concurrency,
      () => now() < end,
      () => one(now()),
    );
    return { ...r, seconds: (now() - t0) / 1000, latencies };
  }
  // Open loop (open-loop.ts): latency from the due time, precise sends, an unrecorded warm-up.
  return runOpenLoop({ rate: job.rate, seconds: job.seconds, warmupS: job.warmupS ?? 0 }, () =>
    one(0, false),
  );
}
