// The sidecar's Kie long-poll client (kie-poll.ts) against a scripted HTTP server on an ephemeral
// port: the query it sends, 200 → changed with the KVs and X-Kie-Revision, 304 → unchanged, any
// other status or a body that is not a KV list → KiePollError naming the status, abort → rejects.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createKiePoller, KiePollError } from './kie-poll.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
const seen: { url: string; domain: string | undefined }[] = [];
const server = createServer((req, res) => {
  seen.push({ url: req.url ?? '', domain: req.headers['x-domain-name'] as string | undefined });
  handler(req, res);
});
let base = '';

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('200 answers the KVs with the revision; the query carries labels, match, status, revision and wait', async () => {
  const poller = createKiePoller({ baseUrl: base, project: 'p 1', domain: 'tenant' });
  try {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-kie-revision': '7' });
      res.end(
        JSON.stringify({
          total: 1,
          data: [{ id: 'a', key: 'k', value: 'v', labels: { app: 'x', n: 3 }, update_revision: 7 }],
        }),
      );
    };
    const r = await poller.poll({
      labels: { app: 'x', env: '' },
      status: 'enabled',
      revision: 3,
      waitMs: 1500,
    });
    assert.equal(r.changed, true);
    assert.equal(r.revision, 7);
    if (!r.changed) return;
    assert.equal(r.data.length, 1);
    assert.deepEqual(r.data[0]?.labels, { app: 'x', n: '3' });
    assert.equal(r.data[0]?.updateRevision, 7);
    const last = seen.at(-1)!;
    const u = new URL(last.url, base);
    assert.equal(u.pathname, '/v1/p%201/kie/kv');
    assert.deepEqual(u.searchParams.getAll('label'), ['app:x']);
    assert.equal(u.searchParams.get('match'), 'applicable');
    assert.equal(u.searchParams.get('status'), 'enabled');
    assert.equal(u.searchParams.get('revision'), '3');
    assert.equal(u.searchParams.get('wait'), '1500ms');
    assert.equal(last.domain, 'tenant');
  } finally {
    await poller.close();
  }
});

test('304 is "unchanged"; other statuses and non-list bodies are KiePollErrors', async () => {
  const poller = createKiePoller({ baseUrl: base });
  try {
    handler = (_req, res) => {
      res.writeHead(304, { 'x-kie-revision': '9' });
      res.end();
    };
    assert.deepEqual(await poller.poll({ labels: {} }), { changed: false, revision: 9 });
    for (const [status, body] of [
      [404, '{"errorCode":"x"}'],
      [200, 'not json'],
      [200, '{"data":[{"key":"no id"}]}'],
    ] as const) {
      handler = (_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      };
      await assert.rejects(
        poller.poll({ labels: {} }),
        (e: unknown) => e instanceof KiePollError && e.status === status,
        `${status} ${body}`,
      );
    }
  } finally {
    await poller.close();
  }
});

test('an aborted long poll rejects at once', async () => {
  const poller = createKiePoller({ baseUrl: base });
  try {
    handler = () => {}; // never answers
    const ac = new AbortController();
    const p = poller.poll({ labels: {}, revision: 1, waitMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, /aborted/);
  } finally {
    await poller.close();
  }
});
