/**
 * @module bench/memory/breakdown
 * Where `mesher sidecar`'s memory goes (issue 7: RSS <= 60 MB at 1,000 rps): for each build/flag
 * variant, per round a fresh one-hop sidecar (pinned to core 1, nginx backend + registry + load on
 * core 0) is measured idle (3 s after its "listening" line) and right after a fixed-rate slice
 * (h2load, 1 KB responses). Each snapshot splits VmRSS into file-backed pages (the node binary)
 * and anonymous memory, and the anonymous part into V8's heap spaces (committed, from the admin
 * API's prom-client process metrics), external/array buffers and `other` = anon - heap committed -
 * external (malloc: libuv, OpenSSL, ICU, V8 metadata, stacks). `other` is only an estimate: V8
 * counts committed heap pages, not touched ones, so it goes negative when a freshly grown new space
 * was never filled. Prints the median of each figure over rounds, plus the RSS of a bare
 * `node -e` for reference; CPU seconds per 1,000 requests of the slice sit beside.
 *
 *   node --import tsx bench/memory/breakdown.ts \
 *     --mesher base=/tmp/mem/base/dist,MESHER_V8_FLAGS=off --mesher cur=/tmp/mem/cur/dist \
 *     [--rounds 3] [--seconds 8] [--rate 1000]
 *
 * A spec is NAME=DIST_DIR then comma-separated extras: `--flag` = Node flag, `K=V` = environment.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, waitForOutput } from '../lib/mesher-proc.ts';
import { cpuSeconds } from '../lib/proc-stats.ts';
import { Supervisor, sleep, waitUntil } from '../lib/procs.ts';
import { ScClient } from '../lib/sc-client.ts';
import { rotate } from '../lib/stats.ts';
import { runFixedRate } from '../load/h2load.ts';
import { startBackend } from '../peers/nginx.ts';
import { httpOk } from '../peers/probe.ts';

interface Spec {
  readonly name: string;
  readonly dist: string;
  readonly nodeFlags: string[];
  readonly env: Record<string, string>;
}

/** One snapshot, all in MB. */
type Snap = Record<string, number>;

const SERVICE = 'mem-backend';
const log = (s: string) => process.stderr.write(`memory: ${s}\n`);

function parseSpec(s: string): Spec {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new Error(`--mesher wants NAME=DIST_DIR[,--node-flag][,K=V]: ${s}`);
  const [dist, ...extras] = s.slice(eq + 1).split(',');
  const nodeFlags: string[] = [];
  const env: Record<string, string> = {};
  for (const x of extras) {
    if (x.startsWith('--')) nodeFlags.push(x);
    else if (x.includes('=')) env[x.slice(0, x.indexOf('='))] = x.slice(x.indexOf('=') + 1);
    else throw new Error(`unknown extra ${x} in ${s}`);
  }
  return { name: s.slice(0, eq), dist: resolve(dist!), nodeFlags, env };
}

function procStatus(pid: number): Snap {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

async function heapSnap(admin: string): Promise<Snap> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const val = (re: RegExp) => Number(text.match(re)?.[1] ?? Number.NaN) / 1048576;
  const space = (kind: 'total' | 'used', s: string) =>
    val(new RegExp(`^nodejs_heap_space_size_${kind}_bytes\\{space="${s}"\\} (\\S+)`, 'm'));
  return {
    heapTotal: val(/^nodejs_heap_size_total_bytes (\S+)/m),
    heapUsed: val(/^nodejs_heap_size_used_bytes (\S+)/m),
    newSpace: space('total', 'new'),
    oldSpace: space('total', 'old'),
    oldUsed: space('used', 'old'),
    code: space('total', 'code'),
    largeObj: space('total', 'large_object'),
    external: val(/^nodejs_external_memory_bytes (\S+)/m),
  };
}

async function snapshot(pid: number, admin: string): Promise<Snap> {
  const s: Snap = { ...procStatus(pid), ...(await heapSnap(admin)) };
  // What is neither file-backed nor V8 heap nor external: malloc arenas, code metadata, stacks.
  return { ...s, other: s.anon! - s.heapTotal! - s.external! };
}

function writeConfig(dir: string, name: string, registry: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'chassis.yaml'),
    [
      'servicecomb:',
      '  protocols:',
      '    http: { listenAddress: "127.0.0.1:0" }',
      '    rest-admin: { listenAddress: "127.0.0.1:0" }',
      '  registry:',
      `    address: "${registry}"`,
      '    watch: true',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'microservice.yaml'),
    `servicecomb:\n  service: { name: ${name}, app: default, version: "1.0.0" }\n`,
  );
}

