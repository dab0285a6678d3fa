/**
 * Per-file cleanup for integration tests: what a test starts (registries, sidecars, upstreams,
 * child processes, proxy agents) is pushed here and closed newest first in the file's after(),
 * each close best effort, so one failing close cannot skip the others or fail the file.
 */
import { after } from 'node:test';
import { ProxyAgent } from 'undici';
import type { Sidecar } from '../../src/sidecar/main.ts';

export type Closer = () => Promise<unknown>;

/** A list of cleanups run (newest first) in this file's after(). Call once, at module level. */
export function fileClosers(): Closer[] {
  const closers: Closer[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  });
  return closers;
}

/** An undici agent that sends plain HTTP requests to `sidecar`'s outbound proxy; closed in after(). */
export function proxyFor(sidecar: Sidecar, closers: Closer[]): ProxyAgent {
  const agent = new ProxyAgent({
    uri: `http://127.0.0.1:${sidecar.addresses.outbound.port}`,
    proxyTunnel: false,
  });
  closers.push(() => agent.close());
  return agent;
}
