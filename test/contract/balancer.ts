/**
 * The contract every Balancer implementation must pass (STYLE.md practice 17). Run it with
 * `runBalancerContract(name, make)`; test/contract/balancers.test.ts runs it for every strategy in
 * the registry, so a new strategy cannot skip it. Also exports the small fakes the balancer unit
 * tests share: `fakeEndpoint` and a seeded `seededRandom`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Random } from '../../src/shared/clock.ts';
import type { Balancer, PickRequest, PickResult } from '../../src/sidecar/balancer/types.ts';
import type { Endpoint } from '../../src/sidecar/discovery/types.ts';

/** A hand-made endpoint: `fakeEndpoint('a')` → key `a@127.0.0.1:<port>`. */
export function fakeEndpoint(
  id: string,
  opts: { port?: number; zone?: { region: string; availableZone: string }; version?: string } = {},
): Endpoint {
  const port = opts.port ?? 10_000 + (hash(id) % 50_000);
  const ep: Endpoint = {
    key: `${id}@127.0.0.1:${port}`,
    instanceId: id,
    serviceId: 'svc-1',
    host: '127.0.0.1',
    port,
    tls: false,
    version: opts.version ?? '0.0.1',
    app: 'default',
    properties: {},
    ...(opts.zone ? { zone: opts.zone } : {}),
  };
  return ep;
}

export function fakeEndpoints(n: number, prefix = 'e'): Endpoint[] {
  return Array.from({ length: n }, (_, i) => fakeEndpoint(`${prefix}${i}`, { port: 20_000 + i }));
}

/** mulberry32: a tiny seeded PRNG with a uniform [0, 1) output, for reproducible tests. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return h;
}

function keyOf(r: PickResult): string {
  assert.equal(r.kind, 'ok', 'expected an endpoint');
  return (r as { endpoint: Endpoint }).endpoint.key;
}

/** Pick, start and finish one call (what the load-balance step does), returning the key. */
function call(b: Balancer, req?: PickRequest, latencyMs = 5, ok = true): string {
  const r = b.pick(req);
  const key = keyOf(r);
  const ep = (r as { endpoint: Endpoint }).endpoint;
  b.onStart(ep);
  b.onFinish(ep, { ok, latencyMs });
  return key;
}

const Z = (region: string, availableZone: string) => ({ region, availableZone });