function bareNodeRss(): number {
  const p = spawnSync(
    process.execPath,
    ['-e', 'setTimeout(()=>{console.log(process.memoryUsage().rss)},200)'],
    { encoding: 'utf8' },
  );
  return Number(p.stdout) / 1048576;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const specs: Spec[] = [];
  let rounds = 3;
  let seconds = 8;
  let rate = 1000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i] ?? '';
    if (a === '--mesher') specs.push(parseSpec(v()));
    else if (a === '--rounds') rounds = Number(v());
    else if (a === '--seconds') seconds = Number(v());
    else if (a === '--rate') rate = Number(v());
    else throw new Error(`unknown argument ${a}`);
  }
  if (specs.length === 0) specs.push(parseSpec(`cur=${join(ROOT, 'dist')}`));
  const tmp = join(tmpdir(), `mesher-memory-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const sup = new Supervisor(tmp);
  sup.hookExit();
  let client: ScClient | undefined;
  const results = new Map<string, { idle: Snap[]; load: Snap[] }>();
  try {
    const backend = await startBackend(sup, '/usr/sbin/nginx', '0');
    const regDir = join(tmp, 'registry-data');
    mkdirSync(regDir, { recursive: true });
    const reg = sup.spawn(
      'registry',
      process.execPath,
      [join(specs[0]!.dist, 'cli/main.js'), 'registry', '--listen', '127.0.0.1:0', '--data-dir', regDir],
      { cpu: '0', server: true, cwd: ROOT, env: { ...process.env, MESHER_LOG_LEVEL: 'warn' } },
    );
    const registry = (await waitForOutput(reg, /listening on (http:\/\/[\d.]+:\d+)/))[1]!;
    client = new ScClient(registry, { connections: 1 });
    const sid = await client.createService(SERVICE);
    const iid = await client.registerInstance(sid, { endpoints: [`rest://127.0.0.1:${backend.port}`] });
    const hb = setInterval(() => void client?.heartbeat(sid, iid).catch(() => {}), 20_000);
    hb.unref();

    for (let round = 0; round < rounds; round++) {
      for (const spec of rotate(specs, round)) {
        const dir = join(tmp, `sidecar-${spec.name}-${round}`);
        writeConfig(dir, `mem-${spec.name}`, registry);
        const proc = sup.spawn(
          `${spec.name}-${round}`,
          process.execPath,
          [...spec.nodeFlags, join(spec.dist, 'cli/main.js'), 'sidecar', '--config-dir', dir],
          {
            cpu: '1',
            server: true,
            cwd: ROOT,
            env: { ...process.env, MESHER_LOG_LEVEL: 'warn', MESHER_DRAIN_MS: '0', ...spec.env },
          },
        );
        const line = (await waitForOutput(proc, /mesher sidecar listening (.*)/))[1]!;
        const origin = `http://${line.match(/outbound=([\d.]+:\d+)/)![1]}`;
        const admin = `http://${line.match(/admin=([\d.]+:\d+)/)![1]}`;
        await sleep(3000);
        const idle = await snapshot(proc.pid, admin);
        await waitUntil(`${spec.name} forwarding`, () => httpOk(`${origin}/__ready`, SERVICE));
        const cpu0 = cpuSeconds([proc.pid]);
        const r = await runFixedRate(
          sup,
          '/usr/bin/h2load',
          '0',
          { origin, path: '/1k', host: SERVICE },
          rate,
          seconds,
        );
        const cpu = cpuSeconds([proc.pid]) - cpu0;
        const load: Snap = {
          ...(await snapshot(proc.pid, admin)),
          cpuPer1k: (cpu / r.totalRequests) * 1000,
          p99: r.p99,
        };
        const entry = results.get(spec.name) ?? { idle: [], load: [] };
        entry.idle.push(idle);
        entry.load.push(load);
        results.set(spec.name, entry);
        log(
          `round ${round} ${spec.name}: idle rss ${idle.rss!.toFixed(1)} MB, at ${rate} rps rss ${load.rss!.toFixed(1)} MB, cpu ${load.cpuPer1k!.toFixed(3)} s/1k`,
        );
        proc.child.kill('SIGTERM');
        await proc.exited;
      }
    }
  } finally {
    await client?.close();
    await sup.stopAll();
  }
  const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const keys = [
    'rss',
    'file',
    'anon',
    'heapTotal',
    'newSpace',
    'oldSpace',
    'oldUsed',
    'code',
    'largeObj',
    'external',
    'other',
  ];
  const head = ['variant', 'when', ...keys, 'cpu/1k', 'p99'];
  const rows: string[][] = [];
  for (const [name, r] of results) {
    for (const [when, snaps] of [
      ['idle', r.idle],
      [`${rate} rps`, r.load],
    ] as const) {
      rows.push([
        name,
        when,
        ...keys.map((k) => med(snaps.map((s) => s[k]!)).toFixed(1)),
        when === 'idle' ? '' : med(snaps.map((s) => s.cpuPer1k!)).toFixed(3),
        when === 'idle' ? '' : med(snaps.map((s) => s.p99!)).toFixed(2),
      ]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => `| ${r.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `\n${rounds} rounds (fresh sidecar each), ${seconds} s at ${rate} rps, medians in MB; bare \`node -e\` RSS ${bareNodeRss().toFixed(1)} MB\n\n${fmt(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(fmt).join('\n')}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`memory: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
