import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall } from '../../../test/support/fake-call.ts';
import { endpointOf, FakeDirectory, FakeRoundRobin } from '../../../test/support/fake-directory.ts';
import { MeshError } from '../../shared/errors.ts';
import type { Balancer, PickRequest } from '../balancer/types.ts';
import type { CallContext, Outcome } from '../chain/types.ts';
import type { Endpoint, ServiceSnapshot } from '../discovery/types.ts';
import type { RouteDecision } from '../routing/types.ts';
import { BalancerSet } from './balancer-set.ts';
import { createLoadBalance } from './load-balance.ts';

/** A socket-free outbound call to `service` (the shared fake; the load-balance step reads only service/app/exclude). */
const call = (service: string): CallContext => fakeCall({ service });

const ok = async (): Promise<Outcome> => ({ status: 200, headers: [], body: null });
const fail = async (): Promise<Outcome> => ({ status: 503, headers: [], body: null });

function setup() {
  const directory = new FakeDirectory();
  const eps = [
    endpointOf({ host: '127.0.0.1', port: 1 }, 'a'),
    endpointOf({ host: '127.0.0.1', port: 2 }, 'b'),
  ];
  directory.set('svc', eps);
  directory.set('none', []);
  const made: FakeRoundRobin[] = [];
  const balancers = new BalancerSet({ strategy: 'rr', perService: {} }, () => {
    const b = new FakeRoundRobin();
    made.push(b);
    return b;
  });
  return { directory, eps, made, balancers };
}

test('picks, sets target/endpoint, reports ok and failure (5xx) with latency', async () => {
  const { directory, made, balancers } = setup();
  let t = 0;
  const lb = createLoadBalance({ directory, balancers, now: () => (t += 5) });
  const c1 = call('svc');
  await lb(c1, ok);
  assert.equal(c1.target, c1.endpoint);
  assert.equal(c1.endpoint?.instanceId, 'a');
  const c2 = call('svc');
  await lb(c2, fail);
  assert.equal(c2.endpoint?.instanceId, 'b');
  assert.deepEqual(
    made[0]!.finished.map((f) => [f.key.split('@')[0], f.ok, f.latencyMs]),
    [
      ['a', true, 5],
      ['b', false, 5],
    ],
  );
  await assert.rejects(
    lb(call('svc'), async () => {
      throw new Error('transport failed');
    }),
  );
  assert.equal(made[0]!.inFlight, 0, 'onFinish also runs when next throws');
  assert.equal(directory.lookups, 0);
});

test('exclude is passed to the balancer; nothing left → NO_ENDPOINTS; unknown → SERVICE_NOT_FOUND', async () => {
  const { directory, balancers } = setup();
  const lb = createLoadBalance({ directory, balancers });
  const c = call('svc');
  c.exclude = new Set(['a@127.0.0.1:1']);
  await lb(c, ok);
  assert.equal(c.endpoint?.instanceId, 'b');
  c.exclude.add('b@127.0.0.1:2');
  await assert.rejects(lb(c, ok), (e: { code: string }) => e.code === 'NO_ENDPOINTS');
  await assert.rejects(lb(call('none'), ok), (e: { code: string }) => e.code === 'NO_ENDPOINTS');
  await assert.rejects(lb(call('ghost'), ok), (e: { code: string }) => e.code === 'SERVICE_NOT_FOUND');
  assert.equal(directory.lookups, 1, 'only the cache miss looked up');
});

test('a route decision with tags gets a balancer of its own fed with the narrowed endpoints', async () => {
  const { directory, made, balancers } = setup();
  const v2: RouteDecision = { routeKey: 'x=b', tags: { x: 'b' }, rule: 0 };
  const lb = createLoadBalance({
    directory,
    balancers,
    route: (c) => (c.path === '/canary' ? v2 : undefined),
  });
  directory.set('svc', [
    { ...endpointOf({ host: '127.0.0.1', port: 1 }, 'a') },
    { ...endpointOf({ host: '127.0.0.1', port: 2 }, 'b'), properties: { x: 'b' } },
  ]);
  const canary = { ...call('svc'), path: '/canary' };
  await lb(canary, ok);
  await lb(canary, ok);
  assert.equal(canary.endpoint?.instanceId, 'b');
  const plain = call('svc');
  await lb(plain, ok);
  assert.equal(plain.endpoint?.instanceId, 'a');
  assert.equal(made.length, 2);
  assert.deepEqual(balancers.strategies(), { svc: 'rr', 'svc@x=b': 'rr' });
});

/** A directory that keeps one snapshot per (service, app) and records where it was asked. */
class AppDirectory extends FakeDirectory {
  readonly byApp = new Map<string, ServiceSnapshot>();
  readonly asked: string[] = [];
  put(service: string, app: string, eps: Endpoint[]): void {
    this.byApp.set(`${service}/${app}`, { serviceName: service, app, revision: '1', endpoints: eps });
  }
  override peek(service: string, app?: string): ServiceSnapshot | undefined {
    this.asked.push(`${service}/${app ?? '(own)'}`);
    return this.byApp.get(`${service}/${app ?? 'default'}`);
  }
}

