// Whatever a (broken, hostile or foreign) registry answers, every RegistryApi call either resolves
// with a well-typed value or rejects with a RegistryError — never anything else, never a crash.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { createRegistryClient } from './client.ts';
import { isRegistryError } from './errors.ts';

let next: { status: number; body: string; headers: Record<string, string> } = {
  status: 200,
  body: '',
  headers: {},
};
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    try {
      res.writeHead(next.status, next.headers);
    } catch {
      res.writeHead(next.status);
    }
    res.end(next.status === 304 || next.status === 204 ? undefined : next.body);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const api = createRegistryClient(
  { addresses: [url], project: 'default', domain: 'default' },
  { timeoutMs: 2000 },
);
after(async () => {
  await api.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const jsonish = fc.oneof(
  fc.string(),
  fc.json(),
  fc.constantFrom(
    '{"serviceId":42}',
    '{"service":null}',
    '{"instances":"x"}',
    '{"instances":[null,1,"a",{"instanceId":7}]}',
    '{"services":{"updated":[{"index":"0"},{"index":99},{"index":-1}],"notModified":[null,5],"failed":[{"indexes":[0]}]}}',
    '{"errorCode":400012}',
    '{"errorCode":"x","errorMessage":{}}',
    '[]',
    'null',
  ),
);

test('every answer maps to a typed result or a RegistryError', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(200, 201, 204, 304, 400, 401, 404, 405, 413, 500, 502, 503),
      jsonish,
      fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      fc.integer({ min: 0, max: 5 }),
      async (status, body, rev, which) => {
        next = { status, body, headers: rev === undefined ? {} : { 'x-resource-revision': rev } };
        const calls = [
          () => api.getService('s'),
          () => api.existence({ appId: 'a', serviceName: 'b', version: '1', environment: '' }),
          () => api.findInstances({ appId: 'a', serviceName: 'b', rev: 'r' }),
          () =>
            api.batchFind(
              [
                { appId: 'a', serviceName: 'b' },
                { appId: 'a', serviceName: 'c' },
              ],
              'me',
            ),
          () => api.registerInstance('s', { hostName: 'h' }),
          () => api.heartbeat('s', 'i'),
        ];
        try {
          const v = await calls[which]!();
          if (which === 3) {
            assert.ok(Array.isArray(v) && v.length === 2);
            for (const item of v as Array<{ kind: string }>) {
              assert.ok(['updated', 'notModified', 'failed'].includes(item.kind));
            }
          }
          if (which === 2) {
            const f = v as { notModified: boolean; instances?: unknown[] };
            assert.ok(f.notModified || Array.isArray(f.instances));
            if (!f.notModified) for (const i of f.instances!) assert.equal(typeof i, 'object');
          }
          if (which === 4) assert.equal(typeof v, 'string');
        } catch (err) {
          assert.ok(isRegistryError(err), `not a RegistryError: ${String(err)}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
