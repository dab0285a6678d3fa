/**
 * @module bench/peers/node-proxies
 * Starts the two Node.js peers (bare-proxy.mjs, http-proxy-peer.mjs) pinned to the proxy core.
 */
import { join } from 'node:path';
import { freePort, type Started, type Supervisor, waitUntil } from '../lib/procs.ts';
import { httpOk } from './probe.ts';

const SCRIPTS = { 'node-bare': 'bare-proxy.mjs', 'http-proxy': 'http-proxy-peer.mjs' } as const;

export async function startNodePeer(
  sup: Supervisor,
  kind: keyof typeof SCRIPTS,
  cpu: string,
  backendPort: number,
): Promise<{ port: number; proc: Started }> {
  const port = await freePort();
  const script = join(import.meta.dirname, SCRIPTS[kind]);
  const proc = sup.spawn(kind, process.execPath, [script, String(port), String(backendPort)], {
    cpu,
    server: true,
    cwd: join(import.meta.dirname, '../..'),
  });
  await waitUntil(
    () => `${kind} on ${port}: ${proc.output().slice(-300)}`,
    () => httpOk(`http://127.0.0.1:${port}/__ready`),
  );
  return { port, proc };
}
