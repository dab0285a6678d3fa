/**
 * @module bench/lib/etcd
 * A real etcd cluster for the registry benchmark (`npm run bench:registry -- --etcd`): 1 or 3
 * members of /usr/bin/etcd (Debian's etcd-server, installed by bench/lib/install.ts when missing)
 * under the bench Supervisor, on ephemeral loopback ports, each with its own data dir under
 * .bench-tmp, a cluster token of its own, default raft timers and fsync on (what production
 * runs). Resolves once every member answers /health with `"true"`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { type Started, type Supervisor, sleep } from './procs.ts';

export interface EtcdCluster {
  /** Client URLs, one per member: `http://127.0.0.1:P`. */
  readonly endpoints: readonly string[];
  readonly members: readonly Started[];
  /** Root pids of the members (for CPU and RSS). */
  pids(): number[];
}

/** `n` distinct free loopback ports, all held open together so they differ. */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 4096) body += c;
        });
        res.on('end', () => resolve(/"health"\s*:\s*"true"/.test(body)));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Start `size` members with `bin` (pinned to `cpu` when given) and wait until all are healthy.
 * A port taken between freePorts() and etcd's bind fails the start: it is retried twice.
 */
export async function startEtcd(
  sup: Supervisor,
  bin: string,
  size: 1 | 3,
  dir: string,
  cpu?: string,
): Promise<EtcdCluster> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const started: Started[] = [];
    try {
      return await startOnce(sup, bin, size, join(dir, `try${attempt}`), cpu, started);
    } catch (err) {
      last = err;
      for (const p of started) await sup.stop(p);
    }
  }
  throw last;
}

async function startOnce(
  sup: Supervisor,
  bin: string,
  size: number,
  dir: string,
  cpu: string | undefined,
  started: Started[],
): Promise<EtcdCluster> {
  const ports = await freePorts(size * 2);
  const token = `mesher-bench-${randomBytes(4).toString('hex')}`;
  const names = Array.from({ length: size }, (_, i) => `m${i}`);
  const peer = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const client = (i: number) => `http://127.0.0.1:${ports[2 * i]}`;
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  for (let i = 0; i < size; i++) {
    const dataDir = join(dir, names[i]!);
    mkdirSync(dataDir, { recursive: true });
    const args = [
      '--name',
      names[i]!,
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      client(i),
      '--advertise-client-urls',
      client(i),
      '--listen-peer-urls',
      peer(i),
      '--initial-advertise-peer-urls',
      peer(i),
      '--initial-cluster',
      initial,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      token,
      '--log-level',
      'warn',
    ];
    started.push(sup.spawn(`etcd-${names[i]}`, bin, args, { cpu, server: true }));
  }
  const end = Date.now() + 30_000;
  for (let i = 0; i < size; i++) {
    for (;;) {
      const p = started[i]!;
      if (p.child.exitCode !== null) throw new Error(`etcd ${names[i]} exited: ${p.output().slice(-600)}`);
      if (await healthy(ports[2 * i]!)) break;
      if (Date.now() > end)
        throw new Error(`etcd ${names[i]} not healthy in 30 s: ${p.output().slice(-600)}`);
      await sleep(100);
    }
  }
  return {
    endpoints: names.map((_, i) => client(i)),
    members: started,
    pids: () => started.map((p) => p.pid),
  };
}
