/**
 * @module bench/mesher/mesh
 * The mesher scenarios. One registry (on the load core: it is not in the request path) and:
 *  - mesher1: consumer sidecar → backend, where the backend nginx is registered as an instance of
 *    `bench-backend` through the v4 API (the bench keeps its lease alive with heartbeats);
 *  - mesher2: consumer sidecar → provider sidecar (inbound on 127.0.0.2, `--service-ports` to the
 *    backend) → backend, the provider sidecar registering itself as `bench-provider`.
 * Sidecars are pinned to the proxy core with the default chain. Requests are sent to the
 * consumer's outbound listener with the destination service in the Host header (origin-form),
 * or absolute-form when MESHER_BENCH_ABSOLUTE=1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, startSidecar } from '../lib/mesher-proc.ts';
import { freePort, type Started, type Supervisor, waitUntil } from '../lib/procs.ts';
import { ScClient } from '../lib/sc-client.ts';
import type { BodySize, Scenario, Target } from '../lib/scenario.ts';
import { httpOk, proxyOk } from '../peers/probe.ts';

export const BACKEND_SERVICE = 'bench-backend';
export const PROVIDER_SERVICE = 'bench-provider';
const ABSOLUTE = process.env.MESHER_BENCH_ABSOLUTE === '1';

export class Mesh {
  readonly timers: NodeJS.Timeout[] = [];
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

function writeConfig(dir: string, name: string, registry: string, listen: string, admin: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'chassis.yaml'),
    `servicecomb:
  registry:
    address: ${registry}
    refreshInterval: 30s
    watch: true
  protocols:
    http:
      listenAddress: ${listen}
    rest-admin:
      listenAddress: 127.0.0.1:${admin}
`,
  );
  writeFileSync(
    join(dir, 'microservice.yaml'),
    `servicecomb:
  service:
    name: ${name}
    app: default
    version: 1.0.0
`,
  );
  writeFileSync(join(dir, 'mesher.yaml'), 'mesher: {}\n');
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

async function startConsumer(sup: Supervisor, mesh: Mesh, id: string, cpu: string, service: string) {
  const dir = join(sup.tmpDir, id);
  const port = await freePort();
  writeConfig(dir, `bench-consumer-${id}`, mesh.registryOrigin, `127.0.0.1:${port}`, await freePort());
  const proc = startSidecar(sup, id, cpu, dir);
  const origin = `http://127.0.0.1:${port}`;
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

/** mesher1: backend registered directly, one consumer sidecar in front. */
export async function startMesher1(
  sup: Supervisor,
  mesh: Mesh,
  cpu: string,
  backendPort: number,
): Promise<Scenario> {
  const { client, timers } = mesh;
  const sid = await client.createService(BACKEND_SERVICE);
  const iid = await client.registerInstance(sid, { endpoints: [`rest://127.0.0.1:${backendPort}`] });
  const t = setInterval(() => void client.heartbeat(sid, iid).catch(() => {}), 20_000);
  t.unref();
  timers.push(t);
  const c = await startConsumer(sup, mesh, 'mesher1', cpu, BACKEND_SERVICE);
  return {
    id: 'mesher1',
    label: 'mesher 1 hop',
    target: (b) => meshTarget(c.origin, BACKEND_SERVICE, b),
    proxyPids: () => [c.proc.pid],
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
  const port = await freePort('127.0.0.2');
  writeConfig(dir, PROVIDER_SERVICE, mesh.registryOrigin, `127.0.0.2:${port}`, await freePort());
  const provider = startSidecar(sup, 'mesher2-provider', cpu, dir, backendPort);
  await waitUntil(`provider sidecar inbound on 127.0.0.2:${port}`, async () => {
    if (provider.child.exitCode !== null)
      throw new Error(`provider exited: ${provider.output().slice(-600)}`);
    return httpOk(`http://127.0.0.2:${port}/__ready`, PROVIDER_SERVICE);
  });
  const c = await startConsumer(sup, mesh, 'mesher2', cpu, PROVIDER_SERVICE);
  return {
    id: 'mesher2',
    label: 'mesher 2 hops',
    target: (b) => meshTarget(c.origin, PROVIDER_SERVICE, b),
    proxyPids: () => [c.proc.pid, provider.pid],
  };
}
