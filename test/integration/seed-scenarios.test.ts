/**
 * The seed's three deployment scenarios, end to end with real processes' parts on real sockets:
 *  (1) consumer with a sidecar -> provider that registered itself through the v4 API (an SDK app);
 *  (2) consumer -> consumer's sidecar -> provider's sidecar (on 127.0.0.2) -> provider app;
 *  (3) consumer without a sidecar that finds the provider's sidecar in the registry and calls it.
 * Clients are real: curl with http_proxy set, and undici's ProxyAgent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ProxyAgent, request } from 'undici';
import { type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import type { Sidecar } from '../../src/sidecar/main.ts';
import { registerProvider, startTestSidecar } from '../support/mesh.ts';
import { startUpstream, type TestUpstream } from '../support/upstream.ts';

const run = promisify(execFile);

/** curl through the sidecar, configured only by the http_proxy environment variable. */
async function curlViaProxy(
  proxyPort: number,
  url: string,
  headers: string[] = [],
): Promise<{ status: number; body: string }> {
  const args = ['-s', '-o', '-', '-w', '\n%{http_code}', ...headers.flatMap((h) => ['-H', h]), url];
  const { stdout } = await run('curl', args, {
    env: { PATH: process.env.PATH, http_proxy: `http://127.0.0.1:${proxyPort}`, no_proxy: '' },
  });
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

describe('seed scenarios', () => {
  let registry: RegistryServer;
  let app: TestUpstream;
  let consumer: Sidecar;
  let provider: Sidecar;
  /** Proxy-form requests (`GET http://server2/x`), what curl and most http_proxy clients send. */
  let proxy: ProxyAgent;
  /** undici's default: a CONNECT tunnel through the sidecar, then plain HTTP inside it. */
  let tunnel: ProxyAgent;

  before(async () => {
    registry = await startRegistry({ port: 0, dataDir: null });
    app = await startUpstream({ id: 'app' });
    consumer = await startTestSidecar({ name: 'client', registryUrl: registry.url });
    provider = await startTestSidecar({
      name: 'server2',
      registryUrl: registry.url,
      listenIp: '127.0.0.2',
      appPort: app.port,
    });
    await Promise.all([consumer.registration.whenRegistered(), provider.registration.whenRegistered()]);
    const uri = `http://127.0.0.1:${consumer.addresses.outbound.port}`;
    proxy = new ProxyAgent({ uri, proxyTunnel: false });
    tunnel = new ProxyAgent(uri);
  });

  after(async () => {
    await proxy.close();
    await tunnel.close();
    await Promise.all([consumer.close(), provider.close()]);
    await app.close();
    await registry.close();
  });

  test('(1) consumer sidecar -> provider registered through the v4 API by an SDK', {
    timeout: 60_000,
  }, async () => {
    const sdkApp = await startUpstream({ id: 'sdk-provider' });
    try {
      await registerProvider(registry.url, {
        name: 'sdkprovider',
        endpoint: `rest://127.0.0.1:${sdkApp.port}`,
      });
      const viaCurl = await curlViaProxy(consumer.addresses.outbound.port, 'http://sdkprovider/hello?a=1');
      assert.equal(viaCurl.status, 200);
      assert.equal(viaCurl.body, 'sdk-provider');
      const viaUndici = await request('http://sdkprovider/x', { dispatcher: proxy });
      assert.equal(viaUndici.statusCode, 200);
      assert.equal(viaUndici.headers['x-upstream-id'], 'sdk-provider');
      await viaUndici.body.text();
    } finally {
      await sdkApp.close();
    }
  });

  test('(2) consumer -> its sidecar -> provider sidecar on 127.0.0.2 -> provider app', {
    timeout: 60_000,
  }, async () => {
    const endpoints = provider.config().listeners.advertise;
    assert.equal(endpoints?.host, '127.0.0.2');
    const res = await request('http://server2/echo/path?q=1', {
      dispatcher: proxy,
      method: 'POST',
      headers: { 'x-test-echo': '1', 'content-type': 'text/plain' },
      body: 'ping',
    });
    assert.equal(res.statusCode, 200);
    const echo = (await res.body.json()) as {
      method: string;
      url: string;
      rawHeaders: string[];
      body: string;
    };
    assert.equal(echo.method, 'POST');
    assert.equal(echo.url, '/echo/path?q=1');
    assert.equal(echo.body, 'ping');
    const headers = new Map<string, string>();
    for (let i = 0; i < echo.rawHeaders.length; i += 2)
      headers.set(echo.rawHeaders[i]!.toLowerCase(), echo.rawHeaders[i + 1]!);
    // The provider side knows who called: the SDK-compatible identity headers survived two hops.
    assert.equal(headers.get('x-cse-src-microservice'), 'client');
    assert.equal(JSON.parse(headers.get('x-cse-context') ?? '{}')['x-cse-src-microservice'], 'client');
    assert.ok(headers.get('x-forwarded-for'), 'x-forwarded-for is set');

    const viaCurl = await curlViaProxy(consumer.addresses.outbound.port, 'http://server2/hello');
    assert.deepEqual(viaCurl, { status: 200, body: 'app' });
  });

  test('(2) through a CONNECT tunnel (undici ProxyAgent default): the balancer picks the instance', {
    timeout: 60_000,
  }, async () => {
    const res = await request('http://server2/tunnelled', {
      dispatcher: tunnel,
      headers: { 'x-test-echo': '1' },
    });
    assert.equal(res.statusCode, 200);
    const echo = (await res.body.json()) as { id: string; url: string };
    assert.deepEqual([echo.id, echo.url], ['app', '/tunnelled']);
  });

  test('(3) a consumer without a sidecar finds the provider sidecar in the registry and calls it', {
    timeout: 60_000,
  }, async () => {
    const found = await request(
      `${registry.url}/v4/default/registry/instances?appId=default&serviceName=server2`,
    );
    assert.equal(found.statusCode, 200);
    const { instances } = (await found.body.json()) as { instances: Array<{ endpoints: string[] }> };
    assert.equal(instances.length, 1);
    const endpoint = instances[0]!.endpoints[0]!;
    assert.match(endpoint, /^rest:\/\/127\.0\.0\.2:\d+$/);
    const res = await request(`http://${endpoint.slice('rest://'.length)}/direct`, {
      headers: { 'x-test-echo': '1' },
    });
    assert.equal(res.statusCode, 200);
    const echo = (await res.body.json()) as { url: string };
    assert.equal(echo.url, '/direct');
  });

  test('the wired sidecar serves Prometheus text on /metrics (scrapeable, not JSON)', {
    timeout: 60_000,
  }, async () => {
    await (await request('http://server2/m', { dispatcher: proxy })).body.text();
    const admin = consumer.addresses.admin!;
    for (const path of ['/metrics', '/v1/mesher/metrics']) {
      const res = await request(`http://127.0.0.1:${admin.port}${path}`);
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      const text = await res.body.text();
      assert.match(text, /^# HELP /m);
      const line = text
        .split('\n')
        .find((l) => l.startsWith('mesher_requests_total{') && l.includes('destination_service="server2"'));
      assert.ok(line, `a request counter for server2 in:\n${text.slice(0, 2000)}`);
      assert.ok(Number(line.split(' ').at(-1)) >= 1, line);
    }
  });

  test('an unknown service is a 404 SERVICE_NOT_FOUND from the proxy, told apart from upstream answers', {
    timeout: 60_000,
  }, async () => {
    const res = await curlViaProxy(consumer.addresses.outbound.port, 'http://nosuchservice/x', []);
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body), {
      code: 'SERVICE_NOT_FOUND',
      message: 'No service of that name is known to the registry',
      service: 'nosuchservice',
    });
    const upstream404 = await request('http://server2/x', {
      dispatcher: proxy,
      headers: { 'x-test-status': '404' },
    });
    assert.equal(upstream404.statusCode, 404);
    assert.equal(upstream404.headers['x-mesher-error'], undefined);
    await upstream404.body.text();
  });
});
