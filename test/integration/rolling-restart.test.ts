/**
 * Issue 4's "Done when": a rolling restart of all 3 provider instances with graceful shutdown
 * completes with ZERO failed requests. Each provider is a real `mesher sidecar` process in front of
 * its own upstream. Two consumer sidecars carry steady load (~100 req/s each) from a client: one
 * with `watch: true` (hears the DELETE within milliseconds) and one that only polls every second
 * (still sends to the old instance during the drain period — the case the drain exists for).
 * Each provider in turn gets SIGTERM (deregister → drain while still accepting → close) while its
 * replacement process starts; the next one goes only when the consumer sees 3 instances again.
 * No retries are configured and half the calls are POSTs with a body (never failed over):
 * deregister-before-drain and keep-accepting-during-drain carry it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import { startRegistry } from '../../src/registry/main.ts';
import { fileClosers } from '../support/closers.ts';
import { eventually, startTestSidecar, writeSidecarConf } from '../support/mesh.ts';
import { type MesherProcess, startMesher } from '../support/mesher-process.ts';
import { startUpstream, type TestUpstream } from '../support/upstream.ts';

const closers = fileClosers();

const SERVICE = 'rolling';
/** Well above the polling consumer's refresh interval (1 s, delayed on a busy machine), so it learns before the close. */
const DRAIN_MS = 3000;
/** One request every 10 ms (~100 req/s), at most this many in flight. */
const INTERVAL_MS = 10;
const MAX_IN_FLIGHT = 50;

function startProvider(registryUrl: string, ip: string, upstream: TestUpstream): MesherProcess {
  const dir = writeSidecarConf({ name: SERVICE, registryUrl, listenIp: ip, refreshInterval: '30s' });
  const p = startMesher(['sidecar', '--config-dir', dir], {
    env: { SERVICE_PORTS: `rest:${upstream.port}`, MESHER_DRAIN_MS: String(DRAIN_MS) },
  });
  closers.push(() => p.stop('SIGKILL'));
  return p;
}

interface Load {
  sent: number;
  ok: number;
  failures: string[];
  stop(): Promise<void>;
}

function steadyLoad(proxy: ProxyAgent, url: string): Load {
  const inFlight = new Set<Promise<void>>();
  const load: Load = {
    sent: 0,
    ok: 0,
    failures: [],
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
  const one = async (n: number) => {
    try {
      // Every other call is a POST with a body: the load balancer never fails those over to
      // another instance, so only the graceful lifecycle keeps them from failing.
      const post = n % 2 === 1;
      const res = await request(`${url}?n=${n}`, {
        dispatcher: proxy,
        headersTimeout: 10_000,
        ...(post ? { method: 'POST', body: `payload ${n}`, headers: { 'content-type': 'text/plain' } } : {}),
      });
      const body = await res.body.text();
      if (res.statusCode === 200) load.ok++;
      else
        load.failures.push(
          `#${n}: ${res.statusCode} ${res.headers['x-mesher-error'] ?? ''} ${body.slice(0, 200)}`,
        );
    } catch (err) {
      load.failures.push(`#${n}: ${(err as Error).message}`);
    }
  };
  const timer = setInterval(() => {
    if (inFlight.size >= MAX_IN_FLIGHT) return;
    const p = one(load.sent++).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, INTERVAL_MS);
  return load;
}

test('rolling restart of 3 providers with graceful shutdown: zero failed requests', {
  timeout: 120_000,
}, async (t) => {
  const registry = await startRegistry({ port: 0, dataDir: null });
  closers.push(() => registry.close());
  const ups = await Promise.all([0, 1, 2].map((i) => startUpstream({ id: `up${i}` })));
  for (const u of ups) closers.push(() => u.close());
  const ips = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

  const providers = ups.map((u, i) => startProvider(registry.url, ips[i]!, u));
  await Promise.all(providers.map((p) => p.waitFor(/listening/, 30_000)));

  const consumers = await Promise.all(
    [
      { name: 'watcher', watch: true, refreshInterval: '30s' },
      { name: 'poller', watch: false, refreshInterval: '1s' },
    ].map((spec) => startTestSidecar({ ...spec, registryUrl: registry.url })),
  );
  for (const c of consumers) closers.push(() => c.close());
  const proxies = consumers.map((c) => {
    const p = new ProxyAgent({ uri: `http://127.0.0.1:${c.addresses.outbound.port}`, proxyTunnel: false });
    closers.push(() => p.close());
    return p;
  });
  const endpoints = (i: number) => consumers[i]!.directory.peek(SERVICE)?.endpoints ?? [];
  for (const [i, proxy] of proxies.entries()) {
    await eventually(
      async () => {
        const r = await request(`http://${SERVICE}/warm`, { dispatcher: proxy });
        await r.body.text();
        return r.statusCode === 200 && endpoints(i).length === 3;
      },
      20_000,
      100,
    );
  }
  await eventually(() => consumers[0]!.directory.watching, 10_000);
  const address = (e: { host: string; port: number }) => `${e.host}:${e.port}`;
  const before = new Set(endpoints(0).map(address));

  const loads = proxies.map((p) => steadyLoad(p, `http://${SERVICE}/work`));
  await new Promise((r) => setTimeout(r, 500));
  const shutdowns: Array<{ code: number | null; stderr: string }> = [];
  for (let i = 0; i < 3; i++) {
    const old = providers[i]!;
    old.child.kill('SIGTERM');
    const replacement = startProvider(registry.url, ips[i]!, ups[i]!);
    providers[i] = replacement;
    const exit = await old.exited();
    shutdowns.push({ code: exit.code, stderr: old.stderr() });
    await replacement.waitFor(/listening/, 30_000);
    await eventually(() => endpoints(0).length === 3 && endpoints(1).length === 3, 20_000, 20);
  }
  await new Promise((r) => setTimeout(r, 500));
  await Promise.all(loads.map((l) => l.stop()));

  for (const s of shutdowns) assert.equal(s.code, 0, s.stderr);
  const now = endpoints(0).map(address);
  assert.equal(now.length, 3);
  for (const a of now) assert.equal(before.has(a), false, 'every instance was replaced');
  for (const [i, load] of loads.entries()) {
    const who = consumers[i]!.config().service.name;
    t.diagnostic(`${who}: ${load.sent} requests, ${load.failures.length} failed`);
    assert.ok(load.sent >= 200, `${who}: steady load ran (${load.sent} requests)`);
    assert.deepEqual(load.failures, [], `${who}: ${load.failures.length} of ${load.sent} requests failed`);
    assert.equal(load.ok, load.sent);
  }
});
