import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MicroServiceInstance } from '../registry-client/types.ts';
import { parseRestEndpoint, toEndpoints } from './endpoints.ts';
import { ServiceEntry } from './service-entry.ts';

test('parseRestEndpoint: table of accepted and rejected endpoint strings', () => {
  const cases: Array<[string, ReturnType<typeof parseRestEndpoint>]> = [
    ['rest://10.0.0.1:8080', { host: '10.0.0.1', port: 8080, tls: false }],
    ['rest://10.0.0.1:8080/', { host: '10.0.0.1', port: 8080, tls: false }],
    ['rest://10.0.0.1:8443?sslEnabled=true', { host: '10.0.0.1', port: 8443, tls: true }],
    ['rest://h.example:80/?sslEnabled=false&x=1', { host: 'h.example', port: 80, tls: false }],
    ['REST://[::1]:9000?sslEnabled=TRUE', { host: '::1', port: 9000, tls: true }],
    ['grpc://10.0.0.1:9000', undefined],
    ['rest-admin://127.0.0.1:30102', undefined],
    ['highway://10.0.0.1:7070', undefined],
    ['rest://10.0.0.1', undefined],
    ['rest://10.0.0.1:0', undefined],
    ['rest://10.0.0.1:70000', undefined],
    ['rest://:8080', undefined],
    ['nonsense', undefined],
    ['', undefined],
  ];
  for (const [raw, want] of cases) assert.deepEqual(parseRestEndpoint(raw), want, raw);
});

test('toEndpoints keeps UP instances and rest endpoints only, sorted, with zone and properties', () => {
  const instances: MicroServiceInstance[] = [
    {
      instanceId: 'b',
      serviceId: 's',
      hostName: 'h',
      status: 'UP',
      version: '1.0.0',
      endpoints: ['grpc://1.1.1.1:1', 'rest://1.1.1.2:80', 'rest://1.1.1.2:80/'],
      properties: { tag: 'x' },
      dataCenterInfo: { name: 'r', region: 'r', availableZone: 'az' },
    },
    { instanceId: 'a', serviceId: 's', hostName: 'h', endpoints: ['rest://1.1.1.1:80'] }, // no status = UP
    { instanceId: 'c', serviceId: 's', hostName: 'h', status: 'DOWN', endpoints: ['rest://1.1.1.3:80'] },
    { instanceId: 'd', serviceId: 's', hostName: 'h', status: 'STARTING', endpoints: ['rest://1.1.1.4:80'] },
    { hostName: 'no-id', endpoints: ['rest://1.1.1.5:80'] },
    // Shapes a broken registry might send: none of them may leak into an Endpoint.
    { instanceId: 7, hostName: 'h', endpoints: ['rest://1.1.1.6:80'] } as never,
    { instanceId: 'e', hostName: 'h', endpoints: 'rest://1.1.1.7:80' } as never,
    { instanceId: 'f', hostName: 'h', status: 5, endpoints: ['rest://1.1.1.8:80'] } as never,
    { instanceId: 'g', hostName: 'h', endpoints: [42, 'rest://1.1.1.9:80'], properties: 'ab' } as never,
  ];
  const eps = toEndpoints(instances, 'app1');
  assert.deepEqual(
    eps.map((e) => e.key),
    ['a@1.1.1.1:80', 'b@1.1.1.2:80', 'g@1.1.1.9:80'],
  );
  assert.deepEqual(eps[2]!.properties, {});
  assert.deepEqual(eps[1]!.zone, { region: 'r', availableZone: 'az' });
  assert.deepEqual(eps[1]!.properties, { tag: 'x' });
  assert.equal(eps[1]!.app, 'app1');
  assert.equal(eps[1]!.version, '1.0.0');
  assert.equal(eps[0]!.zone, undefined);
  assert.ok(Object.isFrozen(eps[0]));
});

const inst = (id: string, status = 'UP'): MicroServiceInstance => ({
  instanceId: id,
  serviceId: 's',
  hostName: 'h',
  status,
  endpoints: [`rest://10.0.0.${id.length}:${1000 + id.charCodeAt(0)}`],
});

test('a watch event that races a fetch is replayed on top of the fetch result', () => {
  const e = new ServiceEntry('svc', 'app');
  e.applyFull([inst('a')], 'r1');
  e.beginFetch();
  // While the fetch is in flight, 'a' is deleted and 'b' created...
  e.applyEvent({ action: 'DELETE', key: { appId: 'app', serviceName: 'svc' }, instance: inst('a') });
  e.applyEvent({ action: 'CREATE', key: { appId: 'app', serviceName: 'svc' }, instance: inst('b') });
  // ...and the (older) fetch answer still lists 'a' only.
  const changed = e.applyFull([inst('a')], 'r2');
  assert.equal(changed, false, 'same endpoints as after the events');
  assert.deepEqual(
    e.snapshot!.endpoints.map((x) => x.instanceId),
    ['b'],
  );
});

test('events patch the snapshot; a status change to DOWN removes the endpoint; revision changes', () => {
  const e = new ServiceEntry('svc', 'app');
  e.applyFull([inst('a'), inst('b')], 'r1');
  const r1 = e.snapshot!.revision;
  assert.equal(
    e.applyEvent({
      action: 'UPDATE',
      key: { appId: 'app', serviceName: 'svc' },
      instance: inst('a', 'DOWN'),
    }),
    true,
  );
  assert.deepEqual(
    e.snapshot!.endpoints.map((x) => x.instanceId),
    ['b'],
  );
  assert.notEqual(e.snapshot!.revision, r1);
  assert.equal(e.registryRev, undefined, 'a patched cache must not be answered with a 304');
  assert.equal(
    e.applyEvent({ action: 'UPDATE', key: { appId: 'app', serviceName: 'svc' }, instance: inst('b') }),
    false,
    'an update that changes nothing visible is not an update',
  );
});
