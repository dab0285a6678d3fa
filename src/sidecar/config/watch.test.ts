/** Hot reload: real fs.watch events, debounced on a ManualClock (no sleeping for the debounce). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ManualClock } from '../../shared/clock.ts';
import { loadSidecarConfig } from './load.ts';
import { type ReloadEvent, watchSidecarConfig } from './watch.ts';

const dir = mkdtempSync(join(tmpdir(), 'mesher-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Wait for the OS to deliver a file event (the watcher then arms a clock timer). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

test('edits are debounced, reloaded, and bad edits reported without losing the last good config', async () => {
  writeFileSync(join(dir, 'chassis.yaml'), '');
  writeFileSync(join(dir, 'microservice.yaml'), 'servicecomb.service.name: one\n');
  const first = loadSidecarConfig({ confDir: dir, env: {} }).config;
  const clock = new ManualClock();
  const events: ReloadEvent[] = [];
  const w = watchSidecarConfig(dir, (e) => events.push(e), {
    clock,
    debounceMs: 250,
    env: {},
    current: first,
  });
  try {
    // A burst of writes arms exactly one timer; nothing happens before the debounce elapses.
    writeFileSync(join(dir, 'microservice.yaml'), 'servicecomb.service.name: two\n');
    writeFileSync(join(dir, 'microservice.yaml'), 'servicecomb.service.name: three\n');
    await until(() => clock.pending > 0, 'a file event');
    assert.equal(clock.pending, 1);
    clock.advance(249);
    assert.equal(events.length, 0);
    clock.advance(1);
    assert.equal(events.length, 1);
    const ok = events[0];
    assert.ok(ok?.ok);
    assert.equal(ok.config.service.name, 'three');

    // A broken edit yields the ConfigError naming file and key.
    writeFileSync(join(dir, 'chassis.yaml'), 'servicecomb.protocols.http.listenAddress: 0.0.0.0:1\n');
    await until(() => clock.pending > 0, 'a file event');
    clock.advance(250);
    assert.equal(events.length, 2);
    const bad = events[1];
    assert.ok(bad && !bad.ok);
    assert.equal(bad.error.issues[0]?.key, 'servicecomb.protocols.http.listenAddress');

    // Files other than *.yaml are ignored.
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    // Fixing it reports the good config again.
    writeFileSync(join(dir, 'chassis.yaml'), '');
    await until(() => clock.pending > 0, 'a file event');
    clock.advance(250);
    assert.equal(events.length, 3);
    assert.ok(events[2]?.ok);

    // Touching a file without changing the result reports nothing.
    writeFileSync(join(dir, 'chassis.yaml'), '# just a comment\n');
    await until(() => clock.pending > 0, 'a file event');
    clock.advance(250);
    assert.equal(events.length, 3);
  } finally {
    w.close();
  }
  // After close no timer is left and further edits are ignored.
  assert.equal(clock.pending, 0);
  writeFileSync(join(dir, 'microservice.yaml'), 'servicecomb.service.name: four\n');
  await delay(50);
  clock.advance(1000);
  assert.equal(events.length, 3);
});
