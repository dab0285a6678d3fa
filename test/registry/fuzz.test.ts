/**
 * Property-based robustness: random methods, paths (built from the real route shapes with random
 * segments), queries, headers and bodies. Every answer must be well-formed — a JSON object (error
 * envelopes with a string errorCode and status = code/1000), an empty 200/304, `404 page not
 * found`, or 405 with Allow — and never a 5xx. The process must survive it all.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type Client, createService, registerInstance, startTestRegistry } from './support.ts';

let c: Client;
let sid = '';
let iid = '';
before(async () => {
  c = await startTestRegistry();
  sid = await createService(c, { appId: 'fz', serviceName: 'target', schemas: ['s1'] });
  iid = await registerInstance(c, sid, { hostName: 'h' });
});
after(() => c.server.close());

const TEMPLATES: Array<[string, string[]]> = [
  ['/v4/{p}/registry/microservices', ['GET', 'POST', 'DELETE']],
  ['/v4/{p}/registry/microservices/{id}', ['GET', 'DELETE']],
  ['/v4/{p}/registry/microservices/{id}/properties', ['PUT']],
  ['/v4/{p}/registry/microservices/{id}/tags', ['GET', 'POST']],
  ['/v4/{p}/registry/microservices/{id}/tags/{x}', ['PUT', 'DELETE']],
  ['/v4/{p}/registry/microservices/{id}/schemas', ['GET', 'POST']],
  ['/v4/{p}/registry/microservices/{id}/schemas/{x}', ['GET', 'PUT', 'DELETE']],
  ['/v4/{p}/registry/microservices/{id}/instances', ['GET', 'POST']],
  ['/v4/{p}/registry/microservices/{id}/instances/{iid}', ['GET', 'DELETE']],
  ['/v4/{p}/registry/microservices/{id}/instances/{iid}/heartbeat', ['PUT', 'GET']],
  ['/v4/{p}/registry/microservices/{id}/instances/{iid}/status', ['PUT']],
  ['/v4/{p}/registry/microservices/{id}/instances/{iid}/properties', ['PUT']],
  ['/v4/{p}/registry/microservices/{id}/providers', ['GET']],
  ['/v4/{p}/registry/microservices/{id}/consumers', ['GET']],
  ['/v4/{p}/registry/microservices/{id}/watcher', ['GET']],
  ['/v4/{p}/registry/existence', ['GET']],
  ['/v4/{p}/registry/instances', ['GET']],
  ['/v4/{p}/registry/instances/action', ['POST']],
  ['/v4/{p}/registry/instances/status', ['PUT']],
  ['/v4/{p}/registry/heartbeats', ['PUT']],
  ['/v4/{p}/registry/dependencies', ['POST', 'PUT']],
  ['/v4/{p}/registry/health', ['GET']],
  ['/v4/{p}/registry/version', ['GET']],
  ['/v4/{p}/govern/microservices', ['GET']],
  ['/v4/{p}/govern/microservices/{id}', ['GET']],
  ['/v4/{p}/govern/relations', ['GET']],
  ['/v4/{p}/govern/apps', ['GET']],
  ['/registry/v3/microservices/{id}', ['GET']],
  ['/{x}', ['GET']],
  ['/v4/{x}/{x}', ['GET']],
];

const weird = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.constantFrom('', ' ', '%', '..', 'a b', '\u0000', 'é', 'x'.repeat(300), '@', 'true', '-1', '{}'),
);
const segment = () => fc.oneof(fc.constantFrom(sid, iid, 'default', 's1', 'a'), weird);

const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1, Number.MAX_VALUE, ''),
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom(
        'service',
        'instance',
        'serviceName',
        'appId',
        'version',
        'hostName',
        'properties',
        'tags',
        'schemas',
        'schema',
        'summary',
        'instances',
        'services',
        'serviceIds',
        'force',
        'dependencies',
        'consumer',
        'providers',
        'healthCheck',
        'matches',
        'status',
        'endpoints',
        'x',
      ),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
})).value;

const ANY_METHOD = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS');
// Mostly a method the route serves (so requests reach the handlers), sometimes any method.
const route = fc.constantFrom(...TEMPLATES).chain(([template, methods]) =>
  fc.record({
    template: fc.constant(template),
    method: fc.oneof(
      { arbitrary: fc.constantFrom(...methods), weight: 6 },
      { arbitrary: ANY_METHOD, weight: 1 },
    ),
  }),
);
const name = fc.oneof(fc.constantFrom('fz', 'target', 'svc1', 'default', 'SERVICECENTER'), weird);
// Bodies shaped like the real ones, with random field values, so validation paths get exercised.
const shaped = fc.oneof(
  fc.record({
    service: fc.record(
      { serviceName: name, appId: name, version: weird, alias: weird },
      { requiredKeys: [] },
    ),
  }),
  fc.record({
    instance: fc.record(
      {
        hostName: weird,
        instanceId: weird,
        status: weird,
        endpoints: fc.array(weird, { maxLength: 3 }),
        healthCheck: jsonish,
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ properties: fc.dictionary(weird, weird, { maxKeys: 3 }) }),
  fc.record({ tags: fc.dictionary(weird, weird, { maxKeys: 3 }) }),
  fc.record({ schema: weird, summary: weird }),
  fc.record({
    schemas: fc.array(fc.record({ schemaId: weird, schema: weird, summary: weird }), { maxLength: 3 }),
  }),
  fc.record({
    instances: fc.array(fc.record({ serviceId: segment(), instanceId: segment() }), { maxLength: 3 }),
  }),
  fc.record({ serviceIds: fc.array(segment(), { maxLength: 3 }), force: jsonish }),
  fc.record({
    services: fc.array(fc.record({ service: fc.record({ appId: name, serviceName: name }), rev: weird }), {
      maxLength: 3,
    }),
  }),
  fc.record({
    dependencies: fc.array(
      fc.record({
        consumer: fc.record({ appId: name, serviceName: name, version: weird }),
        providers: fc.array(fc.record({ appId: name, serviceName: name }), { maxLength: 2 }),
      }),
      { maxLength: 2 },
    ),
  }),
);

const request = fc.record({
  route,
  p: fc.oneof(fc.constant('default'), weird),
  id: segment(),
  iid: segment(),
  x: segment(),
  query: fc.array(
    fc.tuple(
      fc.constantFrom(
        'type',
        'appId',
        'serviceName',
        'version',
        'env',
        'tags',
        'rev',
        'force',
        'value',
        'withSchema',
        'withShared',
        'schemaId',
        'serviceId',
        'options',
        'countOnly',
      ),
      weird,
    ),
    { maxLength: 4 },
  ),
  domain: fc.oneof(fc.constant(undefined), fc.constantFrom('default', 'other', 'bad/x', '')),
  consumer: fc.oneof(fc.constant(undefined), segment()),
  body: fc.oneof(
    fc.constant(undefined),
    jsonish.map((v) => JSON.stringify(v) ?? 'null'),
    shaped.map((v) => JSON.stringify(v)),
    shaped.map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 100 }),
  ),
});

test('random requests always get a well-formed answer below 500', { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const { method, template } = r.route;
      const path = template
        .replace('{p}', encodeURIComponent(r.p))
        .replace('{id}', encodeURIComponent(r.id))
        .replace('{iid}', encodeURIComponent(r.iid))
        .replaceAll('{x}', encodeURIComponent(r.x));
      const qs = new URLSearchParams(r.query).toString();
      const headers: Record<string, string> = {};
      if (r.domain !== undefined) headers['X-Domain-Name'] = r.domain;
      if (r.consumer !== undefined) headers['X-ConsumerId'] = encodeURIComponent(r.consumer);
      const hasBody = r.body !== undefined && method !== 'GET' && method !== 'OPTIONS';
      const res = await fetch(`${c.server.url}${path}${qs ? `?${qs}` : ''}`, {
        method: method,
        headers,
        body: hasBody ? r.body : undefined,
        // Bounded: an input the registry holds (a watch, a long poll) fails with its counterexample
        // instead of hanging the file until the runner's timeout.
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      const where = `${method} ${path}?${qs} -> ${res.status} ${text.slice(0, 200)}`;
      assert.ok(res.status < 500, where);
      if (res.status === 404) assert.equal(text, '404 page not found', where);
      else if (res.status === 405) assert.ok(res.headers.get('allow'), where);
      else if (res.status === 304) assert.equal(text, '', where);
      else if (type.startsWith('application/json')) {
        const body = JSON.parse(text);
        assert.equal(typeof body, 'object', where);
        assert.ok(body !== null && !Array.isArray(body), where);
        if (res.status !== 200) {
          assert.equal(typeof body.errorCode, 'string', where);
          assert.equal(Math.floor(Number(body.errorCode) / 1000), res.status, where);
          assert.equal(typeof body.errorMessage, 'string', where);
        }
      } else {
        assert.ok(type.startsWith('text/plain'), where);
        assert.ok(res.status === 200 ? text === '' : text === 'Bad Request', where);
      }
    }),
    { numRuns: 400 },
  );
  // still alive and serving
  assert.equal((await fetch(`${c.server.url}/v4/default/registry/version`)).status, 200);
});
