/**
 * @module bench/peers/haproxy
 * The HAProxy reverse-proxy peer: one thread on the proxy core, HTTP mode, keep-alive on both
 * sides with connection reuse to the backend. Runs in the foreground (`-db`) as our child.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type Started, type Supervisor, waitUntil } from '../lib/procs.ts';
import { httpOk } from './probe.ts';

export async function startHaproxy(
  sup: Supervisor,
  bin: string,
  cpu: string,
  backendPort: number,
): Promise<{ port: number; proc: Started }> {
  const dir = join(sup.tmpDir, 'haproxy');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 8000
  tune.bufsize 32768

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s

frontend fe
  bind 127.0.0.1:${port}
  default_backend be

backend be
  server b1 127.0.0.1:${backendPort} maxconn 4096
`,
  );
  const proc = sup.spawn('haproxy', bin, ['-db', '-f', file], { cpu, server: true });
  await waitUntil(
    () => `haproxy on ${port}: ${proc.output().slice(-300)}`,
    () => httpOk(`http://127.0.0.1:${port}/__ready`),
  );
  return { port, proc };
}
