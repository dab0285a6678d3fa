/** WebSocket watcher events and lease expiry driven by a ManualClock (no sleeping). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import {
  assertError,
  type Client,
  createService,
  MS,
  registerInstance,
  startTestRegistry,
} from './support.ts';

let c: Client;
const sockets: WebSocket[] = [];
before(async () => {
  c = await startTestRegistry();
});
after(async () => {
  for (const ws of sockets) ws.terminate();
  await c.server.close();
});

interface Event {
  action: string;
  key: { serviceName: string; appId: string; tenant: string; version: string };
  instance: { instanceId: string; status: string };
}

/** Open a watcher and collect its messages; `next()` resolves with the next one. */
async function watch(consumerId: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`${c.server.url.replace('http', 'ws')}${MS}/${consumerId}/watcher`, { headers });
  sockets.push(ws);
  const queue: string[] = [];
  const waiters: Array<(m: string) => void> = [];
  ws.on('message', (d) => {
    const m = String(d);
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (timeoutMs = 5_000) =>
    new Promise<string>((resolve, reject) => {
      const m = queue.shift();
      if (m !== undefined) return resolve(m);
      const t = setTimeout(() => reject(new Error('no message')), timeoutMs);
      waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  return { ws, next: async () => JSON.parse(await next()) as Event, nextText: next, queue };
}

test('watcher pushes CREATE, UPDATE and DELETE for the providers the consumer depends on', {
  timeout: 60_000,
}, async () => {
  const prov = await createService(c, { appId: 'w', serviceName: 'prov', version: '1.0.0' });
  const unrelated = await createService(c, { appId: 'w', serviceName: 'unrelated' });
  const cons = await createService(c, { appId: 'w', serviceName: 'cons' });
  await c('GET', '/v4/default/registry/instances?appId=w&serviceName=prov', {
    headers: { 'X-ConsumerId': cons },
  });
  // ws sends the 101 and subscribes in the same tick, so 'open' means subscribed.
  const w = await watch(cons);
  await registerInstance(c, unrelated, { hostName: 'u' });
  const iid = await registerInstance(c, prov, { hostName: 'h' });
  const created = await w.next();
  assert.equal(created.action, 'CREATE');
  assert.equal(created.instance.instanceId, iid);
  assert.deepEqual(created.key, {
    tenant: 'default/default',
    appId: 'w',
    serviceName: 'prov',
    version: '1.0.0',
  });
  await c('PUT', `${MS}/${prov}/instances/${iid}/status?value=DOWN`);
  const updated = await w.next();
  assert.equal(updated.action, 'UPDATE');
  assert.equal(updated.instance.status, 'DOWN');
  await c('DELETE', `${MS}/${prov}/instances/${iid}`);
  const deleted = await w.next();
  assert.equal(deleted.action, 'DELETE');
  assert.equal(deleted.instance.instanceId, iid);
  assert.equal(w.queue.length, 0, 'nothing about the unrelated service');
});

test('lease expiry on the clock removes the instance and pushes DELETE; heartbeats postpone it', {
  timeout: 60_000,
}, async () => {
  const prov = await createService(c, { appId: 'lease', serviceName: 'prov' });
  const cons = await createService(c, { appId: 'lease', serviceName: 'cons' });
  await c('GET', '/v4/default/registry/instances?appId=lease&serviceName=prov', {
    headers: { 'X-ConsumerId': cons },
  });
  const w = await watch(cons);
  // interval 10 s × (times 3 + 1) = 40 s TTL
  const iid = await registerInstance(c, prov, {
    hostName: 'h',
    healthCheck: { mode: 'push', interval: 10, times: 3 },
  });
  assert.equal((await w.next()).action, 'CREATE');
  c.clock.advance(30_000);
  assert.equal((await c('PUT', `${MS}/${prov}/instances/${iid}/heartbeat`)).status, 200);
  c.clock.advance(30_000); // 60 s since registration, 30 s since the heartbeat
  assert.equal((await c('GET', `${MS}/${prov}/instances/${iid}`)).status, 200);
  c.clock.advance(11_000); // 41 s since the heartbeat
  const gone = await w.next();
  assert.equal(gone.action, 'DELETE');
  assert.equal(gone.instance.instanceId, iid);
  assertError(await c('GET', `${MS}/${prov}/instances/${iid}`), '400017');
  assertError(await c('PUT', `${MS}/${prov}/instances/${iid}/heartbeat`), '400017');
  // the registry keeps its own SERVICECENTER instance alive on the same clock
  assert.equal((await c('GET', '/v4/default/registry/health')).json.instances.length, 1);
});

test('watcher: unknown consumer gets one text frame and a close; plain GET is 400 text', {
  timeout: 60_000,
}, async () => {
  const w = await watch('no-such-service');
  assert.equal(await w.nextText(), 'service does not exist');
  await new Promise((r) => w.ws.once('close', r));
  const plain = await c('GET', `${MS}/whatever/watcher`);
  assert.equal(plain.status, 400);
  assert.equal(plain.text, 'Bad Request');
});

test('watcher: a client frame over 64 bytes closes the socket; tenants are isolated', {
  timeout: 60_000,
}, async () => {
  const cons = await createService(c, { appId: 't', serviceName: 'cons' }, { 'X-Domain-Name': 'other' });
  const w = await watch(cons, { 'X-Domain-Name': 'other' });
  const closed = new Promise<number>((r) => w.ws.once('close', (code) => r(code)));
  w.ws.send('x'.repeat(100));
  assert.equal(await closed, 1009);
});

test('WebSocket heartbeat: unknown instance is closed with 4001; pongs renew the lease', {
  timeout: 60_000,
}, async () => {
  const url = `${c.server.url.replace('http', 'ws')}${MS}`;
  const bad = new WebSocket(`${url}/x/instances/y/heartbeat`);
  sockets.push(bad);
  const code = await new Promise<number>((r) => bad.once('close', (cd) => r(cd)));
  assert.equal(code, 4001);
  const prov = await createService(c, { appId: 'wsh', serviceName: 'p' });
  const iid = await registerInstance(c, prov, {
    hostName: 'h',
    healthCheck: { mode: 'push', interval: 10, times: 3 },
  });
  const hb = new WebSocket(`${url}/${prov}/instances/${iid}/heartbeat`);
  sockets.push(hb);
  await new Promise((r) => hb.once('open', r));
  const lease = c.server.context.catalog.instance('default/default', prov, iid)!.lease;
  c.clock.advance(30_000);
  hb.ping(); // a client ping counts as a heartbeat too
  await new Promise((r) => hb.once('pong', r));
  assert.equal(c.server.store.leaseTtl(lease)!.remainingMs, 40_000);
  hb.terminate();
});
