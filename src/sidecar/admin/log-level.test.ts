import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogLevelHandler } from './log-level.ts';
import { createMetricsHandler, isTextReply } from './metrics.ts';

function control(initial = 'info') {
  let level = initial;
  return {
    get: () => level,
    set: (l: string) => {
      level = l;
    },
  };
}
const req = (method: string, body?: unknown, query = '') => ({
  method,
  path: '/v1/mesher/log-level',
  query: new URLSearchParams(query),
  body,
});

test('GET shows the level; PUT/POST change it from a JSON body or ?level=', async () => {
  const c = control();
  const h = createLogLevelHandler(c);
  assert.deepEqual(await h(req('GET')), { status: 200, body: { level: 'info' } });
  assert.deepEqual(await h(req('PUT', { level: 'debug' })), {
    status: 200,
    body: { level: 'debug', previous: 'info' },
  });
  assert.equal(c.get(), 'debug');
  assert.equal((await h(req('POST', '{"level":"WARN"}'))).status, 200);
  assert.equal(c.get(), 'warn');
  assert.equal((await h(req('POST', undefined, 'level=error'))).status, 200);
  assert.equal(c.get(), 'error');
});

test('a bad level is a 400 BAD_LOG_LEVEL and changes nothing; other methods 405', async () => {
  const c = control();
  const h = createLogLevelHandler(c);
  for (const body of [{ level: 'loud' }, {}, 'not json', { level: 3 }, undefined]) {
    const r = await h(req('PUT', body));
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal((r.body as { code: string }).code, 'BAD_LOG_LEVEL');
  }
  assert.equal(c.get(), 'info');
  const r = await h(req('DELETE'));
  assert.equal(r.status, 405);
});

test('the metrics handler answers Prometheus text with its content type', async () => {
  const h = createMetricsHandler({
    metricsText: async () => 'a_total 1\n',
    metricsContentType: 'text/plain; version=0.0.4',
  });
  const r = await h({ method: 'GET', path: '/metrics', query: new URLSearchParams() });
  assert.deepEqual(r, {
    status: 200,
    body: 'a_total 1\n',
    headers: { 'content-type': 'text/plain; version=0.0.4' },
  });
  assert.equal(isTextReply(r), true);
  assert.equal(isTextReply({ status: 200, body: { a: 1 } }), false);
});
