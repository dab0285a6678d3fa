/**
 * A failed durable write (disk error) makes the registry fail-stop: the write is answered 500011,
 * later writes are refused, reads keep working, and health reports 400002. A restart recovers
 * from what is on disk.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertError,
  createService,
  fileTempDir,
  MS,
  startFaultyRegistry,
  startTestRegistry,
} from './support.ts';

const dir = fileTempDir('mesher-fault-');

test('disk error: 500011 for the write, read-only afterwards, health 400002, recovery on restart', {
  timeout: 60_000,
}, async () => {
  const { c, clock, fail } = await startFaultyRegistry(dir);
  try {
    const kept = await createService(c, { serviceName: 'before' });
    assert.equal((await c('GET', '/v4/default/registry/health')).status, 200);
    fail(true);
    assertError(await c('POST', MS, { body: { service: { serviceName: 'during' } } }), '500011', 'EIO');
    fail(false);
    assertError(await c('POST', MS, { body: { service: { serviceName: 'after' } } }), '500011', 'read-only');
    assert.equal((await c('GET', `${MS}/${kept}`)).status, 200, 'reads still work');
    assertError(await c('GET', '/v4/default/registry/health'), '400002', 'EIO');
  } finally {
    await c.server.close();
  }
  const c2 = await startTestRegistry({ clock, dataDir: dir });
  try {
    const names = (await c2('GET', MS)).json.services.map((s: { serviceName: string }) => s.serviceName);
    assert.ok(names.includes('before'));
    assert.ok(!names.includes('during'), 'the failed write was never acknowledged and is not on disk');
    assert.equal((await c2('GET', '/v4/default/registry/health')).status, 200);
  } finally {
    await c2.server.close();
  }
});
