/**
 * Sidecar lifecycle end to end on real sockets: local health checks driving the registry status
 * (what consumers see) and /v1/mesher/ready; a graceful close that deregisters first, keeps
 * accepting during the drain and lets in-flight requests finish; `mesher run` starting an app
 * behind its proxy, forwarding signals after the drain and exiting with the app's code.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ProxyAgent, request } from 'undici';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { loadSidecarConfig } from '../../src/sidecar/config/index.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/main.ts';
import { fileClosers } from '../support/closers.ts';
import { eventually, registerProvider, writeSidecarConf } from '../support/mesh.ts';
import { startMesher } from '../support/mesher-process.ts';
import { startUpstream } from '../support/upstream.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const closers = fileClosers();

async function registry(): Promise<RegistryServer> {
  const r = await startRegistry({ port: 0, dataDir: null });
  closers.push(() => r.close());
  return r;
}

/** A local app whose /health status the test sets. */
async function app(): Promise<{ port: number; healthStatus: number }> {
  const state = { port: 0, healthStatus: 503 };
  const server = http.createServer((req, res) => {
    if (req.url === '/health')
      res.writeHead(state.healthStatus).end(state.healthStatus === 200 ? 'UP' : 'DOWN');
    else res.writeHead(200, { 'x-upstream-id': 'app' }).end('hello');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return state;
}

async function sidecar(opts: {
  name: string;
  registryUrl: string;
  listenIp?: string;
  appPort?: number;
  mesherYaml?: string;
  watchConfig?: boolean;
}): Promise<Sidecar & { confDir: string }> {
  const confDir = writeSidecarConf({
    name: opts.name,
    registryUrl: opts.registryUrl,
    listenIp: opts.listenIp,
  });
  if (opts.mesherYaml) writeFileSync(join(confDir, 'mesher.yaml'), opts.mesherYaml);
  const env: Record<string, string | undefined> = { PATH: process.env.PATH };
  if (opts.appPort !== undefined) env.SERVICE_PORTS = `rest:${opts.appPort}`;
  const { config } = loadSidecarConfig({ confDir, env });
  const s = await startSidecar({ config, watchConfig: opts.watchConfig ?? false, env: {} });
  closers.push(() => s.close());
  return Object.assign(s, { confDir });
}

async function get(url: string, dispatcher?: ProxyAgent, headers: Record<string, string> = {}) {
  const res = await request(url, { dispatcher, headers });
  const body = await res.body.text();
  return { status: res.statusCode, body, error: res.headers['x-mesher-error'] };
}

async function ready(
  s: Sidecar,
): Promise<{ status: number; body: { checks: Record<string, { ok: boolean }> } }> {
  const r = await get(`http://127.0.0.1:${s.addresses.admin!.port}/v1/mesher/ready`);
  return { status: r.status, body: JSON.parse(r.body) };
}

function proxyOf(s: Sidecar): ProxyAgent {
  const p = new ProxyAgent({ uri: `http://127.0.0.1:${s.addresses.outbound.port}`, proxyTunnel: false });
  closers.push(() => p.close());
  return p;
}

describe('local health checks and readiness', () => {
  test('the instance is DOWN (uncallable, not ready) until the app is healthy, then UP; DOWN again when it fails', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const a = await app();
    const provider = await sidecar({
      name: 'hc',
      registryUrl: reg.url,
      listenIp: '127.0.0.2',
      appPort: a.port,
      mesherYaml: `localHealthCheck:\n  - { port: "${a.port}", protocol: rest, uri: /health, interval: 200ms, match: { status: "200", body: "^UP$" } }\n`,
    });
    const consumer = await sidecar({ name: 'hcclient', registryUrl: reg.url });
    const proxy = proxyOf(consumer);
    await provider.registration.whenRegistered();

    const notReady = await ready(provider);
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.checks.localApp?.ok, false);
    assert.equal(notReady.body.checks.listeners?.ok, true);
    const early = await get('http://hc/work', proxy);
    assert.equal(early.status, 503, 'a DOWN instance is not called');
    assert.equal(early.error, 'NO_ENDPOINTS');

    a.healthStatus = 200;
    await eventually(async () => (await ready(provider)).status === 200, 10_000);
    await eventually(async () => (await get('http://hc/work', proxy)).status === 200, 10_000);
    assert.equal(provider.registration.status().instanceStatus, 'UP');

    a.healthStatus = 500;
    await eventually(async () => (await get('http://hc/work', proxy)).error === 'NO_ENDPOINTS', 10_000);
    assert.equal((await ready(provider)).status, 503);
    assert.equal(provider.registration.status().instanceStatus, 'DOWN');
  });

  test('localHealthCheck hot-reloads: a valid change replaces the checks, an invalid one keeps them', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const a = await app();
    const provider = await sidecar({
      name: 'hcreload',
      registryUrl: reg.url,
      listenIp: '127.0.0.2',
      appPort: a.port,
      watchConfig: true,
      mesherYaml: `localHealthCheck:\n  - { port: "${a.port}", protocol: rest, uri: /health, interval: 200ms }\n`,
    });
    await eventually(() => provider.health()?.report().checks[0]?.runs !== undefined, 5000);
    assert.equal((await ready(provider)).status, 503, '/health answers 503');
    // /work answers 200: switching the check there makes the app healthy.
    writeFileSync(
      join(provider.confDir, 'mesher.yaml'),
      `localHealthCheck:\n  - { port: "${a.port}", protocol: rest, uri: /work, interval: 200ms }\n`,
    );
    await eventually(async () => (await ready(provider)).status === 200, 10_000);
    assert.equal(provider.health()?.report().checks[0]?.target, `rest 127.0.0.1:${a.port}/work`);
    writeFileSync(join(provider.confDir, 'mesher.yaml'), 'localHealthCheck:\n  - { port: "x" }\n');
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(provider.health()?.report().checks[0]?.target, `rest 127.0.0.1:${a.port}/work`, 'kept');
    assert.equal((await ready(provider)).status, 200);
  });

  test('without health checks, readiness is a TCP connect to the local app', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const a = await app();
    const provider = await sidecar({
      name: 'tcpready',
      registryUrl: reg.url,
      listenIp: '127.0.0.2',
      appPort: a.port,
    });
    assert.equal((await ready(provider)).status, 200);
    const gone = await sidecar({ name: 'noapp', registryUrl: reg.url, listenIp: '127.0.0.2', appPort: 1 });
    const r = await ready(gone);
    assert.equal(r.status, 503);
    assert.equal(r.body.checks.localApp?.ok, false);
  });

  test('an invalid localHealthCheck fails start-up with exit 2, naming the key', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const dir = writeSidecarConf({ name: 'badhc', registryUrl: reg.url });
    writeFileSync(
      join(dir, 'mesher.yaml'),
      'localHealthCheck:\n  - { port: 8080, protocol: rest, uri: health }\n',
    );
    const p = startMesher(['sidecar', '--config-dir', dir]);
    const exit = await p.exited();
    assert.equal(exit.code, 2);
    assert.match(p.stderr(), /localHealthCheck\[0\]\.uri: must start with "\/"/);
  });
});