test("cross-app: a decision naming an app looks the service up in that app; others in the call's app", async () => {
  const directory = new AppDirectory();
  const mine = endpointOf({ host: '127.0.0.1', port: 1 }, 'mine');
  const theirs = { ...endpointOf({ host: '127.0.0.1', port: 2 }, 'theirs'), app: 'other' };
  directory.put('svc', 'default', [mine]);
  directory.put('svc', 'other', [theirs]);
  const balancers = new BalancerSet({ strategy: 'rr', perService: {} }, () => new FakeRoundRobin());
  const cross: RouteDecision = { routeKey: 'app=other', tags: { app: 'other' }, app: 'other', rule: 0 };
  const lb = createLoadBalance({ directory, balancers, route: (c) => (c.path === '/x' ? cross : undefined) });
  const c1 = { ...call('svc'), path: '/x' };
  await lb(c1, ok);
  assert.equal(c1.endpoint?.instanceId, 'theirs');
  const c2 = call('svc');
  await lb(c2, ok);
  assert.equal(c2.endpoint?.instanceId, 'mine');
  assert.deepEqual(directory.asked, ['svc/other', 'svc/(own)']);
});

/** Records every PickRequest it is given. */
class RecordingBalancer implements Balancer {
  readonly requests: Array<PickRequest | undefined> = [];
  readonly #rr = new FakeRoundRobin();
  constructor(readonly name: string) {}
  update(eps: readonly Endpoint[]): void {
    this.#rr.update(eps);
  }
  pick(req?: PickRequest) {
    this.requests.push(req);
    return this.#rr.pick(req);
  }
  onStart(): void {}
  onFinish(): void {}
}

test('pick() is told the caller zone (one shared request object) and, for SessionStickiness only, the session key', async () => {
  const { directory } = setup();
  const made: RecordingBalancer[] = [];
  const balancers = new BalancerSet(
    { strategy: 'LeastLoaded', perService: { sticky: { strategy: 'SessionStickiness' } } },
    (s) => {
      const b = new RecordingBalancer(s);
      made.push(b);
      return b;
    },
  );
  directory.set('sticky', directory.peek('svc')!.endpoints);
  const zone = { region: 'r1', availableZone: 'az1' };
  const lb = createLoadBalance({ directory, balancers, zone });
  const headers = ['Cookie', 'a=1; go-chassisLB=s-42; b=2', 'x-mesher-session', 'ignored'];
  await lb({ ...call('svc'), headers }, ok);
  await lb({ ...call('svc'), headers }, ok);
  const plain = made[0]!;
  assert.equal(plain.requests.length, 2);
  assert.deepEqual(plain.requests[0], { zone });
  assert.equal(plain.requests[0], plain.requests[1], 'the same frozen object every time');
  assert.equal(
    (plain.requests[0] as PickRequest).sessionKey,
    undefined,
    'no session key for other strategies',
  );
  await lb({ ...call('sticky'), headers }, ok);
  await lb({ ...call('sticky'), headers: ['x-mesher-session', 'u-7'] }, ok);
  await lb(call('sticky'), ok);
  const sticky = made[1]!;
  assert.deepEqual(
    sticky.requests.map((r) => r?.sessionKey),
    ['s-42', 'u-7', undefined],
  );
  assert.deepEqual(sticky.requests[0]!.zone, zone);
  // Exclusions still reach the balancer, with the zone.
  const ex = { ...call('svc'), exclude: new Set(['a@127.0.0.1:1']) };
  await lb(ex, ok);
  assert.equal(ex.endpoint?.instanceId, 'b');
  assert.deepEqual(plain.requests.at(-1), { exclude: ex.exclude, zone });
});

test('a refused connection fails over to another instance (bodiless calls only); the last error surfaces', async () => {
  const { directory, made, balancers } = setup();
  const lb = createLoadBalance({ directory, balancers });
  const refuse = async (c: CallContext): Promise<Outcome> => {
    if (c.endpoint?.instanceId === 'a') throw new MeshError('UPSTREAM_CONNECT', { service: c.service });
    return { status: 200, headers: [], body: null };
  };
  const c = call('svc');
  const out = await lb(c, refuse);
  assert.equal(out.status, 200);
  assert.equal(c.endpoint?.instanceId, 'b');
  assert.equal(c.attempt, 2);
  assert.deepEqual([...(c.exclude ?? [])], ['a@127.0.0.1:1']);
  assert.deepEqual(
    made[0]!.finished.map((f) => f.ok),
    [false, true],
  );
  // With a body: no failover.
  const withBody = { ...call('svc'), hasBody: true };
  await assert.rejects(lb(withBody, refuse), (e: { code: string }) => e.code === 'UPSTREAM_CONNECT');
  // Everything refuses: the caller sees UPSTREAM_CONNECT, not NO_ENDPOINTS.
  await assert.rejects(
    lb(call('svc'), async (x) => {
      throw new MeshError('UPSTREAM_CONNECT', { service: x.service });
    }),
    (e: { code: string }) => e.code === 'UPSTREAM_CONNECT',
  );
  // Other errors (a reset may have reached the app) are not failed over.
  let tries = 0;
  await assert.rejects(
    lb(call('svc'), async (x) => {
      tries++;
      throw new MeshError('UPSTREAM_RESET', { service: x.service });
    }),
  );
  assert.equal(tries, 1);
});
