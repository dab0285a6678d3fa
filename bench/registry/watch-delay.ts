/**
 * @module bench/registry/watch-delay
 * Watch-event delay: a consumer finds the provider with X-ConsumerId (which records the
 * dependency), subscribes on `/v4/default/registry/microservices/{consumerId}/watcher`, and then
 * the bench makes changes to the provider's instances one at a time — register (CREATE), status
 * change (UPDATE), deregister (DELETE) — timing each from just before the change request is sent
 * to the arrival of the matching event at the subscriber. The changes can be made on one replica
 * (`change`) and watched on another (`watch`, whose origin the WebSocket connects to): that is the
 * cross-replica delay of an etcd-backed registry (issue 8: p99 ≤ 100 ms).
 */
import WebSocket from 'ws';
import type { ScClient } from '../lib/sc-client.ts';

export interface WatchResult {
  /** Delays in ms, one per change that produced its event. */
  readonly delays: number[];
  /** Changes whose event did not arrive within the timeout. */
  readonly missed: number;
}

interface WatchEvent {
  action?: string;
  instance?: { instanceId?: string; status?: string };
}

export async function measureWatchDelay(
  change: ScClient,
  watch: ScClient,
  changes: number,
  spacingMs = 5,
  timeoutMs = 2000,
): Promise<WatchResult> {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const client = change;
  const consumerId = await client.createService(`watch-consumer-${tag}`);
  const providerId = await client.createService(`watch-provider-${tag}`);
  const seed = await client.registerInstance(providerId, {
    endpoints: ['rest://127.0.0.9:1'],
    hostName: 'seed',
  });
  // the find that records the dependency goes to the watching replica, which may need a moment to
  // see services created on another one
  const found = await retryFind(watch, `watch-provider-${tag}`, consumerId);
  if (found.status !== 200) throw new Error(`find with X-ConsumerId: HTTP ${found.status}`);

  const wsUrl = `${watch.origin.replace(/^http/, 'ws')}/v4/default/registry/microservices/${consumerId}/watcher`;
  const ws = new WebSocket(wsUrl, { headers: { 'x-domain-name': 'default' } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // key -> resolver of the change waiting for its event
  const waiting = new Map<string, (t: number) => void>();
  ws.on('message', (data) => {
    const t = performance.now();
    let ev: WatchEvent;
    try {
      ev = JSON.parse(String(data)) as WatchEvent;
    } catch {
      return;
    }
    const key = `${ev.action}:${ev.instance?.instanceId}`;
    const done =
      waiting.get(key) ?? waiting.get(`${ev.action}:${ev.instance?.instanceId}:${ev.instance?.status}`);
    if (done) done(t);
  });
  const delays: number[] = [];
  let missed = 0;
  const timed = async (key: string, change: () => Promise<unknown>): Promise<void> => {
    let resolveEvent!: (t: number) => void;
    const arrived = new Promise<number>((r) => {
      resolveEvent = r;
    });
    waiting.set(key, resolveEvent);
    const t0 = performance.now();
    await change();
    const timer = new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs).unref());
    const t = await Promise.race([arrived, timer]);
    waiting.delete(key);
    if (t === undefined) missed++;
    else delays.push(t - t0);
  };
  try {
    let i = 0;
    while (delays.length + missed < changes) {
      // CREATE with a caller-chosen id, so the event can be matched before the answer arrives
      const iid = `w${tag}x${i++}`.replace(/[^A-Za-z0-9_.-]/g, '');
      await timed(`CREATE:${iid}`, () =>
        client.call('POST', `/microservices/${providerId}/instances`, {
          instance: {
            instanceId: iid,
            hostName: 'w',
            endpoints: [`rest://127.0.0.9:${1000 + i}`],
            healthCheck: { mode: 'push', interval: 300, times: 3 },
          },
        }),
      );
      await sleepMs(spacingMs);
      await timed(`UPDATE:${iid}:DOWN`, () =>
        client.call('PUT', `/microservices/${providerId}/instances/${iid}/status?value=DOWN`),
      );
      await sleepMs(spacingMs);
      await timed(`DELETE:${iid}`, () =>
        client.call('DELETE', `/microservices/${providerId}/instances/${iid}`),
      );
      await sleepMs(spacingMs);
    }
  } finally {
    ws.close();
    await client.deregister(providerId, seed).catch(() => 0);
  }
  return { delays, missed };
}

async function retryFind(c: ScClient, name: string, consumerId: string) {
  for (let i = 0; ; i++) {
    const r = await c.find(name, consumerId);
    const n = (r.json as { instances?: unknown[] } | undefined)?.instances?.length ?? 0;
    if ((r.status === 200 && n > 0) || i >= 50) return r;
    await sleepMs(20);
  }
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
