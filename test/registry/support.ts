/**
 * Helpers for the registry's HTTP suites: start an in-process registry on 127.0.0.1:0 and call
 * it with fetch, getting status, headers, raw text and parsed JSON back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { type RegistryOptions, type RegistryServer, startRegistry } from '../../src/registry/main.ts';
import { EmbeddedStore } from '../../src/registry/storage/embedded-store.ts';
import { ManualClock } from '../../src/shared/clock.ts';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience for deep property access
  json: any;
}

export interface Client {
  (
    method: string,
    path: string,
    opts?: { body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  server: RegistryServer;
  clock: ManualClock;
}

export async function startTestRegistry(opts: RegistryOptions = {}): Promise<Client> {
  const clock = (opts.clock as ManualClock | undefined) ?? new ManualClock();
  const server = await startRegistry({ port: 0, dataDir: null, ...opts, clock });
  const call = async (
    method: string,
    path: string,
    o: { body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const body = o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    const res = await fetch(`${server.url}${path}`, { method, body, headers: o.headers });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return Object.assign(call, { server, clock });
}

/** A fresh temp dir for this test file, removed in its after(): never shared between files. */
export function fileTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A registry on a durable embedded store in `dataDir` whose durable writes fail with a simulated
 * EIO while `fail(true)` is in force (until `fail(false)`).
 */
export async function startFaultyRegistry(
  dataDir: string,
): Promise<{ c: Client; clock: ManualClock; fail(on: boolean): void }> {
  const clock = new ManualClock();
  let failing = false;
  const store = await EmbeddedStore.open({
    clock,
    dataDir,
    faultInjector: () => (failing ? new Error('EIO: simulated disk error') : undefined),
  });
  const c = await startTestRegistry({ clock, store });
  return {
    c,
    clock,
    fail(on) {
      failing = on;
    },
  };
}

export const MS = '/v4/default/registry/microservices';

/** Create a service and return its id. */
export async function createService(
  c: Client,
  service: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  const r = await c('POST', MS, { body: { service }, headers });
  assert.equal(r.status, 200, r.text);
  return r.json.serviceId as string;
}

export async function registerInstance(
  c: Client,
  sid: string,
  instance: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  const r = await c('POST', `${MS}/${sid}/instances`, { body: { instance }, headers });
  assert.equal(r.status, 200, r.text);
  return r.json.instanceId as string;
}

/** Assert a service-center error envelope. */
export function assertError(r: Reply, code: string, detailIncludes?: string): void {
  assert.equal(r.status, Math.floor(Number(code) / 1000), r.text);
  assert.equal(r.json?.errorCode, code, r.text);
  assert.equal(typeof r.json.errorMessage, 'string');
  if (detailIncludes) assert.ok(String(r.json.detail).includes(detailIncludes), r.text);
}
