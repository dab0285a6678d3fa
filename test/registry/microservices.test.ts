/** Microservices, existence, properties, tags and schemas over real sockets. */
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

test('create: deterministic 40-char id, idempotent for the same key, 400010 for a conflicting id', {
  timeout: 60_000,
}, async () => {
  const sid = await createService(c, { appId: 'app', serviceName: 'svc', version: '1.0.0' });
  assert.equal(sid, 'cbbf0621a10897f321effe10b69277aee81fd276');
  assert.equal(await createService(c, { appId: 'app', serviceName: 'svc', version: '1.0.0' }), sid);
  assert.equal(
    await createService(c, { serviceId: sid, appId: 'app', serviceName: 'svc', version: '1.0.0' }),
    sid,
  );
  const r = await c('POST', MS, {
    body: { service: { serviceId: 'other', appId: 'app', serviceName: 'svc', version: '1.0.0' } },
  });
  assertError(r, '400010');
  const got = await c('GET', `${MS}/${sid}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.service.serviceName, 'svc');
  assert.equal(got.json.service.level, 'BACK');
  assert.equal(got.json.service.status, 'UP');
  assert.match(got.json.service.timestamp, /^\d+$/);
  assert.equal(got.headers.get('content-type'), 'application/json; charset=UTF-8');
});

test('create: defaults, explicit id, alias idempotency, tags and instances in the same body', {
  timeout: 60_000,
}, async () => {
  const r = await c('POST', MS, {
    body: {
      service: { serviceId: 'my-id', serviceName: 'aliased', alias: 'app:aliased' },
      tags: { team: 'blue' },
      instances: [{ hostName: 'h', endpoints: ['rest://127.0.0.1:1'] }],
    },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.serviceId, 'my-id');
  const svc = (await c('GET', `${MS}/my-id`)).json.service;
  assert.equal(svc.appId, 'default');
  assert.equal(svc.version, '0.0.1');
  assert.deepEqual((await c('GET', `${MS}/my-id/tags`)).json, { tags: { team: 'blue' } });
  assert.equal((await c('GET', `${MS}/my-id/instances`)).json.instances.length, 1);
  // Same alias+version under another name: the alias index makes it idempotent.
  assert.equal(await createService(c, { serviceName: 'renamed', alias: 'app:aliased' }), 'my-id');
});

test('create: validation names the field', { timeout: 60_000 }, async () => {
  const cases: Array<[unknown, string]> = [
    [{ service: { appId: 'a' } }, 'serviceName'],
    [{ service: { serviceName: '-bad' } }, 'serviceName'],
    [{ service: { serviceName: 'x', version: '1.32768.0' } }, 'version'],
    [{ service: { serviceName: 'x', version: '1.a' } }, 'version'],
    [{ service: { serviceName: 'x', environment: 'staging' } }, 'environment'],
    [{ service: { serviceName: 'x', level: 'TOP' } }, 'level'],
    [{ service: { serviceName: 'x', description: 'd'.repeat(257) } }, 'description'],
    [{ service: { serviceName: 'x', schemas: ['bad id'] } }, 'schemas'],
    [{ service: { serviceName: 'x', properties: { a: 1 } } }, 'properties'],
    [{ service: { serviceName: 'x', registerBy: 'ME' } }, 'registerBy'],
  ];
  for (const [body, field] of cases) assertError(await c('POST', MS, { body }), '400001', field);
  assertError(await c('POST', MS, { raw: '{"service":' }), '400001', 'Unmarshal error');
  assertError(await c('POST', MS, { body: {} }), '400001', 'Request body is empty');
  assertError(await c('POST', MS, { body: { service: null } }), '400001');
  assert.equal(
    (await c('POST', MS, { body: { service: { serviceName: 'v', version: '32767.32767.32767.32767' } } }))
      .status,
    200,
  );
});

test('list: {} for an unknown tenant, SERVICECENTER only withShared', { timeout: 60_000 }, async () => {
  const r = await c('GET', MS, { headers: { 'X-Domain-Name': 'nobody' } });
  assert.equal(r.status, 200);
  assert.equal(r.text, '{}');
  const names = (await c('GET', MS)).json.services.map((s: { serviceName: string }) => s.serviceName);
  assert.ok(!names.includes('SERVICECENTER'));
  const shared = (await c('GET', `${MS}?withShared=true`)).json.services.map(
    (s: { serviceName: string }) => s.serviceName,
  );
  assert.ok(shared.includes('SERVICECENTER'));
  assertError(await c('GET', `${MS}?withShared=maybe`), '400001', 'withShared');
});

test('tenancy: X-Domain-Name and project partition data', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { serviceName: 'tenanted' }, { 'X-Domain-Name': 'd1' });
  assert.equal((await c('GET', `${MS}/${sid}`, { headers: { 'X-Domain-Name': 'd1' } })).status, 200);
  assertError(await c('GET', `${MS}/${sid}`), '400012');
  assertError(
    await c('GET', `/v4/p2/registry/microservices/${sid}`, { headers: { 'X-Domain-Name': 'd1' } }),
    '400012',
  );
  assertError(await c('GET', MS, { headers: { 'X-Domain-Name': 'bad/domain' } }), '400001', 'X-Domain-Name');
});

test('delete: force rules, instances, consumers, bad force, unknown, the registry itself', {
  timeout: 60_000,
}, async () => {
  const prov = await createService(c, { appId: 'del', serviceName: 'prov' });
  const cons = await createService(c, { appId: 'del', serviceName: 'cons' });
  await registerInstance(c, prov, { hostName: 'h' });
  assertError(await c('DELETE', `${MS}/${prov}?force=maybe`), '400001', 'force');
  assertError(await c('DELETE', `${MS}/${prov}`), '400013');
  // consumer finds provider → dependency
  assert.equal(
    (
      await c('GET', '/v4/default/registry/instances?appId=del&serviceName=prov', {
        headers: { 'X-ConsumerId': cons },
      })
    ).status,
    200,
  );
  assertError(await c('DELETE', `${MS}/${prov}?force=false`), '400023');
  const ok = await c('DELETE', `${MS}/${prov}?force=true`);
  assert.equal(ok.status, 200);
  assert.equal(ok.text, '');
  assert.equal(ok.headers.get('content-type'), 'text/plain; charset=UTF-8');
  assertError(await c('GET', `${MS}/${prov}`), '400012');
  assertError(await c('DELETE', `${MS}/${prov}`), '400012');
  assertError(await c('DELETE', `${MS}/${'x'.repeat(65)}`), '400001', 'serviceId');
  const self = c.server.context.self!.serviceId;
  assertError(await c('DELETE', `${MS}/${self}?force=1`), '400001');
  // the service could be re-created afterwards (index, alias and rules are gone)
  assert.equal(await createService(c, { appId: 'del', serviceName: 'prov' }), prov);
});

test('batch delete reports each id', { timeout: 60_000 }, async () => {
  const a = await createService(c, { serviceName: 'batch-a' });
  const r = await c('DELETE', MS, { body: { serviceIds: [a, 'missing'], force: true } });
  assert.equal(r.status, 200);
  assert.equal(r.json.services.length, 2);
  assert.equal(r.json.services[0].errMessage, undefined);
  assert.ok(r.json.services[1].errMessage);
  assertError(await c('DELETE', MS, { body: { serviceIds: [] } }), '400001', 'serviceIds');
});

test('properties replace the whole map and bump modTimestamp; 3 KB limit', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { serviceName: 'props', properties: { a: '1', b: '2' } });
  c.clock.advance(5_000);
  const r = await c('PUT', `${MS}/${sid}/properties`, { body: { properties: { c: '3' } } });
  assert.equal(r.status, 200);
  const svc = (await c('GET', `${MS}/${sid}`)).json.service;
  assert.deepEqual(svc.properties, { c: '3' });
  assert.notEqual(svc.modTimestamp, svc.timestamp);
  await c('PUT', `${MS}/${sid}/properties`, { body: {} });
  assert.equal((await c('GET', `${MS}/${sid}`)).json.service.properties, undefined);
  const big = await c('PUT', `${MS}/${sid}/properties`, { body: { properties: { x: 'y'.repeat(4000) } } });
  assert.equal(big.status, 413);
  assert.equal(big.json.errorCode, '413001');
  assertError(await c('PUT', `${MS}/nope/properties`, { body: { properties: {} } }), '400012');
});

test('existence: microservice (400012 / 400026), schema, and unknown type', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { appId: 'ex', serviceName: 'e1', version: '1.0.0', alias: 'ex:alias' });
  const base = '/v4/default/registry/existence';
  const r = await c('GET', `${base}?type=microservice&appId=ex&serviceName=e1&version=1.0.0`);
  assert.deepEqual(r.json, { serviceId: sid });
  assert.deepEqual(
    (await c('GET', `${base}?type=microservice&appId=ex&serviceName=ex:alias&version=1.0.0`)).json,
    {
      serviceId: sid,
    },
  );
  assertError(await c('GET', `${base}?type=microservice&appId=ex&serviceName=e1&version=2.0.0`), '400026');
  assertError(await c('GET', `${base}?type=microservice&appId=ex&serviceName=none&version=1.0.0`), '400012');
  assertError(
    await c('GET', `${base}?type=microservice&appId=ex&serviceName=e1&version=latest`),
    '400001',
    'version',
  );
  assertError(await c('GET', `${base}?type=nothing`), '400001', 'Only micro-service and schema');
  assertError(await c('GET', `${base}?type=schema&serviceId=${sid}&schemaId=s1`), '400016');
  await c('PUT', `${MS}/${sid}/schemas/s1`, { body: { schema: 'openapi: 3', summary: 'abc' } });
  const s = await c('GET', `${base}?type=schema&serviceId=${sid}&schemaId=s1`);
  assert.deepEqual(s.json, { serviceId: sid, schemaId: 's1' });
  assert.equal(s.headers.get('x-schema-summary'), 'abc');
});

test('tags: replace, get, update one, delete all-or-nothing', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { serviceName: 'tagged' });
  assert.equal((await c('GET', `${MS}/${sid}/tags`)).text, '{}');
  assert.equal((await c('POST', `${MS}/${sid}/tags`, { body: { tags: { a: 'x', b: 'y' } } })).status, 200);
  assert.equal((await c('POST', `${MS}/${sid}/tags`, { body: { tags: { a: 'x1', c: 'z' } } })).status, 200);
  assert.deepEqual((await c('GET', `${MS}/${sid}/tags`)).json, { tags: { a: 'x1', c: 'z' } });
  assert.equal((await c('PUT', `${MS}/${sid}/tags/a?value=x2`)).status, 200);
  assertError(await c('PUT', `${MS}/${sid}/tags/missing?value=v`), '400018');
  assertError(await c('DELETE', `${MS}/${sid}/tags/a,missing`), '400018');
  assert.deepEqual((await c('GET', `${MS}/${sid}/tags`)).json.tags, { a: 'x2', c: 'z' });
  assert.equal((await c('DELETE', `${MS}/${sid}/tags/a,c`)).status, 200);
  assert.equal((await c('GET', `${MS}/${sid}/tags`)).text, '{}');
  assertError(await c('POST', `${MS}/${sid}/tags`, { body: { tags: { '1bad': 'x' } } }), '400001', 'tags');
  assertError(await c('POST', `${MS}/nope/tags`, { body: { tags: {} } }), '400012');
  assertError(await c('GET', `${MS}/nope/tags`), '400012');
});

test('schemas: single put/get/list/delete, batch replace, withSchema', { timeout: 60_000 }, async () => {
  const sid = await createService(c, { serviceName: 'schemed' });
  assert.equal(
    (await c('PUT', `${MS}/${sid}/schemas/hello`, { body: { schema: 'A', summary: 's1' } })).status,
    200,
  );
  const one = await c('GET', `${MS}/${sid}/schemas/hello`);
  assert.deepEqual(one.json, { schema: 'A' });
  assert.equal(one.headers.get('x-schema-summary'), 's1');
  assert.deepEqual((await c('GET', `${MS}/${sid}`)).json.service.schemas, ['hello']);
  assert.deepEqual((await c('GET', `${MS}/${sid}/schemas`)).json, {
    schemas: [{ schemaId: 'hello', summary: 's1' }],
  });
  assert.deepEqual((await c('GET', `${MS}/${sid}/schemas?withSchema=1`)).json.schemas[0].schema, 'A');
  assertError(await c('GET', `${MS}/${sid}/schemas?withSchema=yes`), '400001', 'withSchema');
  const batch = await c('POST', `${MS}/${sid}/schemas`, {
    body: {
      schemas: [
        { schemaId: 'b1', schema: 'B', summary: 'x1' },
        { schemaId: 'b2', schema: 'C', summary: 'x2' },
      ],
    },
  });
  assert.equal(batch.status, 200, batch.text);
  assert.deepEqual((await c('GET', `${MS}/${sid}`)).json.service.schemas, ['b1', 'b2']);
  assertError(await c('GET', `${MS}/${sid}/schemas/hello`), '400016');
  assertError(
    await c('POST', `${MS}/${sid}/schemas`, { body: { schemas: [{ schemaId: 'b1', schema: 'B' }] } }),
    '400001',
    'summary',
  );
  assert.equal((await c('DELETE', `${MS}/${sid}/schemas/b1`)).status, 200);
  assertError(await c('DELETE', `${MS}/${sid}/schemas/b1`), '400016');
  assertError(await c('PUT', `${MS}/${sid}/schemas/-bad-`, { body: { schema: 'x' } }), '400001', 'schemaId');
  assertError(await c('PUT', `${MS}/nope/schemas/s`, { body: { schema: 'x' } }), '400012');
});

test('router: 404 plain text, 405 with Allow, 413 envelope, v3 prefix, version', {
  timeout: 60_000,
}, async () => {
  const nf = await c('GET', '/v4/default/registry/nothing-here');
  assert.equal(nf.status, 404);
  assert.equal(nf.text, '404 page not found');
  const na = await c('PATCH', MS);
  assert.equal(na.status, 405);
  assert.match(na.headers.get('allow') ?? '', /GET/);
  const huge = await c('POST', MS, {
    raw: JSON.stringify({ service: { serviceName: 'x', description: 'y'.repeat(2 * 1024 * 1024) } }),
  });
  assert.equal(huge.status, 413);
  assert.equal(huge.json.errorCode, '413001');
  const v3 = await c('GET', '/registry/v3/microservices', { headers: { 'X-Tenant-Name': 'nobody' } });
  assert.equal(v3.text, '{}');
  assert.equal((await c('GET', '/registry/v3/version')).json.apiVersion, '3.0.0');
  assert.equal((await c('GET', '/v4/default/registry/version')).json.apiVersion, '4.0.0');
  assert.equal((await c('GET', '/version')).status, 200);
});

test('the config center is mounted on the same server and store', { timeout: 60_000 }, async () => {
  const r = await c('POST', '/v1/default/kie/kv', { body: { key: 'timeout', value: '3s' } });
  assert.equal(r.status, 200, r.text);
  const list = await c('GET', '/v1/default/kie/kv?key=timeout');
  assert.equal(list.status, 200, list.text);
  assert.ok(list.text.includes('3s'));
});

test('schema content is stored once per tenant and removed when nothing refers to it', {
  timeout: 60_000,
}, async () => {
  const content = () =>
    c.server.store.range('/cse-sr/ms/schema-content/default/default/').map((kv) => kv.value);
  const a = await createService(c, { serviceName: 'gc-a' });
  const b = await createService(c, { serviceName: 'gc-b' });
  await c('PUT', `${MS}/${a}/schemas/s`, { body: { schema: 'SHARED-GC' } });
  await c('PUT', `${MS}/${b}/schemas/s`, { body: { schema: 'SHARED-GC' } });
  assert.equal(content().filter((v) => v === 'SHARED-GC').length, 1, 'deduplicated by hash');
  await c('PUT', `${MS}/${a}/schemas/s`, { body: { schema: 'ONLY-A-GC' } });
  assert.ok(content().includes('SHARED-GC'), 'b still refers to it');
  await c('DELETE', `${MS}/${b}?force=true`);
  assert.ok(!content().includes('SHARED-GC'), 'collected once unreferenced');
  await c('DELETE', `${MS}/${a}/schemas/s`);
  assert.ok(!content().includes('ONLY-A-GC'));
});
