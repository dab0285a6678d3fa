/** Instances, heartbeats, discovery (find, batch, rev/304, access rules), dependencies, govern. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertError,
  type Client,
  createService,
  MS,
  registerInstance,
  startTestRegistry,
} from './support.ts';

let c: Client;
before(async () => {
  c = await startTestRegistry();
});
after(() => c.server.close());

const FIND = '/v4/default/registry/instances';

test('register: id generated, version copied, health check normalised; known id renews, data unchanged', {
  timeout: 60_000,
}, async () => {
  const sid = await createService(c, { appId: 'i', serviceName: 'reg', version: '2.0.0' });
  const iid = await registerInstance(c, sid, { hostName: 'h1', endpoints: ['rest://127.0.0.1:1'] });
  assert.match(iid, /^[0-9a-f]{32}$/);
  const got = (await c('GET', `${MS}/${sid}/instances/${iid}`)).json.instance;
  assert.equal(got.version, '2.0.0');
  assert.equal(got.status, 'UP');
  assert.deepEqual(got.healthCheck, { mode: 'push', interval: 30, times: 3 });
  const again = await registerInstance(c, sid, { instanceId: iid, hostName: 'changed' });
  assert.equal(again, iid);
  assert.equal((await c('GET', `${MS}/${sid}/instances/${iid}`)).json.instance.hostName, 'h1');
  const own = await registerInstance(c, sid, {
    instanceId: 'my-inst',
    hostName: 'h2',
    healthCheck: { mode: 'push', interval: 1, times: 0 },
    environment: 'ignored',
  });
  assert.equal(own, 'my-inst');
  const hc = (await c('GET', `${MS}/${sid}/instances/my-inst`)).json.instance.healthCheck;
  assert.deepEqual(hc, { mode: 'push', interval: 5, times: 3 });
  const lease = c.server.context.catalog.instance('default/default', sid, 'my-inst')!.lease;
  assert.equal(c.server.store.leaseTtl(lease)!.ttlMs, 20_000);
  await registerInstance(c, sid, {
    instanceId: 'pull',
    hostName: 'h',
    healthCheck: { mode: 'pull', interval: 1, times: 1 },
  });
  const pl = c.server.context.catalog.instance('default/default', sid, 'pull')!.lease;
  assert.equal(c.server.store.leaseTtl(pl)!.ttlMs, 120_000);
});

test('register: validation and errors', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { appId: 'i', serviceName: 'regerr' });
  const path = `${MS}/${sid}/instances`;
  assertError(await c('POST', path, { body: { instanse: {} } }), '400001', 'instance');
  assertError(await c('POST', path, { raw: 'not json' }), '400001', 'Unmarshal error');
  assertError(await c('POST', path, { body: { instance: {} } }), '400001', 'hostName');
  assertError(
    await c('POST', path, { body: { instance: { hostName: 'h', status: 'SLEEPING' } } }),
    '400001',
    'status',
  );
  assertError(
    await c('POST', path, { body: { instance: { hostName: 'h', instanceId: 'a b' } } }),
    '400001',
    'instanceId',
  );
  assertError(
    await c('POST', path, { body: { instance: { hostName: 'h', endpoints: [' '] } } }),
    '400001',
    'endpoints',
  );
  assertError(
    await c('POST', path, { body: { instance: { hostName: 'h', healthCheck: { mode: 'poll' } } } }),
    '400001',
    'healthCheck.mode',
  );
  assertError(
    await c('POST', path, {
      body: { instance: { hostName: 'h', healthCheck: { mode: 'push', port: 70000 } } },
    }),
    '400001',
    'healthCheck.port',
  );
  assertError(
    await c('POST', path, {
      body: { instance: { hostName: 'h', dataCenterInfo: { name: 'a b', region: 'r', availableZone: 'z' } } },
    }),
    '400001',
    'dataCenterInfo.name',
  );
  assertError(
    await c('POST', `${MS}/unknown/instances`, { body: { instance: { hostName: 'h' } } }),
    '400012',
  );
  const big = await c('POST', path, {
    body: { instance: { hostName: 'h', properties: { x: 'y'.repeat(6000) } } },
  });
  assert.equal(big.status, 413);
  assert.equal(big.json.errorCode, '413001');
});

test('status, properties, heartbeat, deregister', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { appId: 'i', serviceName: 'life' });
  const iid = await registerInstance(c, sid, { hostName: 'h' });
  const base = `${MS}/${sid}/instances/${iid}`;
  assert.equal((await c('PUT', `${base}/status?value=DOWN`)).status, 200);
  assert.equal((await c('GET', base)).json.instance.status, 'DOWN');
  assertError(await c('PUT', `${base}/status?value=SLEEPING`), '400001', 'value');
  assert.equal((await c('GET', base)).json.instance.status, 'DOWN');
  assert.equal((await c('PUT', `${base}/properties`, { body: { properties: { a: '1' } } })).status, 200);
  assert.deepEqual((await c('GET', base)).json.instance.properties, { a: '1' });
  const hb = await c('PUT', `${base}/heartbeat`);
  assert.equal(hb.status, 200);
  assert.equal(hb.text, '');
  assertError(await c('PUT', `${MS}/${sid}/instances/nope/heartbeat`), '400017');
  assertError(await c('PUT', `${MS}/${sid}/instances/${'@'.repeat(3)}/heartbeat`), '400001', 'instanceId');
  assertError(await c('PUT', `${MS}/${sid}/instances/${'a'.repeat(65)}/heartbeat`), '400001', 'instanceId');
  assert.equal((await c('DELETE', base)).status, 200);
  assertError(await c('DELETE', base), '400017');
  assertError(await c('GET', base), '400017');
  assertError(await c('PUT', `${base}/status?value=UP`), '400017');
});

test('batch heartbeats: per-item result, duplicates dropped, empty list rejected', {
  timeout: 60_000,
}, async () => {
  const sid = await createService(c, { appId: 'i', serviceName: 'hbs' });
  const iid = await registerInstance(c, sid, { hostName: 'h' });
  const r = await c('PUT', '/v4/default/registry/heartbeats', {
    body: {
      instances: [
        { serviceId: sid, instanceId: iid },
        { serviceId: sid, instanceId: iid },
        { serviceId: sid, instanceId: 'gone' },
      ],
    },
  });
  assert.equal(r.status, 200);
  assert.equal(r.json.instances.length, 2);
  assert.equal(r.json.instances[0].errMessage, undefined);
  assert.ok(r.json.instances[1].errMessage);
  assertError(await c('PUT', '/v4/default/registry/heartbeats', { body: { instances: [] } }), '400001');
});

test('bulk status by properties (validated)', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { appId: 'i', serviceName: 'bulk' });
  const a = await registerInstance(c, sid, { hostName: 'a', properties: { zone: 'z1' } });
  const b = await registerInstance(c, sid, { hostName: 'b', properties: { zone: 'z2' } });
  const r = await c('PUT', '/v4/default/registry/instances/status', {
    body: { matches: { properties: { zone: 'z1' } }, status: 'DOWN' },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal((await c('GET', `${MS}/${sid}/instances/${a}`)).json.instance.status, 'DOWN');
  assert.equal((await c('GET', `${MS}/${sid}/instances/${b}`)).json.instance.status, 'UP');
  assertError(
    await c('PUT', '/v4/default/registry/instances/status', {
      body: { matches: { properties: { zone: 'z1' } }, status: 'NOPE' },
    }),
    '400001',
    'status',
  );
});

test('find: instances of all versions, rev + 304 via query or header, {} when none, 400012 unknown', {
  timeout: 60_000,
}, async () => {
  const v1 = await createService(c, { appId: 'f', serviceName: 'prov', version: '1.0.0' });
  const v2 = await createService(c, { appId: 'f', serviceName: 'prov', version: '2.0.0' });
  await registerInstance(c, v1, { hostName: 'a' });
  const r = await c('GET', `${FIND}?appId=f&serviceName=prov`);
  assert.equal(r.json.instances.length, 1);
  const rev = r.headers.get('x-resource-revision')!;
  assert.match(rev, /^[0-9a-f]{40}$/);
  const nm = await c('GET', `${FIND}?appId=f&serviceName=prov&rev=${rev}`);
  assert.equal(nm.status, 304);
  assert.equal(nm.text, '');
  assert.equal(nm.headers.get('x-resource-revision'), rev);
  assert.equal(
    (await c('GET', `${FIND}?appId=f&serviceName=prov`, { headers: { 'X-Resource-Revision': rev } })).status,
    304,
  );
  await registerInstance(c, v2, { hostName: 'b' });
  const r2 = await c('GET', `${FIND}?appId=f&serviceName=prov&rev=${rev}`);
  assert.equal(r2.status, 200);
  assert.equal(r2.json.instances.length, 2);
  assert.notEqual(r2.headers.get('x-resource-revision'), rev);
  await createService(c, { appId: 'f', serviceName: 'empty' });
  assert.equal((await c('GET', `${FIND}?appId=f&serviceName=empty`)).text, '{}');
  assertError(await c('GET', `${FIND}?appId=nope&serviceName=prov`), '400012');
  assertError(await c('GET', `${FIND}?serviceName=prov`), '400001', 'appId');
  assertError(await c('GET', `${FIND}?appId=f&serviceName=prov&env=staging`), '400001', 'env');
  assertError(await c('GET', `${FIND}?appId=f&serviceName=prov&tags=1x`), '400001', 'tags');
  assertError(
    await c('GET', `${FIND}?appId=f&serviceName=prov`, { headers: { 'X-ConsumerId': 'nobody' } }),
    '400012',
    'Consumer',
  );
});

test('find: tags filter on keys, alias lookup, env rules, cross-app rules, global SERVICECENTER', {
  timeout: 60_000,
}, async () => {
  const p = await createService(c, {
    appId: 'g',
    serviceName: 'p',
    alias: 'g:p-alias',
    environment: 'testing',
  });
  await registerInstance(c, p, { hostName: 'h' });
  await c('POST', `${MS}/${p}/tags`, { body: { tags: { canary: 'yes' } } });
  assert.equal(
    (await c('GET', `${FIND}?appId=g&serviceName=p&env=testing&tags=canary`)).json.instances.length,
    1,
  );
  assert.equal((await c('GET', `${FIND}?appId=g&serviceName=p&env=testing&tags=other`)).text, '{}');
  assert.equal(
    (await c('GET', `${FIND}?appId=g&serviceName=g:p-alias&env=testing`)).json.instances.length,
    1,
  );
  assertError(await c('GET', `${FIND}?appId=g&serviceName=p`), '400012');
  // consumer env overrides the env query
  const prodConsumer = await createService(c, { appId: 'g', serviceName: 'cp', environment: 'production' });
  assertError(
    await c('GET', `${FIND}?appId=g&serviceName=p&env=testing`, {
      headers: { 'X-ConsumerId': prodConsumer },
    }),
    '400012',
  );
  const testConsumer = await createService(c, { appId: 'g', serviceName: 'ct', environment: 'testing' });
  assert.equal(
    (await c('GET', `${FIND}?appId=g&serviceName=p`, { headers: { 'X-ConsumerId': testConsumer } })).json
      .instances.length,
    1,
  );
  // another app may not see it unless allowCrossApp
  const other = await createService(c, { appId: 'other', serviceName: 'x', environment: 'testing' });
  const denied = await c('GET', `${FIND}?appId=g&serviceName=p`, { headers: { 'X-ConsumerId': other } });
  assert.equal(denied.status, 200);
  assert.equal(denied.text, '{}');
  assertError(await c('GET', `${MS}/${p}/instances`, { headers: { 'X-ConsumerId': other } }), '400012');
  await c('PUT', `${MS}/${p}/properties`, { body: { properties: { allowCrossApp: 'TRUE' } } });
  assert.equal(
    (await c('GET', `${FIND}?appId=g&serviceName=p`, { headers: { 'X-ConsumerId': other } })).json.instances
      .length,
    1,
  );
  // SERVICECENTER is global: visible from any env and app
  const sc = await c('GET', `${FIND}?appId=default&serviceName=SERVICECENTER`, {
    headers: { 'X-ConsumerId': other },
  });
  assert.equal(sc.json.instances.length, 1);
  assert.ok(sc.json.instances[0].endpoints[0].startsWith('rest://127.0.0.1:'));
});

test('find records the dependency synchronously; providers/consumers list it', {
  timeout: 60_000,
}, async () => {
  const p = await createService(c, { appId: 'd', serviceName: 'prov' });
  const cons = await createService(c, { appId: 'd', serviceName: 'cons' });
  assert.equal((await c('GET', `${MS}/${cons}/providers`)).text, '{}');
  await c('GET', `${FIND}?appId=d&serviceName=prov`, { headers: { 'X-ConsumerId': cons } });
  assert.deepEqual(
    (await c('GET', `${MS}/${cons}/providers`)).json.providers.map((s: { serviceId: string }) => s.serviceId),
    [p],
  );
  assert.deepEqual(
    (await c('GET', `${MS}/${p}/consumers`)).json.consumers.map((s: { serviceId: string }) => s.serviceId),
    [cons],
  );
  assertError(await c('GET', `${MS}/nope/providers`), '400012');
  assertError(await c('GET', `${MS}/nope/consumers`), '400012');
});

test('dependencies POST adds, PUT overrides (Deprecation header), unknown consumer 400012', {
  timeout: 60_000,
}, async () => {
  const p1 = await createService(c, { appId: 'dp', serviceName: 'p1' });
  const p2 = await createService(c, { appId: 'dp', serviceName: 'p2' });
  const cons = await createService(c, { appId: 'dp', serviceName: 'c', version: '1.0.0' });
  const consumer = { appId: 'dp', serviceName: 'c', version: '1.0.0' };
  const r = await c('POST', '/v4/default/registry/dependencies', {
    body: { dependencies: [{ consumer, providers: [{ appId: 'dp', serviceName: 'p1' }] }] },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('deprecation'), 'version="v4"');
  await c('POST', '/v4/default/registry/dependencies', {
    body: { dependencies: [{ consumer, providers: [{ appId: 'dp', serviceName: 'p2' }] }] },
  });
  const ids = async () =>
    ((await c('GET', `${MS}/${cons}/providers`)).json.providers ?? [])
      .map((s: { serviceId: string }) => s.serviceId)
      .sort();
  assert.deepEqual(await ids(), [p1, p2].sort());
  await c('PUT', '/v4/default/registry/dependencies', {
    body: { dependencies: [{ consumer, providers: [{ appId: 'dp', serviceName: 'p2' }] }] },
  });
  assert.deepEqual(await ids(), [p2]);
  await c('PUT', '/v4/default/registry/dependencies', {
    body: { dependencies: [{ consumer, providers: [] }] },
  });
  assert.deepEqual(await ids(), []);
  assertError(
    await c('POST', '/v4/default/registry/dependencies', {
      body: { dependencies: [{ consumer, providers: [] }] },
    }),
    '400001',
    'providers',
  );
  assertError(
    await c('POST', '/v4/default/registry/dependencies', {
      body: {
        dependencies: [
          {
            consumer: { ...consumer, serviceName: 'ghost' },
            providers: [{ appId: 'dp', serviceName: 'p1' }],
          },
        ],
      },
    }),
    '400012',
  );
  assertError(
    await c('POST', '/v4/default/registry/dependencies', { body: { dependencies: [] } }),
    '400001',
    'dependencies',
  );
});

test('batch find: updated / notModified / failed groups, instance items', { timeout: 60_000 }, async () => {
  const p = await createService(c, { appId: 'b', serviceName: 'p' });
  const iid = await registerInstance(c, p, { hostName: 'h' });
  const url = '/v4/default/registry/instances/action?type=query';
  const first = await c('POST', url, { body: { services: [{ service: { appId: 'b', serviceName: 'p' } }] } });
  assert.equal(first.status, 200, first.text);
  const rev = first.json.services.updated[0].rev;
  const r = await c('POST', url, {
    body: {
      services: [
        { service: { appId: 'b', serviceName: 'p' }, rev },
        { service: { appId: 'b', serviceName: 'missing' } },
        { service: { appId: 'b', serviceName: 'p' } },
      ],
      instances: [
        { instance: { serviceId: p, instanceId: iid } },
        { instance: { serviceId: p, instanceId: 'x' } },
      ],
    },
  });
  assert.deepEqual(r.json.services.notModified, [0]);
  assert.equal(r.json.services.updated[0].index, 2);
  assert.deepEqual(r.json.services.failed[0].indexes, [1]);
  assert.equal(r.json.services.failed[0].error.errorCode, '400012');
  assert.equal(r.json.instances.updated[0].instances[0].instanceId, iid);
  assert.equal(r.json.instances.failed[0].error.errorCode, '400017');
  assertError(
    await c('POST', '/v4/default/registry/instances/action?type=get', { body: {} }),
    '400001',
    'Invalid action',
  );
  assertError(await c('POST', url, { body: {} }), '400001', 'Required services or instances');
  assertError(
    await c('POST', url, { body: { services: [{ service: { appId: 'b' } }] } }),
    '400001',
    'serviceName',
  );
});

test('list and get-one with X-ConsumerId; list does not record a dependency', {
  timeout: 60_000,
}, async () => {
  const p = await createService(c, { appId: 'l', serviceName: 'p' });
  const cons = await createService(c, { appId: 'l', serviceName: 'c' });
  const iid = await registerInstance(c, p, { hostName: 'h' });
  const r = await c('GET', `${MS}/${p}/instances`, { headers: { 'X-ConsumerId': cons } });
  assert.equal(r.json.instances.length, 1);
  const rev = r.headers.get('x-resource-revision');
  assert.equal((await c('GET', `${MS}/${p}/instances?rev=${rev}`)).status, 304);
  const one = await c('GET', `${MS}/${p}/instances/${iid}`, { headers: { 'X-ConsumerId': cons } });
  assert.equal(one.json.instance.instanceId, iid);
  assert.equal(
    (await c('GET', `${MS}/${p}/instances/${iid}?rev=${one.headers.get('x-resource-revision')}`)).status,
    304,
  );
  assert.equal((await c('GET', `${MS}/${cons}/providers`)).text, '{}');
  assertError(await c('GET', `${MS}/nope/instances`), '400012');
  assertError(await c('GET', `${MS}/${p}/instances`, { headers: { 'X-ConsumerId': 'ghost' } }), '400012');
});

test('health lists the registry itself; govern views', { timeout: 60_000 }, async () => {
  const h = await c('GET', '/v4/default/registry/health');
  assert.equal(h.json.instances.length, 1);
  assert.equal((await c('GET', '/health')).json.instances.length, 1);
  const p = await createService(c, { appId: 'gv', serviceName: 'p' });
  const cons = await createService(c, { appId: 'gv', serviceName: 'c' });
  await registerInstance(c, p, { hostName: 'h' });
  await c('GET', `${FIND}?appId=gv&serviceName=p`, { headers: { 'X-ConsumerId': cons } });
  const one = (await c('GET', `/v4/default/govern/microservices/${p}`)).json.service;
  assert.equal(one.microService.serviceId, p);
  assert.equal(one.instances.length, 1);
  assert.equal(one.consumers[0].serviceId, cons);
  const all = (await c('GET', '/v4/default/govern/microservices?appId=gv')).json;
  assert.equal(all.allServicesDetail.length, 2);
  assert.equal(all.statistics.services.count, 2);
  const rel = (await c('GET', '/v4/default/govern/relations')).json;
  assert.ok(
    rel.lines.some((l: { from: { id: string }; to: { id: string } }) => l.from.id === cons && l.to.id === p),
  );
  assert.ok((await c('GET', '/v4/default/govern/apps')).json.appIds.includes('gv'));
  assert.equal(
    (await c('GET', '/v4/default/govern/apps', { headers: { 'X-Domain-Name': 'empty' } })).text,
    '{}',
  );
  assertError(await c('GET', '/v4/default/govern/microservices/nope'), '400012');
});
