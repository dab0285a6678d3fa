import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResiliencePolicies } from './parse.ts';
import { PerService, sameConfig } from './per-service.ts';
import { policyFor } from './types.ts';

test('same config (by identity or by value) keeps the instance; a change replaces it', () => {
  let made = 0;
  const store = new PerService((service: string, config: { n: number }) => ({ service, config, id: ++made }));
  const c1 = Object.freeze({ n: 1 });
  const a = store.get('a', c1);
  assert.equal(store.get('a', c1), a);
  assert.equal(store.get('a', { n: 1 }), a, 'equal value after a reload');
  const a2 = store.get('a', { n: 2 });
  assert.notEqual(a2, a);
  assert.equal(made, 2);
});

test('a reload that leaves a service alone keeps its engine (real parse output)', () => {
  const flat = {
    'cse.circuitBreaker.Consumer.requestVolumeThreshold': 5,
    'cse.circuitBreaker.Consumer.s.forceOpen': true,
  };
  const v1 = parseResiliencePolicies(flat).policies;
  const v2 = parseResiliencePolicies({ ...flat, 'cse.loadbalance.retryOnNext': 1 }).policies;
  const v3 = parseResiliencePolicies({
    ...flat,
    'cse.circuitBreaker.Consumer.requestVolumeThreshold': 6,
  }).policies;
  const store = new PerService((_s: string, c: unknown) => ({ c }));
  const first = store.get('s', policyFor(v1, 's').breaker);
  assert.notEqual(policyFor(v2, 's').breaker, policyFor(v1, 's').breaker, 'a new object...');
  assert.equal(store.get('s', policyFor(v2, 's').breaker), first, '...but equal, so the engine stays');
  assert.notEqual(store.get('s', policyFor(v3, 's').breaker), first);
});

test('bounded, evicting idle entries first', () => {
  const busy = new Set(['a']);
  const store = new PerService((s: string) => s, { max: 2, isIdle: (s) => !busy.has(s) });
  store.get('a', 1);
  store.get('b', 1);
  store.get('c', 1);
  assert.equal(store.size, 2);
  assert.equal(store.peek('a'), 'a', 'busy entry kept');
  assert.equal(store.peek('b'), undefined);
  assert.equal(store.delete('a'), true);
  assert.deepEqual([...store.entries()], [['c', 'c']]);
});

test('sameConfig', () => {
  assert.ok(sameConfig({ a: [1, 2], b: { c: 'x' } }, { a: [1, 2], b: { c: 'x' } }));
  assert.ok(!sameConfig({ a: [1, 2] }, { a: [1, 3] }));
  assert.ok(!sameConfig({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!sameConfig([1], { 0: 1 }));
  assert.ok(!sameConfig(null, {}));
});