describe('graceful close', () => {
  test('deregisters first, keeps accepting during the drain, lets in-flight requests finish, then refuses', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const up = await startUpstream({ id: 'slow' });
    closers.push(() => up.close());
    const provider = await sidecar({
      name: 'drain',
      registryUrl: reg.url,
      listenIp: '127.0.0.2',
      appPort: up.port,
    });
    await provider.registration.whenRegistered();
    const inbound = `http://127.0.0.2:${provider.addresses.inbound!.port}`;

    // Longer than the drain period: it is still running when the listeners stop accepting.
    const inFlight = get(`${inbound}/slow`, undefined, { 'x-test-delay-ms': '1600' });
    await eventually(() => up.connections > 0, 5000, 5);
    const t0 = Date.now();
    let closedAt = 0;
    const closed = provider.close({ drainMs: 1000, inFlightTimeoutMs: 5000 }).then(() => {
      closedAt = Date.now();
    });

    await eventually(async () => {
      const r = await fetch(`${reg.url}/v4/default/registry/instances?appId=default&serviceName=drain`);
      const body = (await r.json()) as { instances?: unknown[] };
      return (body.instances?.length ?? 0) === 0;
    }, 5000);
    const r = await ready(provider);
    assert.equal(r.status, 503);
    assert.equal(r.body.checks.shutdown?.ok, false);
    const late = await get(`${inbound}/late`);
    assert.equal(late.status, 200, 'a late request from a peer with a stale cache is still served');
    assert.equal(closedAt, 0, 'deregistered and served the late request before closing');

    const slow = await inFlight;
    assert.equal(slow.status, 200, 'the in-flight request finished');
    await closed;
    assert.ok(closedAt - t0 >= 1000, 'the listeners stayed up for the drain period');
    await assert.rejects(get(`${inbound}/after`), /ECONNREFUSED/);
  });
});

