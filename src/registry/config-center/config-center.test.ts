/**
 * The config center's HTTP API on a real socket: the registry's Router and request handler around
 * `createConfigCenter` routes, over an in-memory (or on-disk) EmbeddedStore.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { type Clock, ManualClock, systemClock } from '../../shared/clock.ts';
import { EmbeddedStore } from '../storage/embedded-store.ts';
import type { ConfigCenter } from './index.ts';
import { serveConfigCenter } from './serve.ts';

interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience
  json: any;
  ms: number;
}

/**
 * Poll (real time) until the config center holds `n` requests. Bounded: a request that never
 * reaches the waiter list fails here with a message instead of hanging the file until the
 * runner's 120 s timeout (which names only the file).
 */
async function waitForWaiters(cc: ConfigCenter, n = 1, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (cc.pendingWaiters < n) {
    if (Date.now() > deadline) {
      throw new Error(
        `config center holds ${cc.pendingWaiters} waiters, expected ${n} within ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Harness {
  url: string;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  cc: ConfigCenter;
  store: EmbeddedStore;
  close(): Promise<void>;
}

const open: Harness[] = [];
after(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function start(opts: { clock?: Clock; dataDir?: string; maxWaiters?: number } = {}): Promise<Harness> {
  const clock = opts.clock ?? new ManualClock();
  const store = await EmbeddedStore.open({ dataDir: opts.dataDir ?? null, clock });
  const srv = await serveConfigCenter({ store, clock, maxWaiters: opts.maxWaiters });
  let closed = false;
  const h: Harness = {
    url: srv.url,
    cc: srv.configCenter,
    store,
    async call(method, path, body, headers = {}) {
      const t0 = performance.now();
      const res = await fetch(`${srv.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return {
        status: res.status,
        headers: res.headers,
        json: text ? JSON.parse(text) : undefined,
        ms: performance.now() - t0,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await srv.close();
      await store.close();
    },
  };
  open.push(h);
  return h;
}

const KV = '/v1/default/kie/kv';

test('create, get, list, update and delete one KV, with X-Kie-Revision on every answer', async () => {
  const h = await start();
  const created = await h.call('POST', KV, {
    key: 'cse.loadbalance.strategy.name',
    value: 'RoundRobin',
    labels: { app: 'default', service: 'server2' },
  });
  assert.equal(created.status, 200);
  const doc = created.json;
  assert.match(doc.id, /^[0-9a-f-]{36}$/);
  assert.equal(doc.value_type, 'text');
  assert.equal(doc.status, 'enabled');
  assert.deepEqual(doc.labels, { app: 'default', service: 'server2' });
  assert.equal(doc.create_revision, doc.update_revision);
  const rev1 = Number(created.headers.get('x-kie-revision'));
  assert.equal(rev1, doc.update_revision);

  const got = await h.call('GET', `${KV}/${doc.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.value, 'RoundRobin');

  const listed = await h.call('GET', `${KV}?key=cse.loadbalance.strategy.name`);
  assert.equal(listed.status, 200);
  assert.equal(listed.json.total, 1);
  assert.equal(listed.json.data[0].id, doc.id);

  const upd = await h.call('PUT', `${KV}/${doc.id}`, { value: 'Random' });
  assert.equal(upd.status, 200);
  assert.equal(upd.json.value, 'Random');
  assert.ok(upd.json.update_revision > doc.update_revision);
  assert.equal(upd.json.create_revision, doc.create_revision);
  assert.ok(Number(upd.headers.get('x-kie-revision')) > rev1);

  const disabled = await h.call('PUT', `${KV}/${doc.id}`, { status: 'disabled' });
  assert.equal(disabled.json.status, 'disabled');
  assert.equal((await h.call('GET', `${KV}?status=enabled`)).json.total, 0);
  assert.equal((await h.call('GET', `${KV}?status=disabled`)).json.total, 1);

  const del = await h.call('DELETE', `${KV}/${doc.id}`);
  assert.equal(del.status, 204);
  const gone = await h.call('GET', `${KV}/${doc.id}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.json.error_code, 404001);
  assert.equal((await h.call('DELETE', `${KV}/${doc.id}`)).status, 404);
  assert.equal((await h.call('PUT', `${KV}/${doc.id}`, { value: 'x' })).status, 404);
});

test('key + labels are unique: a duplicate is 409, the same key with other labels is another KV', async () => {
  const h = await start();
  const body = { key: 'timeout', value: '1s', labels: { app: 'a', service: 's' } };
  assert.equal((await h.call('POST', KV, body)).status, 200);
  const dup = await h.call('POST', KV, { ...body, value: '2s', labels: { service: 's', app: 'a' } });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error_code, 409001);
  assert.match(dup.json.error_msg, /timeout/);
  assert.equal((await h.call('POST', KV, { ...body, labels: { app: 'a' } })).status, 200);
  assert.equal((await h.call('POST', KV, { ...body, labels: {} })).status, 200);
  assert.equal((await h.call('GET', `${KV}?key=timeout`)).json.total, 3);
});

test('label matching: partial (Kie default), exact (go-archaius) and applicable (sidecars)', async () => {
  const h = await start();
  const mk = (labels: Record<string, string>) =>
    h.call('POST', KV, { key: 'k', value: JSON.stringify(labels), labels });
  await mk({});
  await mk({ app: 'shop' });
  await mk({ app: 'shop', service: 'cart' });
  await mk({ app: 'shop', service: 'cart', version: '2.0.0' });
  await mk({ app: 'shop', service: 'pay' });
  const values = async (q: string) =>
    ((await h.call('GET', `${KV}?${q}`)).json.data as Array<{ labels: object }>).map((d) =>
      Object.keys(d.labels).sort().join('+'),
    );
  // Sorted by key, then by canonical labels.
  assert.deepEqual(await values('label=app:shop'), [
    'app',
    'app+service',
    'app+service+version',
    'app+service',
  ]);
  assert.deepEqual(await values('label=app:shop&label=service:cart&match=exact'), ['app+service']);
  // go-archaius sends an empty environment label: it means "no environment".
  assert.deepEqual(await values('label=app:shop&label=environment:&match=exact&revision=-1'), ['app']);
  const applicable = await h.call(
    'GET',
    `${KV}?label=app:shop&label=service:cart&label=version:1.0.0&label=environment:production&match=applicable`,
  );
  assert.deepEqual(
    applicable.json.data.map((d: { labels: object }) => d.labels),
    [{}, { app: 'shop' }, { app: 'shop', service: 'cart' }],
  );
  // Old clients put several labels in one parameter.
  assert.equal((await h.call('GET', `${KV}?label=app:shop,service:pay&match=exact`)).json.total, 1);
  assert.equal((await h.call('GET', `${KV}?key=beginWith(k)&limit=2&offset=1`)).json.data.length, 2);
});

test('revision: the same revision answers 304, a newer one 200', async () => {
  const h = await start();
  await h.call('POST', KV, { key: 'a', value: '1' });
  const first = await h.call('GET', KV);
  const rev = first.headers.get('x-kie-revision');
  const same = await h.call('GET', `${KV}?revision=${rev}`);
  assert.equal(same.status, 304);
  assert.equal(same.headers.get('x-kie-revision'), rev);
  await h.call('POST', KV, { key: 'b', value: '2' });
  const changed = await h.call('GET', `${KV}?revision=${rev}`);
  assert.equal(changed.status, 200);
  assert.equal(changed.json.total, 2);
  assert.ok(Number(changed.headers.get('x-kie-revision')) > Number(rev));
});

test('long poll: a held list wakes on a matching change (not at its 20 s wait) and ignores others', async () => {
  const h = await start({ clock: systemClock });
  await h.call('POST', KV, { key: 'x', value: '1', labels: { app: 'shop', service: 'cart' } });
  const rev = (await h.call('GET', KV)).headers.get('x-kie-revision');
  const held = h.call(
    'GET',
    `${KV}?label=app:shop&label=service:cart&match=applicable&revision=${rev}&wait=20s`,
  );
  await waitForWaiters(h.cc);
  // A change the waiter does not match leaves it waiting.
  await h.call('POST', KV, { key: 'y', value: '1', labels: { app: 'other' } });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.cc.pendingWaiters, 1);
  const t0 = performance.now();
  await h.call('POST', KV, { key: 'z', value: 'v', labels: { app: 'shop' } });
  const reply = await held;
  const wokeMs = performance.now() - t0;
  assert.equal(reply.status, 200);
  // Woken by the change, not by the 20 s wait running out (a loaded CI machine can take seconds).
  assert.ok(wokeMs < 10_000, `woke after ${wokeMs} ms`);
  assert.deepEqual(reply.json.data.map((d: { key: string }) => d.key).sort(), ['x', 'z']);
  assert.equal(h.cc.pendingWaiters, 0);
});

test('long poll: no change within wait answers 304 (timer on the injected clock); close releases waiters', async () => {
  const clock = new ManualClock();
  const h = await start({ clock, maxWaiters: 1 });
  const rev = (await h.call('GET', KV)).headers.get('x-kie-revision');
  const held = h.call('GET', `${KV}?revision=${rev}&wait=30s`);
  await waitForWaiters(h.cc);
  // The bound: a second held request is refused with a retryable 503.
  const refused = await h.call('GET', `${KV}?revision=${rev}&wait=30s`);
  assert.equal(refused.status, 503);
  assert.equal(refused.json.error_code, 503001);
  assert.equal(refused.headers.get('retry-after'), '1');
  clock.advance(29_999);
  assert.equal(h.cc.pendingWaiters, 1);
  clock.advance(1);
  assert.equal((await held).status, 304);
  const again = h.call('GET', `${KV}?revision=${rev}&wait=30s`);
  await waitForWaiters(h.cc);
  h.cc.close();
  assert.equal((await again).status, 304);
});

test('durable: KVs, revisions and the uniqueness guard survive reopening the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesher-kie-'));
  try {
    const h1 = await start({ dataDir: dir });
    const a = (
      await h1.call('POST', KV, {
        key: 'servicecomb.routeRule.s2',
        value: '- precedence: 1',
        labels: { app: 'x' },
      })
    ).json;
    const b = (await h1.call('POST', KV, { key: 'k2', value: 'v2' })).json;
    await h1.call('DELETE', `${KV}/${b.id}`);
    const rev = (await h1.call('GET', KV)).headers.get('x-kie-revision');
    await h1.close();

    const h2 = await start({ dataDir: dir });
    const list = await h2.call('GET', KV);
    assert.equal(list.json.total, 1);
    assert.equal(list.json.data[0].id, a.id);
    assert.equal(list.json.data[0].value, '- precedence: 1');
    assert.equal(list.headers.get('x-kie-revision'), rev);
    assert.equal((await h2.call('GET', `${KV}?revision=${rev}`)).status, 304);
    assert.equal(
      (await h2.call('POST', KV, { key: 'servicecomb.routeRule.s2', value: 'y', labels: { app: 'x' } }))
        .status,
      409,
    );
    assert.equal((await h2.call('POST', KV, { key: 'k2', value: 'again' })).status, 200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tenancy: X-Domain-Name and the project each scope the KVs and the revision', async () => {
  const h = await start();
  await h.call('POST', KV, { key: 'k', value: 'default' });
  await h.call('POST', KV, { key: 'k', value: 'other-domain' }, { 'x-domain-name': 'acme' });
  await h.call('POST', '/v1/proj2/kie/kv', { key: 'k', value: 'other-project' });
  const values = async (path: string, headers?: Record<string, string>) =>
    (await h.call('GET', path, undefined, headers)).json.data.map((d: { value: string }) => d.value);
  assert.deepEqual(await values(KV), ['default']);
  assert.deepEqual(await values(KV, { 'x-domain-name': 'acme' }), ['other-domain']);
  assert.deepEqual(await values('/v1/proj2/kie/kv'), ['other-project']);
  const id = (await h.call('GET', KV)).json.data[0].id;
  assert.equal((await h.call('GET', `${KV}/${id}`, undefined, { 'x-domain-name': 'acme' })).status, 404);
});

