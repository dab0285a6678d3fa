/**
 * @module bench/peers/nginx
 * nginx in two roles: the backend every scenario ends at (static 1 KB / 64 KB files, one worker
 * on core 0) and the reverse-proxy peer (one worker on the proxy core, keep-alive upstream pool).
 * Configs are written under .bench-tmp/<name>/ and nginx runs in the foreground as our child.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type Started, type Supervisor, waitUntil } from '../lib/procs.ts';
import { BODY_BYTES } from '../lib/scenario.ts';
import { httpOk } from './probe.ts';

function common(dir: string): string {
  return `daemon off;
master_process on;
user root;
worker_processes 1;
worker_rlimit_nofile 65535;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 16384; multi_accept on; }
`;
}

function httpCommon(dir: string): string {
  return `  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 10000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  tcp_nodelay on;
`;
}

async function startNginx(
  sup: Supervisor,
  bin: string,
  dir: string,
  conf: string,
  cpu: string,
  port: number,
) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const p = sup.spawn(`nginx:${dir}`, bin, ['-p', dir, '-c', file], { cpu, server: true });
  await waitUntil(
    () => `nginx on ${port}: ${p.output().slice(-300)}`,
    () => httpOk(`http://127.0.0.1:${port}/__ready`),
  );
  return p;
}

/** The backend: fixed bodies at /1k and /64k, readiness at /__ready. */
export async function startBackend(
  sup: Supervisor,
  bin: string,
  cpu: string,
  /** More loopback addresses to listen on with the same port (scaling: one per instance). */
  extraIps: readonly string[] = [],
): Promise<{ port: number; proc: Started }> {
  const dir = join(sup.tmpDir, 'backend');
  const www = join(dir, 'www');
  mkdirSync(www, { recursive: true });
  for (const [name, bytes] of Object.entries(BODY_BYTES)) writeFileSync(join(www, name), 'x'.repeat(bytes));
  writeFileSync(join(www, '__ready'), 'ok');
  const port = await freePort();
  const conf = `${common(dir)}http {
${httpCommon(dir)}  sendfile on;
  open_file_cache max=100 inactive=600s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
${extraIps.map((ip) => `    listen ${ip}:${port};\n`).join('')}    root ${www};
  }
}
`;
  const proc = await startNginx(sup, bin, dir, conf, cpu, port);
  return { port, proc };
}

/** The nginx reverse-proxy peer in front of the backend. */
export async function startNginxProxy(
  sup: Supervisor,
  bin: string,
  cpu: string,
  backendPort: number,
): Promise<{ port: number; proc: Started }> {
  const dir = join(sup.tmpDir, 'nginx-proxy');
  const port = await freePort();
  const conf = `${common(dir)}http {
${httpCommon(dir)}  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 1024;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const proc = await startNginx(sup, bin, dir, conf, cpu, port);
  return { port, proc };
}