describe('mesher run', () => {
  const run = promisify(execFile);
  const node = process.execPath;

  test('starts the app behind its proxy (http_proxy), then exits with the app code and stops the proxy', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const up = await startUpstream({ id: 'batch-target' });
    closers.push(() => up.close());
    await registerProvider(reg.url, { name: 'target', endpoint: `rest://127.0.0.1:${up.port}` });
    const dir = writeSidecarConf({ name: 'batch', registryUrl: reg.url });
    const script = [
      "const { execFileSync } = require('node:child_process');",
      "const out = execFileSync('curl', ['-s', '-w', ' %{http_code}', 'http://target/job']).toString();",
      "console.log('app: proxy=' + process.env.http_proxy + ' no_proxy=' + process.env.no_proxy + ' got=' + out);",
      'process.exit(3);',
    ].join('\n');
    const p = startMesher(['run', '--config-dir', dir, '--', node, '-e', script]);
    closers.push(() => p.stop('SIGKILL'));
    const exit = await p.exited();
    assert.equal(exit.code, 3, p.stderr());
    assert.match(
      p.stdout(),
      /app: proxy=http:\/\/127\.0\.0\.1:\d+ no_proxy=\S*127\.0\.0\.1\S* got=batch-target 200/,
    );
  });

  test('SIGTERM: deregister and drain while the app runs, then the app gets the signal; exit with its code', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const a = await app();
    a.healthStatus = 200;
    const dir = writeSidecarConf({ name: 'svc', registryUrl: reg.url, listenIp: '127.0.0.3' });
    const lookup = `${reg.url}/v4/default/registry/instances?appId=default&serviceName=svc`;
    const script = [
      "console.log('app: started');",
      "process.on('SIGTERM', async () => {",
      `  const r = await fetch(${JSON.stringify(lookup)});`,
      '  const n = ((await r.json()).instances ?? []).length;',
      "  console.log('app: SIGTERM; registered instances ' + n);",
      '  setTimeout(() => process.exit(0), 50);',
      '});',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const p = startMesher(['run', '--config-dir', dir, '--', node, '-e', script], {
      env: { SERVICE_PORTS: `rest:${a.port}`, MESHER_DRAIN_MS: '400' },
    });
    closers.push(() => p.stop('SIGKILL'));
    await p.waitFor(/app: started/);
    await eventually(async () => {
      const body = (await (await fetch(lookup)).json()) as { instances?: unknown[] };
      return (body.instances?.length ?? 0) === 1;
    });
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const exit = await p.exited();
    assert.equal(exit.code, 0, p.stderr());
    assert.match(
      p.stdout(),
      /app: SIGTERM; registered instances 0/,
      'deregistered before the app was signalled',
    );
    assert.ok(Date.now() - t0 >= 400, 'the app kept running for the drain period');
  });

  test('an app killed by a signal → 128+n; a missing command → 127; no "--" → 2', {
    timeout: 60_000,
  }, async () => {
    const reg = await registry();
    const dir = writeSidecarConf({ name: 'sig', registryUrl: reg.url });
    // Three processes at once: each start costs seconds on a busy machine.
    const killed = startMesher([
      'run',
      '--config-dir',
      dir,
      '--',
      node,
      '-e',
      "process.kill(process.pid, 'SIGKILL')",
    ]);
    const missing = startMesher(['run', '--config-dir', dir, '--', 'mesher-no-such-command-xyz']);
    closers.push(
      () => killed.stop('SIGKILL'),
      () => missing.stop('SIGKILL'),
    );
    const usage = await run(node, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config-dir', dir], {
      cwd: ROOT,
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((await killed.exited()).code, 137);
    assert.equal((await missing.exited()).code, 127);
    assert.match(missing.stderr(), /could not start the command/);
    assert.equal((usage as { code: number }).code, 2);
    assert.match((usage as { stderr: string }).stderr, /missing "-- <command>"/);
  });
});
