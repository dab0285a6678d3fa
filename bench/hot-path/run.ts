/**
 * @module bench/hot-path/run
 * The cheap side-by-side reproduction for issue 7's fixed per-request cost (not part of `npm run
 * bench`): nginx backend + registry + load on core 0; the bare Node proxy and one or more builds
 * of the mesher one-hop sidecar on core 1; then rounds of short open-loop slices at a fixed rate
 * (many single-connection `h2load --h1 --rps` processes, bench/load/h2load.ts), the scenario
 * order rotated each round. Per slice: CPU seconds per 1,000 requests from /proc/PID/stat, p50 and
 * p99 latency, VmRSS after the slice; then (unless `--wrk-seconds 0`) a saturation slice: wrk
 * closed loop, one thread, 64 connections, with the proxy's CPU per 1,000 requests at that load.
 * Prints the median of each over rounds, and each scenario's ratio to the bare Node proxy within
 * the same round (median of those ratios). `--http-proxy` adds the npm http-proxy peer.
 *
 *   node --import tsx bench/hot-path/run.ts \
 *     --mesher base=/tmp/mesher-base/dist --mesher cur=/tmp/mesher-hot-path/cur/dist \
 *     --mesher semi32=/tmp/mesher-hot-path/cur/dist,--max-semi-space-size=32 \
 *     [--rounds 5] [--seconds 4] [--rate 1000] [--wrk-seconds 3] [--connections 64] \
 *     [--http-proxy] [--strace] [--prof DIR] [--log DIR]
 *
 * A mesher spec is NAME=DIST_DIR followed by comma-separated extras: `--flag` entries are Node
 * flags, `K=V` entries environment variables — except `mesher.*` keys (e.g.
 * `mesher.proxy.engine=fast`), which go to the sidecar's mesher.yaml. `--strace` adds one unmeasured slice per scenario
 * under `strace -c -f` (syscall counts per 1,000 requests: event-loop wake-ups, writes); `--prof`
 * writes V8 CPU profiles of every Node proxy on exit; `--log` keeps each proxy's stdout/stderr
 * (e.g. `--trace-gc` output) in full.
 */
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { ROOT, waitForOutput } from '../lib/mesher-proc.ts';
import { cpuSeconds, processTree, rssMb } from '../lib/proc-stats.ts';
import { freePort, type Started, Supervisor, sleep, waitUntil } from '../lib/procs.ts';
import { ScClient } from '../lib/sc-client.ts';
import { rotate } from '../lib/stats.ts';
import { runFixedRate } from '../load/h2load.ts';
import { runWrk } from '../load/wrk.ts';
import { startBackend } from '../peers/nginx.ts';
import { startNodePeer } from '../peers/node-proxies.ts';
import { httpOk } from '../peers/probe.ts';
import { type Slice, table } from './report.ts';
import { straceSlice } from './strace.ts';
import { voluntarySwitches } from './wakeups.ts';

interface Spec {
  readonly name: string;
  readonly dist: string;
  readonly nodeFlags: string[];
  readonly env: Record<string, string>;
}

interface Args {
  readonly meshers: Spec[];
  readonly rounds: number;
  readonly seconds: number;
  readonly rate: number;
  readonly strace: boolean;
  readonly prof: string | undefined;
  readonly logDir: string | undefined;
  readonly noBare: boolean;
  readonly httpProxy: boolean;
  /** Length of each round's wrk saturation slice per proxy; 0 = none. */
  readonly wrkSeconds: number;
  readonly connections: number;
  /** Extra Node flags for the bare proxy (`--bare-flags=--trace-gc,--max-semi-space-size=32`). */
  readonly bareFlags: string[];
}

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

