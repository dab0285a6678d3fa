/**
 * @module bench/mesher/mesh
 * The mesher scenarios. One registry (on the load core: it is not in the request path) and:
 *  - mesher1: consumer sidecar → backend, where the backend nginx is registered as an instance of
 *    `bench-backend` through the v4 API (the bench keeps its lease alive with heartbeats);
 *  - mesher2: consumer sidecar → provider sidecar (inbound on 127.0.0.2, `--service-ports` to the
 *    backend) → backend, the provider sidecar registering itself as `bench-provider`.
 *  - the one-hop telemetry variants (mesher1-off, -trace1, -trace100, -alog): mesher1 with extra
 *    chassis.yaml lines from bench/mesher/telemetry.ts.
 * Sidecars are pinned to the proxy core with the default chain. Requests are sent to the
 * consumer's outbound listener with the destination service in the Host header (origin-form),
 * or absolute-form when MESHER_BENCH_ABSOLUTE=1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, startSidecar, waitForOutput } from '../lib/mesher-proc.ts';
import { type Started, type Supervisor, waitUntil } from '../lib/procs.ts';
import { ScClient } from '../lib/sc-client.ts';
import type { BodySize, Scenario, Target } from '../lib/scenario.ts';
import { httpOk, proxyOk } from '../peers/probe.ts';

export const BACKEND_SERVICE = 'bench-backend';
export const PROVIDER_SERVICE = 'bench-provider';
const ABSOLUTE = process.env.MESHER_BENCH_ABSOLUTE === '1';

export class Mesh {
  readonly timers: NodeJS.Timeout[] = [];
  /** Set once bench-backend is registered (every one-hop scenario shares it). */
  backendRegistered = false;
  constructor(
    readonly registryOrigin: string,
    readonly registry: Started,
    readonly client: ScClient,
  ) {}

  /** Stop the heartbeat timers and the client pool (processes are stopped by the supervisor). */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.client.close();
  }
}

function writeConfig(
  dir: string,
  name: string,
  registry: string,
  listenIp: string,
  extra: readonly string[] = [],
): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'chassis.yaml'),
    [
      'servicecomb:',
      '  protocols:',
      `    http: { listenAddress: "${listenIp}:0" }`,
      '    rest-admin: { listenAddress: "127.0.0.1:0" }',
      '  registry:',
      `    address: "${registry}"`,
      '    watch: true',
      ...extra.map((l) => `  ${l}`),
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'microservice.yaml'),
    `servicecomb:\n  service: { name: ${name}, app: default, version: "1.0.0" }\n`,
  );
}

/** Start a sidecar and read its addresses from the "mesher sidecar listening ..." line. */
async function sidecar(sup: Supervisor, id: string, cpu: string, dir: string, servicePort?: number) {
  const proc = startSidecar(sup, id, cpu, dir, servicePort);
  const m = await waitForOutput(proc, /mesher sidecar listening (.*)/);
  const outbound = m[1]!.match(/outbound=([\d.]+:\d+)/)?.[1];
  const inbound = m[1]!.match(/inbound=([\d.]+:\d+)/)?.[1];
  if (!outbound) throw new Error(`${id}: no outbound address in '${m[0]}'`);
  return { proc, outbound: `http://${outbound}`, inbound: inbound ? `http://${inbound}` : undefined };
}

function meshTarget(origin: string, service: string, body: BodySize): Target {
  return ABSOLUTE
    ? { origin, path: `http://${service}/${body}`, host: service }
    : { origin, path: `/${body}`, host: service };
}

export async function startMesh(sup: Supervisor, registryCpu: string): Promise<Mesh> {
  const dataDir = join(sup.tmpDir, 'registry-data');
  mkdirSync(dataDir, { recursive: true });
  const { origin, proc } = await startRegistry(sup, registryCpu, dataDir);
  return new Mesh(origin, proc, new ScClient(origin, { connections: 2 }));
}

export async function startConsumer(
  sup: Supervisor,
  mesh: Mesh,
  id: string,
  cpu: string,
  service: string,
  extraConfig: readonly string[] = [],
) {
  const dir = join(sup.tmpDir, id);
  writeConfig(dir, `bench-consumer-${id}`, mesh.registryOrigin, '127.0.0.1', extraConfig);
  const { proc, outbound: origin } = await sidecar(sup, id, cpu, dir);
  const ready = () =>
    ABSOLUTE ? proxyOk(origin, `http://${service}/__ready`) : httpOk(`${origin}/__ready`, service);
  await waitUntil(
    () => `${id} forwarding to ${service}: ${proc.output().slice(-300)}`,
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`${id} exited: ${proc.output().slice(-600)}`);
      return ready();
    },
  );
  return { origin, proc };
}

/** A one-hop sidecar with its own config lines (the telemetry variants, bench/mesher/telemetry.ts). */
export interface OneHopVariant {
  readonly id: string;
  readonly label: string;
  /** YAML lines under `servicecomb:` in chassis.yaml, indented as its children. */
  readonly config: readonly string[];
  readonly measures?: readonly string[];
}

/** Register the backend nginx as `bench-backend` once per mesh, with heartbeats kept up. */
async function ensureBackend(mesh: Mesh, backendPort: number): Promise<void> {
  if (mesh.backendRegistered) return;
  mesh.backendRegistered = true;
  const { client, timers } = mesh;
  const sid = await client.createService(BACKEND_SERVICE);
  const iid = await client.registerInstance(sid, { endpoints: [`rest://127.0.0.1:${backendPort}`] });
  const t = setInterval(() => void client.heartbeat(sid, iid).catch(() => {}), 20_000);
  t.unref();
  timers.push(t);
}

/** mesher1 (or a variant of it): backend registered directly, one consumer sidecar in front. */
export async function startMesher1(
  sup: Supervisor,
  mesh: Mesh,
  cpu: string,
  backendPort: number,
  variant: OneHopVariant = { id: 'mesher1', label: 'mesher 1 hop', config: [] },
): Promise<Scenario> {
  await ensureBackend(mesh, backendPort);
  const c = await startConsumer(sup, mesh, variant.id, cpu, BACKEND_SERVICE, variant.config);
  return {
    id: variant.id,
    label: variant.label,
    target: (b) => meshTarget(c.origin, BACKEND_SERVICE, b),
    proxyPids: () => [c.proc.pid],
    ...(variant.measures ? { measures: variant.measures } : {}),
  };
}

/** mesher2: consumer sidecar → provider sidecar on 127.0.0.2 → backend. */
export async function startMesher2(
  sup: Supervisor,
  mesh: Mesh,
  cpu: string,
  backendPort: number,
): Promise<Scenario> {
  const dir = join(sup.tmpDir, 'mesher2-provider');
  writeConfig(dir, PROVIDER_SERVICE, mesh.registryOrigin, '127.0.0.2');
  const provider = await sidecar(sup, 'mesher2-provider', cpu, dir, backendPort);
  if (!provider.inbound) throw new Error('provider sidecar opened no inbound listener');
  const inbound = provider.inbound;
  await waitUntil(
    () => `provider sidecar inbound on ${inbound}: ${provider.proc.output().slice(-300)}`,
    () => httpOk(`${inbound}/__ready`, PROVIDER_SERVICE),
  );
  const c = await startConsumer(sup, mesh, 'mesher2', cpu, PROVIDER_SERVICE);
  return {
    id: 'mesher2',
    label: 'mesher 2 hops',
    target: (b) => meshTarget(c.origin, PROVIDER_SERVICE, b),
    proxyPids: () => [c.proc.pid, provider.proc.pid],
  };
}
