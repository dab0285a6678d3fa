/**
 * Find answers from cached instance views: the wire text and revision are what the uncached code
 * produced (`{"instances":[...]}` in catalog order; rev = sha1 of "{maxModRevision}.{count},"),
 * and every kind of change (register, update, deregister) shows on the next find.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/log.ts';
import { Catalog } from '../catalog.ts';
import { EmbeddedStore } from '../storage/embedded-store.ts';
import { DEFAULT_CONFIG, type RegistryContext } from './context.ts';
import { batchFind, find, listInstances } from './discovery.ts';
import { deregisterInstance, registerInstance, setInstanceStatus } from './instances.ts';
import { createService, parseService } from './services.ts';

const T = 'default/default';
let ctx: RegistryContext;
let store: EmbeddedStore;

before(async () => {
  const clock = new ManualClock();
  store = await EmbeddedStore.open({ clock });
  const catalog = new Catalog(store, { clock, logger: createLogger('test') });
  ctx = { store, catalog, clock, config: { ...DEFAULT_CONFIG }, self: null };
});
after(async () => {
  ctx.catalog.close();
  await store.close();
});

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const svc = (name: string, version: string) =>
  createService(ctx, T, parseService({ serviceName: name, appId: 'app', version }, 0));
const inst = (sid: string, host: string) =>
  registerInstance(ctx, T, sid, { hostName: host, endpoints: [`rest://127.0.0.1:1/${host}`] });
/** What the answer must be: the stored records in catalog order, and their revision. */
function expected(sids: string[]): { json: string; rev: string } {
  const kvs = sids.flatMap((sid) => [...(ctx.catalog.instancesOf(T, sid)?.values() ?? [])].map((e) => e.kv));
  const max = Math.max(0, ...kvs.map((k) => k.modRevision));
  return {
    json: kvs.length === 0 ? '{}' : `{"instances":[${kvs.map((k) => k.value).join(',')}]}`,
    rev: sha1(`${max}.${kvs.length},`),
  };
}

test('find: answer text and revision across changes, one version and several', async () => {
  const v1 = await svc('prov', '1.0.0');
  const consumer = await svc('cons', '1.0.0');
  const q = { appId: 'app', serviceName: 'prov', consumerId: consumer };
  const i1 = await inst(v1, 'h1');
  await inst(v1, 'h2');
  const a = await find(ctx, T, q);
  assert.deepEqual({ json: a.json, rev: a.rev }, expected([v1]));
  const again = await find(ctx, T, q);
  assert.equal(again.json, a.json, 'unchanged: same text');
  assert.equal(again.rev, a.rev);

  await setInstanceStatus(ctx, T, v1, i1, 'DOWN');
  const b = await find(ctx, T, q);
  assert.notEqual(b.rev, a.rev);
  assert.match(b.json, /"status":"DOWN"/);
  assert.deepEqual({ json: b.json, rev: b.rev }, expected([v1]));

  // A second version: both services' instances, in index order, one revision over all.
  const v2 = await svc('prov', '2.0.0');
  await inst(v2, 'h3');
  const c = await find(ctx, T, q);
  assert.deepEqual(
    { json: c.json, rev: c.rev },
    expected([...ctx.catalog.findServiceIds(T, '', 'app', 'prov')]),
  );
  assert.equal((JSON.parse(c.json) as { instances: unknown[] }).instances.length, 3);

  // Batch query re-shapes the same instances.
  const batch = await batchFind(
    ctx,
    T,
    { services: [{ service: { appId: 'app', serviceName: 'prov' } }] },
    consumer,
  );
  assert.deepEqual(batch.services?.updated?.[0]?.instances, JSON.parse(c.json).instances);
  assert.equal(batch.services?.updated?.[0]?.rev, c.rev);

  await deregisterInstance(ctx, T, v1, i1);
  const d = await find(ctx, T, q);
  assert.deepEqual(
    { json: d.json, rev: d.rev },
    expected([...ctx.catalog.findServiceIds(T, '', 'app', 'prov')]),
  );
  assert.equal((JSON.parse(d.json) as { instances: unknown[] }).instances.length, 2);
});

test('list: {} and the empty revision when a service has no instances or tags do not match', async () => {
  const lonely = await svc('lonely', '1.0.0');
  const r = listInstances(ctx, T, lonely, undefined, []);
  assert.equal(r.json, '{}');
  assert.equal(r.rev, sha1('0.0,'));
  await inst(lonely, 'h9');
  const r2 = listInstances(ctx, T, lonely, undefined, []);
  assert.deepEqual({ json: r2.json, rev: r2.rev }, expected([lonely]));
  const tagged = listInstances(ctx, T, lonely, undefined, ['missing']);
  assert.equal(tagged.json, '{}');
  assert.equal(tagged.rev, sha1('0.0,'));
});

test('find: a recorded dependency is not written again', async () => {
  const p = await svc('dep-prov', '1.0.0');
  const c = await svc('dep-cons', '1.0.0');
  await inst(p, 'h1');
  const q = { appId: 'app', serviceName: 'dep-prov', consumerId: c };
  await find(ctx, T, q);
  const rev = store.revision();
  for (let i = 0; i < 5; i++) await find(ctx, T, q);
  assert.equal(store.revision(), rev, 'no write after the first find');
  assert.equal(ctx.catalog.tenant(T)?.depRules.get('/app/dep-cons/1.0.0')?.length, 1);
});