function parse(argv: string[]): Args {
  const meshers: Spec[] = [];
  let rounds = 5;
  let seconds = 4;
  let rate = 1000;
  let strace = false;
  let prof: string | undefined;
  let logDir: string | undefined;
  let noBare = false;
  let httpProxy = false;
  let wrkSeconds = 3;
  let connections = 64;
  let bareFlags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i] ?? '';
    if (a === '--mesher') meshers.push(parseSpec(v()));
    else if (a === '--rounds') rounds = Number(v());
    else if (a === '--seconds') seconds = Number(v());
    else if (a === '--rate') rate = Number(v());
    else if (a === '--strace') strace = true;
    else if (a === '--prof') prof = resolve(v());
    else if (a === '--log') logDir = resolve(v());
    else if (a === '--no-bare') noBare = true;
    else if (a === '--http-proxy') httpProxy = true;
    else if (a === '--wrk-seconds') wrkSeconds = Number(v());
    else if (a === '--connections') connections = Number(v());
    else if (a.startsWith('--bare-flags=')) bareFlags = a.slice(13).split(',');
    else throw new Error(`unknown argument ${a}`);
  }
  if (meshers.length === 0) meshers.push(parseSpec(`cur=${join(ROOT, 'dist')}`));
  return {
    meshers,
    rounds,
    seconds,
    rate,
    strace,
    prof,
    logDir,
    noBare,
    httpProxy,
    wrkSeconds,
    connections,
    bareFlags,
  };
}

interface Proxy {
  readonly name: string;
  readonly origin: string;
  readonly host: string | undefined;
  readonly proc: Started;
  readonly admin?: string;
}

const SERVICE = 'hot-backend';
const log = (s: string) => process.stderr.write(`hot-path: ${s}\n`);

function keepLog(p: Started, dir: string | undefined): void {
  if (dir === undefined) return;
  const out = createWriteStream(join(dir, `${p.name}.log`));
  p.child.stdout?.on('data', (d: Buffer) => out.write(d));
  p.child.stderr?.on('data', (d: Buffer) => out.write(d));
  p.child.once('exit', () => out.end());
}

/** `mesher.*` keys of a spec (`mesher.proxy.engine=fast`) as mesher.yaml, nested. */
function writeMesherYaml(dir: string, keys: Record<string, string>): void {
  const root: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(keys)) {
    const parts = k.split('.');
    let at = root;
    for (const p of parts.slice(0, -1)) {
      at[p] ??= {};
      at = at[p] as Record<string, unknown>;
    }
    at[parts[parts.length - 1]!] = v;
  }
  writeFileSync(join(dir, 'mesher.yaml'), stringifyYaml(root));
}

