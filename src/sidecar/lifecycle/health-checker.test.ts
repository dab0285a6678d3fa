/**
 * The local health checker on a ManualClock against real local HTTP and TCP targets: first check at
 * start-up, 2xx-only without `match`, body regex, per-check state (all must pass), thresholds,
 * start-up retry, timeouts on the clock, and the registry status it drives.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import type { DesiredStatus, Registration, RegistrationStatus } from '../registration/registration.ts';
import { parseHealthChecks } from './health-check-config.ts';
import { createLocalHealthChecker, type LocalHealthChecker, STARTUP_RETRY_MS } from './health-checker.ts';
import { bindHealthToRegistration } from './health-registration.ts';

/** An HTTP target whose answer the test sets. `hang` = never answer. */
interface Target {
  port: number;
  status: number;
  body: string;
  hang: boolean;
  hits: number;
}

const closers: Array<() => void> = [];
after(() => {
  for (const c of closers) c();
});

async function httpTarget(): Promise<Target> {
  const t: Target = { port: 0, status: 200, body: 'ok', hang: false, hits: 0 };
  const server = http.createServer((_req, res) => {
    t.hits++;
    if (t.hang) return;
    res.writeHead(t.status, { 'content-type': 'text/plain' }).end(t.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.port = (server.address() as AddressInfo).port;
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return t;
}

async function tcpTarget(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  const close = () =>
    new Promise<void>((r) => {
      if (closed) return r();
      closed = true;
      server.close(() => r());
    });
  closers.push(() => void close());
  return { port, close };
}

function checker(yaml: unknown, clock: ManualClock): LocalHealthChecker {
  const c = createLocalHealthChecker({ checks: parseHealthChecks(yaml), clock });
  closers.push(() => c.stop());
  return c;
}

async function tick(c: LocalHealthChecker, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await c.idle();
}

describe('local health checker', () => {
  test('the first check runs at start-up, not after one interval', async () => {
    const t = await httpTarget();
    const clock = new ManualClock();
    const c = checker([{ port: t.port, protocol: 'rest', uri: '/health', interval: '30s' }], clock);
    assert.equal(c.healthy(), false, 'not healthy before any check ran');
    const report = await c.start();
    assert.equal(t.hits, 1);
    assert.equal(report.healthy, true);
    assert.equal(report.checks[0]?.lastDetail, '200');
  });

  test('a rest check without match fails on a 500 (the original called it healthy)', async () => {
    const t = await httpTarget();
    t.status = 500;
    const clock = new ManualClock();
    const c = checker([{ port: t.port, protocol: 'rest' }], clock);
    const r = await c.start();
    assert.equal(r.healthy, false);
    assert.match(r.checks[0]?.lastDetail ?? '', /status 500 does not match 2xx/);
  });

  test('match.status and match.body', async () => {
    const t = await httpTarget();
    t.status = 204;
    t.body = '';
    const clock = new ManualClock();
    const c = checker(
      [{ port: t.port, protocol: 'rest', interval: '10s', match: { status: '200', body: '^UP' } }],
      clock,
    );
    assert.equal((await c.start()).healthy, false);
    t.status = 200;
    t.body = 'DOWN';
    await tick(c, clock, STARTUP_RETRY_MS);
    assert.match(c.report().checks[0]?.lastDetail ?? '', /body does not match/);
    t.body = 'UP since 5 min';
    await tick(c, clock, STARTUP_RETRY_MS);
    assert.equal(c.healthy(), true);
  });

  test('each check has its own state: healthy only when ALL pass, no flapping between them', async () => {
    const good = await httpTarget();
    const bad = await httpTarget();
    bad.status = 503;
    const clock = new ManualClock();
    const c = checker(
      [
        { port: good.port, protocol: 'rest', interval: '5s' },
        { port: bad.port, protocol: 'rest', interval: '5s' },
      ],
      clock,
    );
    const changes: boolean[] = [];
    c.onChange((h) => changes.push(h));
    await c.start();
    // Good passes, bad fails, over many rounds: the aggregate never turns healthy.
    for (let i = 0; i < 5; i++) await tick(c, clock, 5000);
    assert.equal(c.healthy(), false);
    assert.deepEqual(changes, []);
    assert.deepEqual(
      c.report().checks.map((k) => k.passing),
      [true, false],
    );
    bad.status = 200;
    await tick(c, clock, STARTUP_RETRY_MS);
    assert.equal(c.healthy(), true);
    assert.deepEqual(changes, [true]);
  });

  test('TCP check: connect succeeds → passing; listener gone → failing', async () => {
    const t = await tcpTarget();
    const clock = new ManualClock();
    const c = checker([{ port: t.port, interval: '2s' }], clock);
    assert.equal((await c.start()).healthy, true);
    await t.close();
    await tick(c, clock, 2000);
    assert.equal(c.healthy(), false);
    assert.match(c.report().checks[0]?.lastDetail ?? '', /ECONNREFUSED/);
  });

  test('failureThreshold and successThreshold ride out blips', async () => {
    const t = await httpTarget();
    const clock = new ManualClock();
    const c = checker(
      [{ port: t.port, protocol: 'rest', interval: '1s', failureThreshold: 3, successThreshold: 2 }],
      clock,
    );
    await c.start();
    assert.equal(c.healthy(), false, 'needs 2 successes');
    await tick(c, clock, 1000);
    assert.equal(c.healthy(), true);
    t.status = 500;
    await tick(c, clock, 1000);
    await tick(c, clock, 1000);
    assert.equal(c.healthy(), true, 'two failures < threshold 3');
    t.status = 200;
    await tick(c, clock, 1000);
    t.status = 500;
    await tick(c, clock, 1000);
    await tick(c, clock, 1000);
    assert.equal(c.healthy(), true, 'the success in between reset the count');
    await tick(c, clock, 1000);
    assert.equal(c.healthy(), false);
    assert.equal(c.report().checks[0]?.consecutiveFailures, 3);
  });

  test('before the first pass a check retries every second; afterwards at its interval', async () => {
    const t = await httpTarget();
    t.status = 503;
    const clock = new ManualClock();
    const c = checker([{ port: t.port, protocol: 'rest', interval: '30s' }], clock);
    await c.start();
    await tick(c, clock, STARTUP_RETRY_MS);
    await tick(c, clock, STARTUP_RETRY_MS);
    assert.equal(t.hits, 3);
    t.status = 200;
    await tick(c, clock, STARTUP_RETRY_MS);
    assert.equal(c.healthy(), true);
    const hits = t.hits;
    await tick(c, clock, 29_000);
    assert.equal(t.hits, hits, 'nothing before the interval');
    await tick(c, clock, 1000);
    assert.equal(t.hits, hits + 1);
  });

  test('a hanging app fails by the timeout, measured on the clock', async () => {
    const t = await httpTarget();
    t.hang = true;
    const clock = new ManualClock();
    const c = checker([{ port: t.port, protocol: 'rest', interval: '10s', timeout: '2s' }], clock);
    const first = c.start();
    // Let the request reach the target, then move the clock past the timeout.
    for (let i = 0; i < 100 && t.hits === 0; i++) await new Promise((r) => setTimeout(r, 5));
    clock.advance(1999);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(c.report().checks[0]?.runs, 0, 'still waiting before the timeout');
    clock.advance(1);
    const r = await first;
    assert.equal(r.healthy, false);
    assert.match(r.checks[0]?.lastDetail ?? '', /timed out after 2000 ms/);
  });

  test('stop() cancels every timer', async () => {
    const t = await httpTarget();
    const clock = new ManualClock();
    const c = checker([{ port: t.port, protocol: 'rest' }, { port: t.port }], clock);
    await c.start();
    assert.equal(clock.pending, 2);
    c.stop();
    assert.equal(clock.pending, 0);
  });
});

describe('health → registry status', () => {
  function fakeRegistration(): Registration & { calls: DesiredStatus[]; fire(registered: boolean): void } {
    const listeners = new Set<(s: RegistrationStatus) => void>();
    let status: DesiredStatus = 'UP';
    const calls: DesiredStatus[] = [];
    const snap = (registered: boolean): RegistrationStatus => ({
      registered,
      instanceStatus: status,
      consumerOnly: false,
    });
    return {
      calls,
      start() {},
      async stop() {},
      status: () => snap(true),
      async setStatus(s) {
        status = s;
        calls.push(s);
      },
      whenRegistered: async () => snap(true),
      onChange(l) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      reportLost() {},
      fire(registered) {
        for (const l of listeners) l(snap(registered));
      },
    };
  }

  test('DOWN until every check passes, UP when they do, DOWN when one fails; re-applied on (re-)registration', async () => {
    const t = await httpTarget();
    t.status = 500;
    const clock = new ManualClock();
    const c = checker([{ port: t.port, protocol: 'rest', interval: '5s' }], clock);
    const reg = fakeRegistration();
    const unbind = bindHealthToRegistration(c, reg);
    assert.deepEqual(reg.calls, ['DOWN'], 'registered DOWN before the first check');
    await c.start();
    assert.deepEqual(reg.calls, ['DOWN']);
    t.status = 200;
    await tick(c, clock, STARTUP_RETRY_MS);
    assert.deepEqual(reg.calls, ['DOWN', 'UP']);
    reg.fire(true); // the registry lost us and we re-registered
    assert.deepEqual(reg.calls, ['DOWN', 'UP', 'UP']);
    t.status = 500;
    await tick(c, clock, 5000);
    assert.deepEqual(reg.calls, ['DOWN', 'UP', 'UP', 'DOWN']);
    unbind();
    t.status = 200;
    await tick(c, clock, STARTUP_RETRY_MS * 5);
    assert.equal(reg.calls.length, 4, 'unbound: no more status calls');
  });
});
