/**
 * Test helpers for whole-mesh tests: sidecars configured the way users configure them (a conf
 * directory with chassis.yaml and microservice.yaml, SERVICE_PORTS for the local app), plus
 * direct registration of an SDK-style provider through the v4 API.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSidecarConfig } from '../../src/sidecar/config/index.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/main.ts';

export interface TestSidecarSpec {
  readonly name: string;
  readonly registryUrl: string;
  readonly version?: string;
  readonly app?: string;
  /** 127.0.0.1 = consumer only; 127.0.0.2.. = also a reverse proxy on that IP. */
  readonly listenIp?: string;
  readonly appPort?: number;
  /** Extra YAML appended under `servicecomb:` in chassis.yaml (indented by the caller with 2 spaces). */
  readonly chassisExtra?: string;
  readonly refreshInterval?: string;
  readonly watch?: boolean;
}

/** Writes a conf dir for `spec` and returns its path. */
export function writeSidecarConf(spec: TestSidecarSpec): string {
  const dir = mkdtempSync(join(tmpdir(), `mesher-${spec.name}-`));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'chassis.yaml'),
    [
      'servicecomb:',
      '  protocols:',
      `    http: { listenAddress: "${spec.listenIp ?? '127.0.0.1'}:0" }`,
      '    rest-admin: { listenAddress: "127.0.0.1:0" }',
      '  registry:',
      `    address: "${spec.registryUrl}"`,
      `    watch: ${spec.watch ?? true}`,
      `    refreshInterval: ${spec.refreshInterval ?? '1s'}`,
      '    heartbeat: { interval: 5s }',
      spec.chassisExtra ?? '',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'microservice.yaml'),
    `servicecomb:\n  service: { name: ${spec.name}, app: ${spec.app ?? 'default'}, version: "${spec.version ?? '1.0.0'}" }\n`,
  );
  return dir;
}

export async function startTestSidecar(spec: TestSidecarSpec): Promise<Sidecar> {
  const confDir = writeSidecarConf(spec);
  const env: Record<string, string | undefined> = { PATH: process.env.PATH };
  if (spec.appPort !== undefined) env.SERVICE_PORTS = `rest:${spec.appPort}`;
  const { config } = loadSidecarConfig({ confDir, env });
  return startSidecar({ config, watchConfig: false });
}

/** Register a provider the way an SDK does (no sidecar): service, then instance. Returns ids. */
export async function registerProvider(
  registryUrl: string,
  p: { name: string; version?: string; app?: string; endpoint: string; instanceId?: string },
): Promise<{ serviceId: string; instanceId: string }> {
  const svc = await fetch(`${registryUrl}/v4/default/registry/microservices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      service: { serviceName: p.name, appId: p.app ?? 'default', version: p.version ?? '1.0.0' },
    }),
  });
  if (svc.status !== 200) throw new Error(`create service: ${svc.status} ${await svc.text()}`);
  const { serviceId } = (await svc.json()) as { serviceId: string };
  const inst = await fetch(`${registryUrl}/v4/default/registry/microservices/${serviceId}/instances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      instance: {
        hostName: 'test',
        endpoints: [p.endpoint],
        status: 'UP',
        ...(p.instanceId ? { instanceId: p.instanceId } : {}),
      },
    }),
  });
  if (inst.status !== 200) throw new Error(`register instance: ${inst.status} ${await inst.text()}`);
  const { instanceId } = (await inst.json()) as { instanceId: string };
  return { serviceId, instanceId };
}

/** A port that was free a moment ago (for "start the registry later on this address" tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as import('node:net').AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Poll `fn` until it returns true (bounded; for effects that cross processes or sockets). */
export async function eventually(
  fn: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  stepMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