function writeSidecarConfig(
  dir: string,
  name: string,
  registry: string,
  mesherKeys: Record<string, string>,
): void {
  mkdirSync(dir, { recursive: true });
  if (Object.keys(mesherKeys).length > 0) writeMesherYaml(dir, mesherKeys);
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

async function startMesher(sup: Supervisor, tmp: string, spec: Spec, registry: string, a: Args) {
  const dir = join(tmp, `sidecar-${spec.name}`);
  // K=V extras whose K is a mesher.* config key go to mesher.yaml; the rest are environment.
  const mesherKeys = Object.fromEntries(Object.entries(spec.env).filter(([k]) => k.startsWith('mesher.')));
  const env = Object.fromEntries(Object.entries(spec.env).filter(([k]) => !k.startsWith('mesher.')));
  writeSidecarConfig(dir, `hot-consumer-${spec.name}`, registry, mesherKeys);
  const prof = a.prof ? ['--cpu-prof', '--cpu-prof-dir', join(a.prof, spec.name)] : [];
  const proc = sup.spawn(
    spec.name,
    process.execPath,
    [...prof, ...spec.nodeFlags, join(spec.dist, 'cli/main.js'), 'sidecar', '--config-dir', dir],
    {
      cpu: '1',
      server: true,
      cwd: ROOT,
      env: { ...process.env, MESHER_LOG_LEVEL: 'warn', MESHER_DRAIN_MS: '0', ...env },
    },
  );
  keepLog(proc, a.logDir);
  const m = await waitForOutput(proc, /mesher sidecar listening (.*)/);
  const outbound = m[1]!.match(/outbound=([\d.]+:\d+)/)?.[1];
  const admin = m[1]!.match(/admin=([\d.]+:\d+)/)?.[1];
  if (!outbound) throw new Error(`${spec.name}: no outbound address in ${m[0]}`);
  const origin = `http://${outbound}`;
  await waitUntil(`${spec.name} forwarding`, () => httpOk(`${origin}/__ready`, SERVICE));
  return { name: spec.name, origin, host: SERVICE, proc, admin: admin ? `http://${admin}` : undefined };
}

async function startBare(sup: Supervisor, backendPort: number, a: Args): Promise<Proxy> {
  const port = await freePort();
  const prof = a.prof ? ['--cpu-prof', '--cpu-prof-dir', join(a.prof, 'bare')] : [];
  const script = join(ROOT, 'bench/peers/bare-proxy.mjs');
  const proc = sup.spawn(
    'bare',
    process.execPath,
    [...prof, ...a.bareFlags, script, String(port), String(backendPort)],
    {
      cpu: '1',
      server: true,
      cwd: ROOT,
    },
  );
  keepLog(proc, a.logDir);
  const origin = `http://127.0.0.1:${port}`;
  await waitUntil('bare proxy', () => httpOk(`${origin}/__ready`));
  return { name: 'bare', origin, host: undefined, proc };
}

async function slice(sup: Supervisor, h2load: string, p: Proxy, a: Args, round: number): Promise<Slice> {
  const pids = processTree(p.proc.pid);
  const cpu0 = cpuSeconds(pids);
  const vol0 = voluntarySwitches(p.proc.pid);
  const r = await runFixedRate(
    sup,
    h2load,
    '0',
    { origin: p.origin, path: '/1k', host: p.host },
    a.rate,
    a.seconds,
  );
  const cpu = cpuSeconds(pids) - cpu0;
  const wakeups = voluntarySwitches(p.proc.pid) - vol0;
  return {
    round,
    name: p.name,
    cpuPer1k: (cpu / r.totalRequests) * 1000,
    wakeupsPerReq: wakeups / r.totalRequests,
    p50: r.p50,
    p99: r.p99,
    max: r.max,
    rss: rssMb(pids),
    rps: r.achievedRps,
    errors: r.errors,
    satRps: Number.NaN,
    satCpuPer1k: Number.NaN,
    satRss: Number.NaN,
  };
}

/** The saturation figures of one proxy (wrk closed loop on core 0), merged into its round's slice. */
async function saturate(sup: Supervisor, p: Proxy, a: Args, s: Slice): Promise<Slice> {
  const pids = processTree(p.proc.pid);
  const cpu0 = cpuSeconds(pids);
  const w = await runWrk(
    sup,
    '/usr/bin/wrk',
    '0',
    { origin: p.origin, path: '/1k', ...(p.host === undefined ? {} : { host: p.host }) },
    a.connections,
    a.wrkSeconds,
  );
  const cpu = cpuSeconds(pids) - cpu0;
  return {
    ...s,
    satRps: w.rps,
    satCpuPer1k: (cpu / w.requests) * 1000,
    satRss: rssMb(pids),
    errors: s.errors + w.errors,
  };
}

async function memory(p: Proxy): Promise<string> {
  if (p.admin === undefined) return '';
  try {
    const res = await fetch(`${p.admin}/metrics`);
    const text = await res.text();
    const pick = (re: RegExp) => {
      const m = text.match(re);
      return m ? (Number(m[1]) / 1048576).toFixed(1) : '?';
    };
    return `rss ${pick(/^process_resident_memory_bytes (\S+)/m)} MB, heap used ${pick(/^nodejs_heap_size_used_bytes (\S+)/m)} / total ${pick(/^nodejs_heap_size_total_bytes (\S+)/m)} MB, external ${pick(/^nodejs_external_memory_bytes (\S+)/m)} MB`;
  } catch (err) {
    return `metrics unavailable: ${(err as Error).message}`;
  }
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const tmp = join(tmpdir(), `mesher-hot-path-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  if (a.logDir) mkdirSync(a.logDir, { recursive: true });
  const sup = new Supervisor(tmp);
  sup.hookExit();
  const client: { c?: ScClient } = {};
  try {
    const backend = await startBackend(sup, '/usr/sbin/nginx', '0');
    const regDir = join(tmp, 'registry-data');
    mkdirSync(regDir, { recursive: true });
    const reg = sup.spawn(
      'registry',
      process.execPath,
      [join(a.meshers[0]!.dist, 'cli/main.js'), 'registry', '--listen', '127.0.0.1:0', '--data-dir', regDir],
      { cpu: '0', server: true, cwd: ROOT, env: { ...process.env, MESHER_LOG_LEVEL: 'warn' } },
    );
    const registry = (await waitForOutput(reg, /listening on (http:\/\/[\d.]+:\d+)/))[1]!;
    client.c = new ScClient(registry, { connections: 1 });
    const sid = await client.c.createService(SERVICE);
    const iid = await client.c.registerInstance(sid, { endpoints: [`rest://127.0.0.1:${backend.port}`] });
    const hb = setInterval(() => void client.c?.heartbeat(sid, iid).catch(() => {}), 20_000);
    hb.unref();

    const proxies: Proxy[] = [];
    if (!a.noBare) proxies.push(await startBare(sup, backend.port, a));
    if (a.httpProxy) {
      const hp = await startNodePeer(sup, 'http-proxy', '1', backend.port);
      keepLog(hp.proc, a.logDir);
      proxies.push({
        name: 'http-proxy',
        origin: `http://127.0.0.1:${hp.port}`,
        host: undefined,
        proc: hp.proc,
      });
    }
    for (const spec of a.meshers) proxies.push(await startMesher(sup, tmp, spec, registry, a));
    log(`started ${proxies.map((p) => p.name).join(', ')}; load avg ${loadavg()[0]!.toFixed(2)}`);

    const h2load = '/usr/bin/h2load';
    for (const p of proxies) await slice(sup, h2load, p, { ...a, seconds: 2 }, -1); // warm-up
    // All fixed-rate rounds first, then the saturation rounds: a wrk slice grows the young
    // generation and the pools, which would inflate the next 1,000 rps slice's RSS.
    const slices: Slice[] = [];
    for (let round = 0; round < a.rounds; round++) {
      for (const p of rotate(proxies, round)) {
        const s = await slice(sup, h2load, p, a, round);
        slices.push(s);
        log(
          `round ${round} ${p.name}: cpu ${s.cpuPer1k.toFixed(3)} s/1k, p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)} ms, rss ${s.rss.toFixed(0)} MB, wake-ups/req ${s.wakeupsPerReq.toFixed(2)}, load ${loadavg()[0]!.toFixed(2)}`,
        );
      }
    }
    const memAtRate = new Map<string, string>();
    for (const p of proxies) memAtRate.set(p.name, await memory(p));
    if (a.wrkSeconds > 0) {
      for (let round = 0; round < a.rounds; round++) {
        for (const p of rotate(proxies, round)) {
          const i = slices.findIndex((s) => s.round === round && s.name === p.name);
          const s = await saturate(sup, p, a, slices[i]!);
          slices[i] = s;
          log(
            `round ${round} ${p.name}: wrk c${a.connections} ${s.satRps.toFixed(0)} rps, cpu ${s.satCpuPer1k.toFixed(3)} s/1k, rss ${s.satRss.toFixed(0)} MB, load ${loadavg()[0]!.toFixed(2)}`,
          );
        }
      }
    }
    const names = proxies.map((p) => p.name);
    process.stdout.write(
      `\n${a.rounds} rounds × ${a.seconds} s at ${a.rate} rps (1 KB), then ${a.rounds} rounds × ${a.wrkSeconds} s of wrk -c${a.connections}; proxies on core 1, backend+load on core 0; load avg at end ${loadavg()[0]!.toFixed(2)}\n\n${table(slices, names)}\n\n`,
    );
    for (const p of proxies) {
      const m = memAtRate.get(p.name);
      if (m) process.stdout.write(`${p.name} after the fixed-rate rounds: ${m}\n`);
    }
    if (a.strace) {
      for (const p of proxies) {
        const r = await straceSlice(sup, p.proc.pid, () =>
          runFixedRate(sup, h2load, '0', { origin: p.origin, path: '/1k', host: p.host }, a.rate, a.seconds),
        );
        process.stdout.write(`\n### syscalls per 1,000 requests: ${p.name}\n${r}\n`);
      }
    }
    writeFileSync(join(tmp, 'slices.json'), JSON.stringify({ args: a, slices }));
    await sleep(10);
  } finally {
    await client.c?.close();
    await sup.stopAll();
  }
}

main().catch((err) => {
  process.stderr.write(`hot-path: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
