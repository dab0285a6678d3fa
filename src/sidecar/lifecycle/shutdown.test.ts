/**
 * The shutdown sequence on a ManualClock: order of the phases, the drain period measured on the
 * clock with listeners untouched, endDrain cutting it short, a failed deregistration not stopping
 * the rest; and the `mesher.shutdown.*` settings.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../shared/clock.ts';
import { createLogger } from '../../shared/log.ts';
import { isConfigError } from '../config/config-error.ts';
import { runShutdown, type ShutdownSteps } from './shutdown.ts';
import { parseShutdownSettings, SHUTDOWN_DEFAULTS } from './shutdown-config.ts';

const log = createLogger('test.shutdown');
const flush = () => new Promise((r) => setImmediate(r));

function recorder(opts: { deregisterFails?: boolean } = {}): { steps: ShutdownSteps; events: string[] } {
  const events: string[] = [];
  return {
    events,
    steps: {
      markDraining: () => events.push('draining'),
      deregister: async () => {
        events.push('deregister');
        if (opts.deregisterFails) throw new Error('registry down');
      },
      closeListeners: async (ms) => {
        events.push(`close(${ms})`);
      },
      release: async () => {
        events.push('release');
      },
    },
  };
}

describe('runShutdown', () => {
  test('deregister first, keep listeners open for the whole drain period, then close and release', async () => {
    const clock = new ManualClock();
    const { steps, events } = recorder();
    const h = runShutdown(steps, { drainMs: 5000, inFlightTimeoutMs: 7000 }, { clock, log });
    await flush();
    assert.deepEqual(events, ['draining', 'deregister']);
    clock.advance(4999);
    await flush();
    assert.deepEqual(events, ['draining', 'deregister'], 'listeners untouched during the drain');
    clock.advance(1);
    const report = await h.done;
    assert.deepEqual(events, ['draining', 'deregister', 'close(7000)', 'release']);
    assert.equal(report.drainEndedAtMs - report.deregisteredAtMs, 5000);
    assert.equal(report.drainCut, false);
    assert.equal(clock.pending, 0);
  });

  test('endDrain cuts the drain period short', async () => {
    const clock = new ManualClock();
    const { steps, events } = recorder();
    const h = runShutdown(steps, { drainMs: 60_000, inFlightTimeoutMs: 0 }, { clock, log });
    await flush();
    h.endDrain();
    const report = await h.done;
    assert.equal(report.drainCut, true);
    assert.deepEqual(events.at(-2), 'close(0)');
    assert.equal(clock.pending, 0);
  });

  test('endDrain before the drain started also skips it', async () => {
    const clock = new ManualClock();
    const { steps } = recorder();
    const h = runShutdown(steps, { drainMs: 60_000, inFlightTimeoutMs: 0 }, { clock, log });
    h.endDrain();
    assert.equal((await h.done).drainCut, true);
  });

  test('a failed deregistration still drains and closes', async () => {
    const clock = new ManualClock();
    const { steps, events } = recorder({ deregisterFails: true });
    const h = runShutdown(steps, { drainMs: 100, inFlightTimeoutMs: 1 }, { clock, log });
    await flush();
    clock.advance(100);
    await h.done;
    assert.deepEqual(events, ['draining', 'deregister', 'close(1)', 'release']);
  });
});

describe('parseShutdownSettings', () => {
  test('defaults, and the deadline covers drain + in-flight', () => {
    const s = parseShutdownSettings({}, {});
    assert.equal(s.drainMs, SHUTDOWN_DEFAULTS.drainMs);
    assert.ok(s.deadlineMs > s.drainMs + s.inFlightTimeoutMs);
  });

  test('mesher.shutdown.* as ms numbers or durations; MESHER_DRAIN_MS overrides the drain', () => {
    const flat = { 'mesher.shutdown.drainMs': '2s', 'mesher.shutdown.inFlightTimeoutMs': 1500 };
    assert.deepEqual(
      { ...parseShutdownSettings(flat, {}) },
      { drainMs: 2000, inFlightTimeoutMs: 1500, deadlineMs: 30_000 },
    );
    assert.equal(parseShutdownSettings(flat, { MESHER_DRAIN_MS: '250' }).drainMs, 250);
    const long = parseShutdownSettings({ 'mesher.shutdown.drainMs': '40s' }, {});
    assert.equal(long.deadlineMs, 40_000 + 10_000 + 5000);
  });

  test('bad values name their key', () => {
    assert.throws(
      () =>
        parseShutdownSettings(
          { 'mesher.shutdown.drainMs': 'soon', 'mesher.shutdown.deadlineMs': 1000 },
          { MESHER_DRAIN_MS: '-1' },
        ),
      (err: unknown) => {
        assert.ok(isConfigError(err));
        assert.match(err.message, /mesher\.shutdown\.drainMs: must be milliseconds/);
        assert.match(err.message, /MESHER_DRAIN_MS: must be milliseconds/);
        assert.match(err.message, /mesher\.shutdown\.deadlineMs: must be longer than/);
        return true;
      },
    );
  });
});