export function runBalancerContract(name: string, make: () => Balancer): void {
  describe(`Balancer contract: ${name}`, () => {
    test('with no endpoints every pick is unavailable', () => {
      const b = make();
      assert.equal(typeof b.name, 'string');
      assert.deepEqual(b.pick(), { kind: 'unavailable' });
      assert.deepEqual(b.pick({ sessionKey: 's1', zone: Z('r1', 'z1') }), { kind: 'unavailable' });
      b.update(fakeEndpoints(2));
      assert.equal(b.pick().kind, 'ok');
      b.update([]);
      assert.deepEqual(b.pick(), { kind: 'unavailable' });
      assert.deepEqual(b.pick({ sessionKey: 's1' }), { kind: 'unavailable' });
      assert.deepEqual(b.pick({ exclude: new Set(['x']) }), { kind: 'unavailable' });
    });

    test('a single endpoint is always the one picked', () => {
      const b = make();
      const [only] = fakeEndpoints(1);
      b.update([only!]);
      for (let i = 0; i < 200; i++) {
        const req: PickRequest | undefined =
          i % 3 === 0 ? undefined : i % 3 === 1 ? { sessionKey: `s${i % 7}` } : { zone: Z('r1', 'z1') };
        const r = b.pick(req);
        assert.equal(r.kind, 'ok');
        assert.equal((r as { endpoint: Endpoint }).endpoint, only, 'the very object given to update()');
        b.onStart(only!);
        b.onFinish(only!, { ok: i % 5 !== 0, latencyMs: i });
      }
    });

    test('excluded endpoints are never picked', () => {
      const b = make();
      const eps = fakeEndpoints(5);
      b.update(eps);
      const exclude = new Set([eps[1]!.key, eps[3]!.key]);
      const seen = new Set<string>();
      for (let i = 0; i < 600; i++) {
        const req: PickRequest = i % 2 === 0 ? { exclude } : { exclude, sessionKey: `s${i % 11}` };
        const key = call(b, req, 1 + (i % 4));
        assert.ok(!exclude.has(key), `picked excluded ${key}`);
        seen.add(key);
      }
      assert.ok(seen.size >= 1, 'something was picked');
      // Excluding all but one leaves exactly that one, for plain and session picks alike.
      const allBut2 = new Set(eps.filter((_, i) => i !== 2).map((e) => e.key));
      for (let i = 0; i < 50; i++) {
        assert.equal(keyOf(b.pick({ exclude: allBut2 })), eps[2]!.key);
        assert.equal(keyOf(b.pick({ exclude: allBut2, sessionKey: `s${i % 11}` })), eps[2]!.key);
      }
    });

    test('all endpoints excluded → unavailable (and an unrelated exclude changes nothing)', () => {
      const b = make();
      const eps = fakeEndpoints(4);
      b.update(eps);
      const all = new Set(eps.map((e) => e.key));
      assert.deepEqual(b.pick({ exclude: all }), { kind: 'unavailable' });
      assert.deepEqual(b.pick({ exclude: all, sessionKey: 's' }), { kind: 'unavailable' });
      assert.deepEqual(b.pick({ exclude: all, zone: Z('r1', 'z1') }), { kind: 'unavailable' });
      assert.equal(b.pick({ exclude: new Set(['not-a-key']) }).kind, 'ok');
    });

    test('update() adds endpoints, and they get picked', () => {
      const b = make();
      const eps = fakeEndpoints(4);
      b.update(eps.slice(0, 2));
      const first = new Set([eps[0]!.key, eps[1]!.key]);
      for (let i = 0; i < 50; i++) {
        const key = call(b);
        assert.ok(first.has(key), `picked ${key} before it was added`);
      }
      b.update(eps);
      const seen = new Set<string>();
      for (let i = 0; i < 2000 && seen.size < 4; i++) seen.add(call(b));
      assert.deepEqual([...seen].sort(), eps.map((e) => e.key).sort());
    });

    test('removed endpoints are never picked again', () => {
      const b = make();
      const eps = fakeEndpoints(5);
      b.update(eps);
      for (let i = 0; i < 100; i++) call(b, { sessionKey: `s${i % 10}` });
      const kept = [eps[0]!, eps[2]!];
      b.update(kept);
      const keptKeys = new Set(kept.map((e) => e.key));
      for (let i = 0; i < 1000; i++) {
        const req: PickRequest | undefined = i % 2 === 0 ? undefined : { sessionKey: `s${i % 10}` };
        const key = call(b, req);
        assert.ok(keptKeys.has(key), `picked removed ${key}`);
      }
    });

    test('every endpoint is eventually picked', () => {
      const b = make();
      const eps = fakeEndpoints(7);
      b.update(eps);
      const counts = new Map<string, number>();
      for (let i = 0; i < 3000; i++) {
        const key = call(b, undefined, 5);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      assert.deepEqual([...counts.keys()].sort(), eps.map((e) => e.key).sort());
    });

    test('a new object for a known key replaces the old one in results; duplicate keys are harmless', () => {
      const b = make();
      const a1 = fakeEndpoint('a', { port: 1001 });
      const c = fakeEndpoint('c', { port: 1003 });
      b.update([a1, c, a1, c]);
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) seen.add(call(b));
      assert.deepEqual([...seen].sort(), [a1.key, c.key].sort());
      const a2: Endpoint = { ...a1, version: '2.0.0' };
      b.update([a2]);
      for (let i = 0; i < 20; i++) {
        const r = b.pick(i % 2 ? { sessionKey: 'k' } : undefined);
        assert.equal((r as { endpoint: Endpoint }).endpoint, a2);
      }
    });

    test('onStart/onFinish tolerate unknown and removed endpoints; bad reports do not break picking', () => {
      const b = make();
      const eps = fakeEndpoints(3);
      const stranger = fakeEndpoint('stranger');
      b.onStart(stranger);
      b.onFinish(stranger, { ok: false, latencyMs: 3 });
      b.update(eps);
      b.onStart(eps[0]!);
      b.update(eps.slice(1)); // eps[0] removed with a call in flight
      b.onFinish(eps[0]!, { ok: true, latencyMs: 1 });
      b.onFinish(stranger, { ok: true, latencyMs: 1 });
      b.onFinish(eps[1]!, { ok: true, latencyMs: 1 }); // a finish without a start
      for (const latencyMs of [Number.NaN, -5, Number.POSITIVE_INFINITY, 1e12, 0]) {
        b.onStart(eps[2]!);
        b.onFinish(eps[2]!, { ok: latencyMs !== 0, latencyMs });
      }
      const seen = new Set<string>();
      for (let i = 0; i < 500; i++) seen.add(call(b));
      assert.deepEqual([...seen].sort(), [eps[1]!.key, eps[2]!.key].sort());
    });

    test('onStart/onFinish pairs balance, and state survives update() for endpoints that stay', (t) => {
      const b = make();
      if (b.stats === undefined) {
        t.skip('no stats() to inspect');
        return;
      }
      const eps = fakeEndpoints(3);
      b.update(eps);
      for (const ep of eps) b.onStart(ep);
      b.onStart(eps[0]!);
      const byKey = () => new Map(b.stats!().map((s) => [s.key, s]));
      assert.equal(byKey().get(eps[0]!.key)!.inFlight, 2);
      b.update([eps[0]!, eps[1]!, fakeEndpoint('new')]);
      const after = byKey();
      assert.equal(after.get(eps[0]!.key)!.inFlight, 2, 'kept endpoint keeps its in-flight count');
      assert.equal(after.get(eps[1]!.key)!.inFlight, 1);
      assert.equal(after.has(eps[2]!.key), false, 'removed endpoint state is dropped');
      assert.equal(after.get(fakeEndpoint('new').key)!.inFlight, 0);
      b.onFinish(eps[0]!, { ok: true, latencyMs: 10 });
      b.onFinish(eps[0]!, { ok: true, latencyMs: 20 });
      b.onFinish(eps[1]!, { ok: false, latencyMs: 5 });
      b.onFinish(eps[2]!, { ok: true, latencyMs: 5 }); // removed: ignored
      for (const s of b.stats!()) assert.equal(s.inFlight, 0, s.key);
      const s0 = byKey().get(eps[0]!.key)!;
      assert.ok(s0.latencyMs !== null && s0.latencyMs >= 10 && s0.latencyMs <= 20, String(s0.latencyMs));
      assert.equal(byKey().get(eps[1]!.key)!.consecutiveFailures, 1);
      b.update([eps[0]!]);
      assert.equal(byKey().get(eps[0]!.key)!.latencyMs, s0.latencyMs, 'latency kept across update');
    });

    test('zone-aware: same zone first, then same region, then any', () => {
      const b = make();
      const a = fakeEndpoint('a', { zone: Z('r1', 'z1') });
      const a2 = fakeEndpoint('a2', { zone: Z('r1', 'z1') });
      const c = fakeEndpoint('c', { zone: Z('r1', 'z2') });
      const d = fakeEndpoint('d', { zone: Z('r2', 'z3') });
      const e = fakeEndpoint('e');
      b.update([d, e, c, a, a2]);
      const zone = Z('r1', 'z1');
      const seen = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const key = call(b, i % 2 ? { zone } : { zone, sessionKey: `s${i % 5}` });
        assert.ok(key === a.key || key === a2.key, `not same-zone: ${key}`);
        seen.add(key);
      }
      assert.equal(seen.size, 2, 'both same-zone endpoints are used');
      const noZ1 = new Set([a.key, a2.key]);
      for (let i = 0; i < 50; i++) assert.equal(call(b, { zone, exclude: noZ1 }), c.key);
      const noR1 = new Set([a.key, a2.key, c.key]);
      const rest = new Set<string>();
      for (let i = 0; i < 300; i++) rest.add(call(b, { zone, exclude: noR1 }));
      assert.deepEqual([...rest].sort(), [d.key, e.key].sort());
      // A caller in an unknown zone, or endpoints without zones, fall back to all endpoints.
      const any = new Set<string>();
      for (let i = 0; i < 1000; i++) any.add(call(b, { zone: Z('r9', 'z9') }));
      assert.equal(any.size, 5);
    });

    test('property: random update/pick/start/finish sequences keep the invariants', () => {
      const pool = [
        fakeEndpoint('p0', { zone: Z('r1', 'z1') }),
        fakeEndpoint('p1', { zone: Z('r1', 'z1') }),
        fakeEndpoint('p2', { zone: Z('r1', 'z2') }),
        fakeEndpoint('p3', { zone: Z('r2', 'z1') }),
        fakeEndpoint('p4'),
        fakeEndpoint('p5'),
      ];
      const subset = fc.subarray(pool.map((_, i) => i));
      const op = fc.oneof(
        fc.record({ t: fc.constant('update' as const), eps: subset }),
        fc.record({
          t: fc.constant('pick' as const),
          exclude: subset,
          session: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        }),
        fc.record({ t: fc.constant('start' as const), ep: fc.integer({ min: 0, max: 5 }) }),
        fc.record({
          t: fc.constant('finish' as const),
          ok: fc.boolean(),
          latencyMs: fc.double({ min: -10, max: 5000, noNaN: false }),
        }),
      );
      fc.assert(
        fc.property(fc.boolean(), fc.array(op, { maxLength: 80 }), (zoned, ops) => {
          const b = make();
          const zone = zoned ? Z('r1', 'z1') : undefined;
          let current: Endpoint[] = [];
          const outstanding: Endpoint[] = [];
          for (const o of ops) {
            if (o.t === 'update') {
              current = o.eps.map((i) => pool[i]!);
              b.update(current);
            } else if (o.t === 'start') {
              b.onStart(pool[o.ep]!);
              outstanding.push(pool[o.ep]!);
            } else if (o.t === 'finish') {
              const ep = outstanding.shift();
              if (ep) b.onFinish(ep, { ok: o.ok, latencyMs: o.latencyMs });
            } else {
              const exclude = new Set(o.exclude.map((i) => pool[i]!.key));
              const sessionKey = o.session === undefined ? undefined : `s${o.session}`;
              const r = b.pick({ exclude, ...(sessionKey ? { sessionKey } : {}), ...(zone ? { zone } : {}) });
              const allowed = current.filter((e) => !exclude.has(e.key));
              if (allowed.length === 0) {
                assert.equal(r.kind, 'unavailable');
                continue;
              }
              assert.equal(r.kind, 'ok');
              const ep = (r as { endpoint: Endpoint }).endpoint;
              assert.ok(allowed.includes(ep), `picked ${ep.key}, allowed ${allowed.map((e) => e.key)}`);
              if (zone && sessionKey === undefined) {
                const sameZone = allowed.filter(
                  (e) => e.zone?.region === 'r1' && e.zone.availableZone === 'z1',
                );
                const sameRegion = allowed.filter((e) => e.zone?.region === 'r1');
                if (sameZone.length > 0) assert.ok(sameZone.includes(ep), 'same zone preferred');
                else if (sameRegion.length > 0) assert.ok(sameRegion.includes(ep), 'same region preferred');
              }
            }
          }
          for (const ep of outstanding.splice(0)) b.onFinish(ep, { ok: true, latencyMs: 1 });
          if (b.stats) for (const s of b.stats()) assert.equal(s.inFlight, 0, `in flight left on ${s.key}`);
        }),
        { numRuns: 300, seed: 42 },
      );
    });
  });
}
