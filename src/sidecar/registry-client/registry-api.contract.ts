/**
 * @module sidecar/registry-client/registry-api.contract
 * The behaviour every `RegistryApi` must show, as one suite: the HTTP client against the real
 * registry runs it, and so does the in-memory fake the unit tests rely on — so the fake cannot
 * drift from what the registry really does. Usage:
 *   runRegistryApiContract('fake', async () => ({ api, close }))
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRegistryError, SC_ERROR } from './errors.ts';
import type { RegistryApi, WatchEvent } from './types.ts';

export interface ContractTarget {
  api: RegistryApi;
  close(): Promise<void>;
}

async function eventually(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function runRegistryApiContract(name: string, make: () => Promise<ContractTarget>): void {
  const run = (title: string, body: (api: RegistryApi) => Promise<void>) =>
    test(`[${name}] ${title}`, async () => {
      const t = await make();
      try {
        await body(t.api);
      } finally {
        await t.close();
      }
    });

  const key = { appId: 'capp', serviceName: 'prov', version: '1.0.0', environment: '' };

  run('existence: null until created; create is idempotent; getService returns it', async (api) => {
    assert.equal(await api.existence(key), null);
    const sid = await api.createService({ ...key, properties: { a: '1' } });
    assert.equal(await api.existence(key), sid);
    assert.equal(await api.createService({ ...key }), sid);
    const svc = await api.getService(sid);
    assert.equal(svc?.serviceName, 'prov');
    assert.deepEqual(svc?.properties, { a: '1' });
    assert.equal(await api.getService('0123456789abcdef'), null);
    await api.updateServiceProperties(sid, { b: '2' });
    assert.deepEqual((await api.getService(sid))?.properties, { b: '2' });
  });

  run('instances: client-chosen id, heartbeat, status, deregister, 400017 once gone', async (api) => {
    const sid = await api.createService({ ...key });
    const iid = await api.registerInstance(sid, {
      instanceId: 'abc123',
      hostName: 'h',
      endpoints: ['rest://10.1.1.1:80'],
      healthCheck: { mode: 'push', interval: 30, times: 3 },
    });
    assert.equal(iid, 'abc123');
    assert.equal(await api.registerInstance(sid, { instanceId: 'abc123', hostName: 'h' }), 'abc123');
    await api.heartbeat(sid, iid);
    await api.setInstanceStatus(sid, iid, 'DOWN');
    const found = await api.findInstances({ appId: 'capp', serviceName: 'prov' });
    assert.equal(found.notModified, false);
    assert.equal(!found.notModified && found.instances[0]?.status, 'DOWN');
    await api.deregisterInstance(sid, iid);
    await assert.rejects(api.heartbeat(sid, iid), (e) => isRegistryError(e, SC_ERROR.INSTANCE_NOT_EXISTS));
    await assert.rejects(api.deregisterInstance(sid, iid), (e) =>
      isRegistryError(e, SC_ERROR.INSTANCE_NOT_EXISTS),
    );
  });

  run(
    'find: 400012 for unknown provider or consumer; rev → notModified until something changes',
    async (api) => {
      await assert.rejects(api.findInstances({ appId: 'capp', serviceName: 'ghost' }), (e) =>
        isRegistryError(e, SC_ERROR.SERVICE_NOT_EXISTS),
      );
      const sid = await api.createService({ ...key });
      await api.registerInstance(sid, { hostName: 'h', endpoints: ['rest://10.1.1.1:80'] });
      await assert.rejects(
        api.findInstances({ appId: 'capp', serviceName: 'prov', consumerId: 'nobody0' }),
        (e) => isRegistryError(e, SC_ERROR.SERVICE_NOT_EXISTS),
      );
      const r1 = await api.findInstances({ appId: 'capp', serviceName: 'prov' });
      assert.ok(r1.rev);
      assert.equal(
        (await api.findInstances({ appId: 'capp', serviceName: 'prov', rev: r1.rev })).notModified,
        true,
      );
      await api.registerInstance(sid, { hostName: 'h2', endpoints: ['rest://10.1.1.2:80'] });
      const r2 = await api.findInstances({ appId: 'capp', serviceName: 'prov', rev: r1.rev });
      assert.equal(r2.notModified, false);
      assert.equal(!r2.notModified && r2.instances.length, 2);
      assert.notEqual(r2.rev, r1.rev);
    },
  );

  run('batch: updated / notModified / failed per item, in request order', async (api) => {
    const sid = await api.createService({ ...key });
    await api.registerInstance(sid, { hostName: 'h', endpoints: ['rest://10.1.1.1:80'] });
    const first = await api.findInstances({ appId: 'capp', serviceName: 'prov' });
    const r = await api.batchFind([
      { appId: 'capp', serviceName: 'ghost' },
      { appId: 'capp', serviceName: 'prov', rev: first.rev },
      { appId: 'capp', serviceName: 'prov' },
    ]);
    assert.equal(r[0]!.kind === 'failed' && r[0]!.error.errorCode, SC_ERROR.SERVICE_NOT_EXISTS);
    assert.equal(r[1]!.kind, 'notModified');
    assert.equal(r[2]!.kind === 'updated' && r[2]!.instances.length, 1);
  });

  run('cross-app: hidden from another app unless the provider sets allowCrossApp', async (api) => {
    const consumer = await api.createService({ appId: 'other', serviceName: 'cons', version: '1.0.0' });
    const closed = await api.createService({ ...key });
    const open = await api.createService({
      ...key,
      serviceName: 'open',
      properties: { allowCrossApp: 'true' },
    });
    await api.registerInstance(closed, { hostName: 'h', endpoints: ['rest://10.1.1.1:80'] });
    await api.registerInstance(open, { hostName: 'h', endpoints: ['rest://10.1.1.2:80'] });
    const a = await api.findInstances({ appId: 'capp', serviceName: 'open', consumerId: consumer });
    assert.equal(!a.notModified && a.instances.length, 1);
    const b = await api.findInstances({ appId: 'capp', serviceName: 'prov', consumerId: consumer });
    assert.equal(!b.notModified && b.instances.length, 0);
  });

  run('watch: a consumer that looked a provider up receives its CREATE and DELETE events', async (api) => {
    const consumer = await api.createService({ appId: 'capp', serviceName: 'cons', version: '1.0.0' });
    const prov = await api.createService({ ...key });
    await api.findInstances({ appId: 'capp', serviceName: 'prov', consumerId: consumer }); // dependency
    const events: WatchEvent[] = [];
    let open = false;
    const h = api.watch(consumer, {
      onOpen: () => {
        open = true;
      },
      onEvent: (e) => events.push(e),
      onClose: () => {
        open = false;
      },
    });
    try {
      await eventually('watch open', () => open);
      const iid = await api.registerInstance(prov, { hostName: 'h', endpoints: ['rest://10.1.1.1:80'] });
      await eventually('CREATE', () => events.some((e) => e.action === 'CREATE'));
      await api.deregisterInstance(prov, iid);
      await eventually('DELETE', () => events.some((e) => e.action === 'DELETE'));
      const created = events.find((e) => e.action === 'CREATE')!;
      assert.equal(created.key.serviceName, 'prov');
      assert.equal(created.key.appId, 'capp');
      assert.equal(created.instance.instanceId, iid);
    } finally {
      h.close();
    }
  });

  run('watch: an unknown consumer id closes with 400012', async (api) => {
    const err = await new Promise<unknown>((resolve) => {
      api.watch('nobody0', { onOpen() {}, onEvent() {}, onClose: resolve });
    });
    assert.ok(isRegistryError(err, SC_ERROR.SERVICE_NOT_EXISTS), String(err));
  });
}
