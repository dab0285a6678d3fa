/**
 * Helpers shared by the etcd integration suites (test/integration/etcd-*.test.ts): JSON calls to
 * a registry replica, a find, and a steady, bounded traffic loop through a consumer sidecar that
 * counts every failed request.
 */
import { type Dispatcher, ProxyAgent, request } from 'undici';
import type { Sidecar } from '../../src/sidecar/main.ts';

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience for deep property access
  json: any;
}

/** One v4 call with a JSON body; never throws on HTTP status. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

/** Instances of `name` as the replica at `base` serves them (empty on any error). */
export async function instancesOn(base: string, name: string): Promise<Array<{ instanceId: string }>> {
  try {
    const r = await call(base, 'GET', `/v4/default/registry/instances?appId=default&serviceName=${name}`);
    return r.status === 200 ? (r.json?.instances ?? []) : [];
  } catch {
    return [];
  }
}

export interface Traffic {
  readonly ok: number;
  readonly failed: number;
  /** The first few failures, for the assertion message. */
  readonly errors: string[];
  /** Stop sending and wait for the requests in flight. */
  stop(): Promise<void>;
}

/**
 * `concurrency` loops of sequential GETs to `url` through `sidecar`'s outbound proxy, each with a
 * short pause, until stop(). Bounded: at most `concurrency` requests in flight.
 */
export function startTraffic(sidecar: Sidecar, url: string, concurrency = 4, pauseMs = 20): Traffic {
  const proxy: Dispatcher = new ProxyAgent({
    uri: `http://127.0.0.1:${sidecar.addresses.outbound.port}`,
    proxyTunnel: false,
  });
  let running = true;
  const t = { ok: 0, failed: 0, errors: [] as string[] };
  const fail = (why: string) => {
    t.failed++;
    if (t.errors.length < 10) t.errors.push(why);
  };
  const loop = async () => {
    while (running) {
      try {
        const res = await request(url, { dispatcher: proxy, headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.text();
        if (res.statusCode === 200) t.ok++;
        else fail(`${res.statusCode} ${String(res.headers['x-mesher-error'] ?? '')}`);
      } catch (err) {
        fail((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    get ok() {
      return t.ok;
    },
    get failed() {
      return t.failed;
    },
    get errors() {
      return t.errors;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      await proxy.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * POST a new microservice named `name` to `base` until it answers 200, for at most `withinMs`.
 * Only 500011 (etcd cannot take writes right now: an election in progress on a busy machine) is
 * retried, as a registry client would; any other answer fails at once. Returns the answer and how
 * many 500011 answers came first.
 */
export async function writeWithin(
  base: string,
  name: string,
  withinMs = 15_000,
): Promise<{ reply: Reply; unavailable: number }> {
  const until = Date.now() + withinMs;
  let unavailable = 0;
  for (;;) {
    const reply = await call(base, 'POST', '/v4/default/registry/microservices', {
      service: { serviceName: name, version: '1.0.0' },
    });
    if (reply.status !== 500 || reply.json?.errorCode !== '500011' || Date.now() >= until)
      return { reply, unavailable };
    unavailable++;
    await sleep(250);
  }
}
