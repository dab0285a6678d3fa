import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, outcome } from '../../../test/support/fake-call.ts';
import { ManualClock } from '../../shared/clock.ts';
import { isMeshError } from '../../shared/errors.ts';
import type { SidecarConfig } from '../config/types.ts';
import { createGovernance } from './index.ts';

const cfg = (flat: Record<string, unknown>) =>
  ({ flat, service: { name: 'server', version: '1.0.0' } }) as unknown as SidecarConfig;
const silent = { warn() {}, error() {} } as never;
const marker = { 'servicecomb.matchGroup.login': 'matches: [{apiPath: {prefix: /login}}]' };
const login = () =>
  fakeCall({ direction: 'inbound', path: '/login', source: { service: 'c', address: undefined } });
const ok = async () => outcome(200);

test('no marker: no step on either side', () => {
  const g = createGovernance({ clock: new ManualClock(0), log: silent });
  assert.deepEqual(g.steps(cfg({ 'servicecomb.rateLimiting.login': 'rate: 1' })), {});
  assert.deepEqual(g.steps(cfg(marker)), {}, 'a marker without a policy needs no step');
});

test('a bad change keeps the last good governance (and says why); a good one applies', async () => {
  const clock = new ManualClock(0);
  const g = createGovernance({ clock, log: silent });
  const first = g.steps(cfg({ ...marker, 'servicecomb.rateLimiting.login': 'rate: 1' }));
  assert.equal(first.outbound, undefined, 'a rule without serviceName is provider side only');
  assert.ok(first.inbound);
  assert.equal((await first.inbound(login(), ok)).status, 200);
  await assert.rejects(first.inbound(login(), ok), (e) => isMeshError(e) && e.code === 'RATE_LIMITED');

  const bad = g.steps(cfg({ ...marker, 'servicecomb.rateLimiting.login': 'rate: none' }));
  assert.equal(bad.inbound, first.inbound, 'the last good step stays');
  const snap = g.snapshot();
  assert.deepEqual(snap.lastRejected?.issues, [
    { key: 'servicecomb.rateLimiting.login.rate', message: 'must be a positive number (got "none")' },
  ]);

  const good = g.steps(cfg({ ...marker, 'servicecomb.rateLimiting.login': 'rate: 5' }));
  for (let i = 0; i < 5; i++) assert.equal((await good.inbound!(login(), ok)).status, 200);
  assert.deepEqual(g.snapshot().markers, ['login']);
  assert.equal((g.snapshot().rateLimiting as Record<string, { rate: number }>).login!.rate, 5);
});

test('start-up with issues: valid entries apply, invalid ones are left out', () => {
  const g = createGovernance({ clock: new ManualClock(0), log: silent });
  const s = g.steps(
    cfg({
      ...marker,
      'servicecomb.rateLimiting.login': 'rate: 1',
      'servicecomb.matchGroup.bad': 'matches: nope',
      'servicecomb.rateLimiting.bad': 'rate: 1',
    }),
  );
  assert.ok(s.inbound);
  assert.deepEqual(
    g.current().rateLimiting.map((p) => p.name),
    ['login'],
  );
  assert.equal(g.snapshot().lastRejected?.issues[0]?.key, 'servicecomb.matchGroup.bad.matches');
});

test('retry, circuitBreaker and bulkhead markers are applied and shown in the snapshot', async () => {
  const g = createGovernance({ clock: new ManualClock(0), log: silent });
  const s = g.steps(
    cfg({
      ...marker,
      'servicecomb.retry.login': 'maxAttempts: 2',
      'servicecomb.bulkhead.login': 'maxConcurrentCalls: 5',
    }),
  );
  assert.equal(s.outbound, undefined, 'provider-side rules only; retry is a consumer policy');
  assert.ok(s.inbound, 'the bulkhead applies on the provider side');
  assert.equal((await s.inbound(login(), ok)).status, 200);
  const snap = g.snapshot();
  assert.equal(snap.retry.login?.maxAttempts, 2);
  assert.deepEqual(snap.circuitBreaker, {});
  assert.equal(snap.bulkhead.login?.svc?.admitted, 1);
  assert.equal(snap.bulkhead.login?.svc?.maxConcurrentCalls, 5);
});