test('batch delete by ?kvID=a,b and by body {ids}', async () => {
  const h = await start();
  const ids: string[] = [];
  for (const k of ['a', 'b', 'c', 'd']) ids.push((await h.call('POST', KV, { key: k, value: k })).json.id);
  assert.equal((await h.call('DELETE', `${KV}?kvID=${ids[0]},${ids[1]}`)).status, 204);
  assert.equal((await h.call('DELETE', KV, { ids: [ids[2], 'no-such-id'] })).status, 204);
  assert.equal((await h.call('DELETE', `${KV}/?kvID=${ids[3]}`)).status, 204);
  assert.equal((await h.call('GET', KV)).json.total, 0);
  const empty = await h.call('DELETE', KV);
  assert.equal(empty.status, 400);
  assert.match(empty.json.error_msg, /kvID/);
});

test('bad input answers 400 with a message naming the field', async () => {
  const h = await start();
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['POST', KV, { value: 'v' }, /key: is required/],
    ['POST', KV, { key: 'has space', value: 'v' }, /key: 'has space'/],
    ['POST', KV, { key: 'k', value: 42 }, /value: must be a string/],
    ['POST', KV, { key: 'k', value: '{', value_type: 'json' }, /value: is not valid JSON/],
    ['POST', KV, { key: 'k', value: 'a: [', value_type: 'yaml' }, /value: is not valid YAML/],
    ['POST', KV, { key: 'k', value: 'v', value_type: 'toml' }, /value_type: must be one of/],
    ['POST', KV, { key: 'k', value: 'v', labels: ['app'] }, /labels: must be an object/],
    ['POST', KV, { key: 'k', value: 'v', labels: { app: 'a b' } }, /labels.app/],
    ['POST', KV, '{"key":"k","value":"v","labels":{"__proto__":"x"}}', /label name '__proto__' is reserved/],
    ['GET', `${KV}?label=constructor:x`, undefined, /label name 'constructor' is reserved/],
    ['POST', KV, { key: 'k', value: 'v', status: 'on' }, /status: must be one of enabled, disabled/],
    ['POST', KV, { key: 'k', value: 'v', lables: {} }, /lables: unknown field/],
    ['POST', KV, ['k'], /body: must be a JSON object/],
    ['GET', `${KV}?wait=soon`, undefined, /wait: 'soon'/],
    ['GET', `${KV}?match=fuzzy`, undefined, /match: 'fuzzy'/],
    ['GET', `${KV}?label=app`, undefined, /label: 'app' must be name:value/],
    ['GET', `${KV}?revision=abc`, undefined, /revision: 'abc' must be an integer/],
    ['GET', `${KV}?limit=0`, undefined, /limit: must be >= 1/],
    ['GET', `${KV}?status=maybe`, undefined, /status: must be one of/],
  ];
  for (const [method, path, body, re] of cases) {
    const r = await h.call(method, path, body);
    assert.equal(r.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
    assert.equal(r.json.error_code, 400001);
    assert.match(r.json.error_msg, re, `${method} ${path} ${JSON.stringify(body)}`);
  }
  // The go client's always-present "id" and Kie's "priority" are accepted.
  const ok = await h.call('POST', KV, {
    id: '',
    key: 'k',
    value: 'v',
    priority: 0,
    labels: { environment: '' },
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json.labels, {});
  const upd = await h.call('PUT', `${KV}/${ok.json.id}`, {});
  assert.equal(upd.status, 400);
  assert.match(upd.json.error_msg, /nothing to update/);
  const relabel = await h.call('PUT', `${KV}/${ok.json.id}`, { value: 'x', labels: { app: 'z' } });
  assert.equal(relabel.status, 400);
  assert.match(relabel.json.error_msg, /labels: cannot change/);
  // Malformed JSON is refused by the registry's HTTP layer with its own 400 envelope.
  const junk = await h.call('POST', KV, '{nope');
  assert.equal(junk.status, 400);
});

test('property: arbitrary requests get a well-formed answer below 500 and never crash the server', {
  timeout: 60_000,
}, async () => {
  // The real clock: a generated `wait=1ms` must expire on its own (on a ManualClock it would hold
  // the request, and the property, until the file times out).
  const h = await start({ clock: systemClock });
  const id = (await h.call('POST', KV, { key: 'seed', value: 'v', labels: { app: 'a' } })).json.id as string;
  const seg = fc.oneof(fc.constantFrom(id, '', 'x', '%ZZ', '..', 'a b'), fc.string({ maxLength: 12 }));
  const queryPart = fc.tuple(
    fc.constantFrom('key', 'label', 'match', 'status', 'revision', 'wait', 'limit', 'offset', 'kvID', 'x'),
    fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('app:a', '-1', '0', '1ms', 'exact', 'applicable', 'beginWith(s)'),
    ),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    fc.json({ maxDepth: 2 }),
    fc.record({
      key: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
      value: fc.oneof(fc.string({ maxLength: 10 }), fc.constant(null)),
      value_type: fc.constantFrom('text', 'json', 'yaml', 'bad', undefined),
      labels: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })),
        fc.constant('x'),
      ),
      status: fc.constantFrom('enabled', 'disabled', 'x', undefined),
      ids: fc.oneof(fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }), fc.constant(7)),
    }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      fc.boolean(),
      seg,
      fc.array(queryPart, { maxLength: 4 }),
      body,
      async (method, withId, s, q, b) => {
        const qs = q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        // A held long poll would stall the property: keep waits out unless every one is 1 ms (a
        // regex on the query let `wait=1ms&wait=30s` or `wait=1msx` through).
        if (!q.every(([k, v]) => k !== 'wait' || v === '1ms')) return;
        const path = `${KV}${withId ? `/${encodeURIComponent(s)}` : ''}${qs ? `?${qs}` : ''}`;
        const res = await fetch(`${h.url}${path}`, {
          method,
          // Bounded: a request the server holds fails this input (shrunk and reported by
          // fast-check) instead of hanging the file until the runner's timeout.
          signal: AbortSignal.timeout(10_000),
          headers: { 'content-type': 'application/json' },
          body: b === undefined || method === 'GET' ? undefined : JSON.stringify(b),
        });
        const text = await res.text();
        assert.ok(res.status < 500, `${method} ${path} ${JSON.stringify(b)} → ${res.status} ${text}`);
        // The router's own 404/405 are plain text (service-center style); everything else is JSON.
        if (res.status === 405 || (res.status === 404 && text === '404 page not found')) return;
        if (res.status >= 400) {
          const e = JSON.parse(text) as { error_code?: number; errorCode?: string };
          assert.ok(e.error_code !== undefined || e.errorCode !== undefined, text);
        }
      },
    ),
    { numRuns: 300 },
  );
});
