/**
 * A real etcd cluster for tests: 1 or 3 `etcd` children on ephemeral loopback ports, each with its
 * own temp data dir, fast raft timers and a cluster token of its own. Members can be killed
 * (SIGKILL), stopped (SIGTERM) and started again on the same data dir, so tests can take the
 * cluster (or part of it) down and bring it back. Children are SIGKILLed when the test process
 * exits, even if a test forgot `close()` or failed half-way.
 *
 * Never skips: if `etcd` is missing the start fails with how to install it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdClusterOptions {
  /** Number of members (default 1). */
  members?: 1 | 3;
  /** Raft heartbeat in ms (default 50). */
  heartbeatMs?: number;
  /** Raft election timeout in ms (default 500; etcd's minimum lease TTL is 1.5x this). */
  electionMs?: number;
  /** How long to wait for every member to report healthy (default 20 s). */
  startTimeoutMs?: number;
  /** The etcd binary (default: ETCD_BIN or `etcd` on PATH). */
  bin?: string;
}

export interface EtcdCluster {
  /** Client URLs, one per member, `http://127.0.0.1:P`. */
  readonly endpoints: string[];
  readonly size: number;
  /** SIGKILL member i and wait for it to exit. */
  kill(i: number): Promise<void>;
  /** SIGTERM member i and wait for it to exit. */
  stop(i: number): Promise<void>;
  /**
   * Start member i again on its data dir. Resolves once every running member is healthy, unless
   * `wait: false` (needed to restart a 3-member cluster one member at a time: one alone has no quorum).
   */
  start(i: number, opts?: { wait?: boolean }): Promise<void>;
  stopAll(): Promise<void>;
  startAll(): Promise<void>;
  running(i: number): boolean;
  /** Index of the current raft leader, or -1 if no running member names one. */
  leader(): Promise<number>;
  /** Resolves once every running member answers /health with health "true". */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The last ~16 KiB of member i's output (for failure messages). */
  output(i: number): string;
  /** Kill every member and remove the data dirs. Idempotent. */
  close(): Promise<void>;
}

const OUTPUT_CAP = 16 * 1024;

interface Member {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  proc: ChildProcess | null;
  exited: Promise<void> | null;
  out: string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const p of live) p.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      killAll();
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
}

/** Resolve the etcd binary or throw the install hint. */
export function findEtcd(bin = process.env.ETCD_BIN ?? 'etcd'): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`etcd not found (${bin}): apt-get install etcd-server`);
  return bin;
}

/** `n` distinct free loopback ports (all held open at once, so they are distinct). */
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

/** POST /v3/maintenance/status (the gRPC gateway): this member's id and the leader it knows. */
function status(port: number): Promise<{ member: string; leader: string } | null> {
  return new Promise((resolve) => {
    const opts = {
      host: '127.0.0.1',
      port,
      path: '/v3/maintenance/status',
      method: 'POST',
      agent: false,
      timeout: 1000,
    };
    const req = request(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on('end', () => {
        try {
          const j = JSON.parse(body) as { header?: { member_id?: string }; leader?: string };
          resolve(j.header?.member_id && j.leader ? { member: j.header.member_id, leader: j.leader } : null);
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end('{}');
  });
}

/** GET /health on one member: true only for `{"health":"true"}`. */
function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as { health?: unknown }).health === 'true');
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startEtcdCluster(opts: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const bin = findEtcd(opts.bin);
  const size = opts.members ?? 1;
  // A port can be taken between freePorts() and etcd's bind: retry the whole start a few times.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const cluster = await createCluster(bin, size, opts);
    try {
      await cluster.startAll();
      return cluster;
    } catch (err) {
      lastErr = err;
      await cluster.close();
    }
  }
  throw lastErr;
}

async function createCluster(bin: string, size: number, opts: EtcdClusterOptions): Promise<EtcdCluster> {
  installExitHook();
  const ports = await freePorts(size * 2);
  const root = mkdtempSync(join(tmpdir(), 'mesher-etcd-'));
  const token = `mesher-${randomBytes(6).toString('hex')}`;
  const members: Member[] = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    dataDir: join(root, `m${i}`),
    clientPort: ports[2 * i]!,
    peerPort: ports[2 * i + 1]!,
    proc: null,
    exited: null,
    out: '',
  }));
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  let closed = false;

  const spawnMember = (m: Member) => {
    if (m.proc) return;
    const client = `http://127.0.0.1:${m.clientPort}`;
    const peer = `http://127.0.0.1:${m.peerPort}`;
    // biome-ignore format: flag/value pairs read best one pair per line
    const args = [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--heartbeat-interval', String(opts.heartbeatMs ?? 50),
        '--election-timeout', String(opts.electionMs ?? 500),
        '--logger', 'zap',
        '--log-level', 'warn',
      ];
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    const keep = (c: Buffer) => {
      m.out += c.toString('utf8');
      if (m.out.length > OUTPUT_CAP) m.out = m.out.slice(-OUTPUT_CAP);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    m.proc = proc;
    m.exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        live.delete(proc);
        if (m.proc === proc) m.proc = null;
        resolve();
      });
      proc.once('error', (err) => {
        keep(Buffer.from(String(err)));
        live.delete(proc);
        if (m.proc === proc) m.proc = null;
        resolve();
      });
    });
  };

  const signal = async (i: number, sig: NodeJS.Signals) => {
    const m = members[i];
    if (!m) throw new RangeError(`no etcd member ${i}`);
    if (!m.proc) return;
    const exited = m.exited!;
    m.proc.kill(sig);
    await exited;
  };

  const waitHealthy = async (timeoutMs = startTimeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = members.filter((m) => m.proc);
      const ok = await Promise.all(running.map((m) => healthy(m.clientPort)));
      if (ok.every(Boolean)) return;
      const dead = members.find((m) => m.exited && !m.proc && running.includes(m));
      if (dead) throw new Error(`etcd member ${dead.name} exited during start:\n${dead.out}`);
      if (Date.now() > deadline) {
        const bad = running.filter((_, j) => !ok[j]).map((m) => `${m.name}:\n${m.out.slice(-2000)}`);
        throw new Error(`etcd not healthy after ${timeoutMs} ms: ${bad.join('\n')}`);
      }
      await sleep(50);
    }
  };

  const cluster: EtcdCluster = {
    endpoints: members.map((m) => `http://127.0.0.1:${m.clientPort}`),
    size,
    kill: (i) => signal(i, 'SIGKILL'),
    stop: (i) => signal(i, 'SIGTERM'),
    async start(i, startOpts) {
      const m = members[i];
      if (!m) throw new RangeError(`no etcd member ${i}`);
      if (closed) throw new Error('etcd cluster is closed');
      spawnMember(m);
      if (startOpts?.wait !== false) await waitHealthy();
    },
    async stopAll() {
      await Promise.all(members.map((_, i) => signal(i, 'SIGTERM')));
    },
    async startAll() {
      if (closed) throw new Error('etcd cluster is closed');
      for (const m of members) spawnMember(m);
      await waitHealthy();
    },
    running: (i) => members[i]?.proc != null,
    async leader() {
      const st = await Promise.all(members.map((m) => (m.proc ? status(m.clientPort) : null)));
      const leaderId = st.find((x) => x)?.leader;
      return leaderId ? st.findIndex((x) => x?.member === leaderId) : -1;
    },
    waitHealthy,
    output: (i) => members[i]?.out ?? '',
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(members.map((_, i) => signal(i, 'SIGKILL')));
      rmSync(root, { recursive: true, force: true });
    },
  };
  return cluster;
}
