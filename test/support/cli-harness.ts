/**
 * Shared set-up for the operator CLI suites (cli-*.test.ts): an in-process registry, a config
 * center sharing its store, a fake sidecar admin API (all on 127.0.0.1:0) and `mesher()`, which
 * runs the real CLI through tsx (at most MAX_PARALLEL at once, a hung one killed after 60 s).
 * The CLI tests are split over files so each gets the runner's full per-file time on a slow machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type ConfigCenterServer, serveConfigCenter } from '../../src/registry/config-center/index.ts';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { ManualClock, systemClock } from '../../src/shared/clock.ts';
import { type CliRun, runMesher } from './mesher-process.ts';

export let registry: RegistryServer;
export let cc: ConfigCenterServer;
let admin: Server;
export let adminUrl: string;
export let dir: string;

/** At most this many CLI processes at once: each costs ~0.5 s of CPU to start through tsx. */
const MAX_PARALLEL = 3;
let running = 0;
const queue: Array<() => void> = [];

export async function mesher(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  if (running >= MAX_PARALLEL) await new Promise<void>((r) => queue.push(r));
  running++;
  try {
    return await runMesher(args, env);
  } finally {
    running--;
    queue.shift()?.();
  }
}

/** Flags pointing at the test servers. */
export const at = () => ['--registry', registry.url, '--config-center', cc.url];

async function register(name: string, version: string, endpoint: string): Promise<void> {
  const res = await fetch(`${registry.url}/v4/default/registry/microservices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ service: { serviceName: name, appId: 'default', version } }),
  });
  const { serviceId } = (await res.json()) as { serviceId: string };
  await fetch(`${registry.url}/v4/default/registry/microservices/${serviceId}/instances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instance: { hostName: `${name}-host`, endpoints: [endpoint] } }),
  });
}

/** Registers this file's before()/after(): start the servers, then close them. Call once. */
export function useCliHarness(): void {
  before(async () => {
    registry = await startRegistry({ port: 0, dataDir: null, clock: new ManualClock() });
    cc = await serveConfigCenter({ store: registry.store, clock: systemClock });
    await register('server2', '1.0.0', 'rest://127.0.0.1:8080');
    await register('server2', '2.0.0', 'rest://127.0.0.1:8081');
    admin = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = (req.url ?? '').split('?')[0];
      if (path === '/v1/mesher/health')
        send(200, { serviceName: 'client', version: '1.0.0', status: 'green', checks: {} });
      else if (path === '/v1/mesher/config')
        send(200, {
          service: { name: 'client', app: 'default', version: '1.0.0' },
          flat: {
            'servicecomb.routeRule.server2': '- route: [{tags: {version: 2.0.0}}]',
            'cse.loadbalance.strategy.name': 'Random',
            'servicecomb.service.name': 'client',
          },
        });
      else if (path === '/v1/mesher/instances')
        send(200, { services: [{ serviceName: 'server2', app: 'default', endpoints: [{}, {}] }] });
      else if (path === '/v1/mesher/routeRule/server2')
        send(200, [{ precedence: 0, match: {}, route: [{ tags: { version: '2.0.0' }, weight: 100 }] }]);
      else send(404, { code: 'NOT_FOUND', message: `No admin endpoint ${path}` });
    });
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'mesher-cli-'));
  });

  after(async () => {
    await cc.close();
    await registry.close();
    await new Promise<void>((r) => admin.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
}
