/**
 * @module demo/demo
 * The main job behind `npm start`: a whole mesh on one machine, all on 127.0.0.0/8.
 *
 *   registry (embedded, 127.0.0.1)
 *   client   ── its sidecar (consumer only, 127.0.0.1) ──▶
 *   server1  ── its sidecar (127.0.0.2) ──▶
 *   server2  ── two instances, v1.0.0 behind a sidecar on 127.0.0.3, v1.1.0 on 127.0.0.4
 *
 * Each sidecar is configured the way a user would configure it: a conf/ directory with
 * chassis.yaml and microservice.yaml, plus SERVICE_PORTS for the local app. The apps are plain
 * HTTP programs that call each other by name through their sidecar's forward proxy.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RegistryServer, startRegistry } from '../registry/main.ts';
import { loadSidecarConfig } from '../sidecar/config/index.ts';
import { type Sidecar, startSidecar } from '../sidecar/main.ts';
import { type AppServer, type CallStats, startClientLoop, startServer1, startServer2 } from './apps.ts';

export interface DemoOptions {
  /** Calls per second from the client (default 10). */
  readonly rate?: number;
  /** Keep the registry's data here (default: in memory). */
  readonly dataDir?: string | null;
  readonly out?: NodeJS.WritableStream;
}

export interface Demo {
  readonly registry: RegistryServer;
  readonly sidecars: Readonly<Record<string, Sidecar>>;
  readonly stats: CallStats;
  /** One summary block: calls per path and instance, errors, what the registry knows. */
  summary(): Promise<string>;
  stop(): Promise<void>;
}

interface SidecarSpec {
  readonly name: string;
  readonly version: string;
  readonly listenIp: string;
  readonly appPort?: number;
}

function writeConf(root: string, spec: SidecarSpec, registryUrl: string): string {
  const dir = join(root, `${spec.name}-${spec.version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'chassis.yaml'),
    [
      'servicecomb:',
      '  protocols:',
      `    http: { listenAddress: "${spec.listenIp}:0" }`,
      '    rest-admin: { listenAddress: "127.0.0.1:0" }',
      '  registry:',
      `    address: "${registryUrl}"`,
      '    watch: true',
      '    refreshInterval: 5s',
      '    heartbeat: { interval: 10s }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'microservice.yaml'),
    `servicecomb:\n  service: { name: ${spec.name}, app: demo, version: "${spec.version}" }\n`,
  );
  return dir;
}

async function sidecarFor(root: string, spec: SidecarSpec, registryUrl: string): Promise<Sidecar> {
  const confDir = writeConf(root, spec, registryUrl);
  const env: Record<string, string | undefined> = {
    ...process.env,
    SERVICE_PORTS: undefined,
    SPECIFIC_ADDR: undefined,
  };
  if (spec.appPort !== undefined) env.SERVICE_PORTS = `rest:${spec.appPort}`;
  const { config } = loadSidecarConfig({ confDir, env });
  return startSidecar({ config, watchConfig: false });
}

export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const rate = Math.max(1, opts.rate ?? 10);
  const root = mkdtempSync(join(tmpdir(), 'mesher-demo-'));
  const registry = await startRegistry({ port: 0, dataDir: opts.dataDir ?? null });
  const apps: AppServer[] = [];
  const sidecars: Record<string, Sidecar> = {};
  try {
    const s2a = await startServer2('server2-v1.0.0');
    const s2b = await startServer2('server2-v1.1.0');
    apps.push(s2a, s2b);
    sidecars['server2-v1.0.0'] = await sidecarFor(
      root,
      { name: 'server2', version: '1.0.0', listenIp: '127.0.0.3', appPort: s2a.port },
      registry.url,
    );
    sidecars['server2-v1.1.0'] = await sidecarFor(
      root,
      { name: 'server2', version: '1.1.0', listenIp: '127.0.0.4', appPort: s2b.port },
      registry.url,
    );
    const proxyOf = (key: string) => () => sidecars[key]!.addresses.outbound.port;
    const s1 = await startServer1('server1-v1.0.0', proxyOf('server1'));
    apps.push(s1);
    sidecars.server1 = await sidecarFor(
      root,
      { name: 'server1', version: '1.0.0', listenIp: '127.0.0.2', appPort: s1.port },
      registry.url,
    );
    sidecars.client = await sidecarFor(
      root,
      { name: 'client', version: '1.0.0', listenIp: '127.0.0.1' },
      registry.url,
    );
    await Promise.all(Object.values(sidecars).map((s) => s.registration.whenRegistered()));
  } catch (err) {
    await Promise.allSettled(Object.values(sidecars).map((s) => s.close()));
    await Promise.allSettled(apps.map((a) => a.close()));
    await registry.close();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const loop = startClientLoop(() => sidecars.client!.addresses.outbound.port, Math.round(1000 / rate));

  return {
    registry,
    sidecars,
    stats: loop.stats,
    async summary() {
      const lines: string[] = [];
      const s = loop.stats;
      lines.push(`calls: ${s.ok} ok, ${s.failed} failed   (client -> server1 -> server2, ${rate}/s)`);
      for (const [path, n] of [...s.paths.entries()].sort())
        lines.push(`  ${String(n).padStart(6)}  ${path}`);
      for (const [code, n] of s.errors) lines.push(`  ${String(n).padStart(6)}  error ${code}`);
      lines.push('registry instances:');
      for (const name of ['server1', 'server2']) {
        const res = await fetch(
          `${registry.url}/v4/default/registry/instances?appId=demo&serviceName=${name}`,
        );
        const body = (await res.json()) as {
          instances?: Array<{ version: string; endpoints?: string[]; status: string }>;
        };
        for (const i of body.instances ?? []) {
          lines.push(
            `  ${name.padEnd(8)} v${i.version.padEnd(6)} ${i.status.padEnd(4)} ${(i.endpoints ?? []).join(',')}`,
          );
        }
      }
      lines.push(`registry ${registry.url} · sidecar admin APIs:`);
      for (const [name, sc] of Object.entries(sidecars)) {
        const admin = sc.addresses.admin;
        if (admin) lines.push(`  ${name.padEnd(15)} http://127.0.0.1:${admin.port}/v1/mesher/health`);
      }
      return lines.join('\n');
    },
    async stop() {
      loop.stop();
      await Promise.allSettled(Object.values(sidecars).map((sc) => sc.close()));
      await Promise.allSettled(apps.map((a) => a.close()));
      await registry.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
