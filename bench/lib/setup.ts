/**
 * @module bench/lib/setup
 * Starts the backend and every selected scenario, each proxy pinned to the proxy core. A
 * scenario that cannot start (peer not installed, mesher not built or failing) is returned as
 * Skipped with the reason, and the run goes on with the rest.
 */
import http from 'node:http';
import { join } from 'node:path';
import { type Mesh, startMesh, startMesher1, startMesher2 } from '../mesher/mesh.ts';
import {
  accessLogPath,
  fileBytes,
  startTraceSink,
  type TraceSink,
  telemetryVariant,
} from '../mesher/telemetry.ts';
import { startHaproxy } from '../peers/haproxy.ts';
import { startBackend, startNginxProxy } from '../peers/nginx.ts';
import { startNodePeer } from '../peers/node-proxies.ts';
import type { ToolName } from './install.ts';
import type { Supervisor } from './procs.ts';
import {
  BODY_BYTES,
  type BodySize,
  LABELS,
  type Scenario,
  type ScenarioId,
  type Skipped,
} from './scenario.ts';

export interface Cores {
  /** Backend, load generator and registry. */
  readonly load: string;
  /** Every proxy under test. */
  readonly proxy: string;
}

export interface Setup {
  readonly backendPort: number;
  readonly scenarios: Scenario[];
  readonly skipped: Skipped[];
  /** What the telemetry variants produced (spans received by the sink, access-log bytes). */
  telemetryNotes(): Promise<string[]>;
  close(): Promise<void>;
}

function simple(id: ScenarioId, port: number, pids: () => number[]): Scenario {
  return {
    id,
    label: LABELS[id],
    target: (b: BodySize) => ({ origin: `http://127.0.0.1:${port}`, path: `/${b}` }),
    proxyPids: pids,
  };
}

export async function startAll(
  sup: Supervisor,
  tools: Map<ToolName, string>,
  ids: readonly ScenarioId[],
  cores: Cores,
  log: (s: string) => void,
): Promise<Setup> {
  const nginx = tools.get('nginx');
  if (!nginx) throw new Error('nginx is required for the backend and is not available');
  const backend = await startBackend(sup, nginx, cores.load);
  log(`backend nginx on 127.0.0.1:${backend.port} (core ${cores.load})`);
  const scenarios: Scenario[] = [];
  const skipped: Skipped[] = [];
  let mesh: Mesh | undefined;
  let meshError: string | undefined;
  let sink: TraceSink | undefined;
  for (const id of ids) {
    try {
      scenarios.push(await startOne(id));
      log(`started ${LABELS[id]}`);
    } catch (err) {
      const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 240);
      skipped.push({ id, label: LABELS[id], reason });
      log(`SKIP ${LABELS[id]}: ${reason}`);
    }
  }
  return {
    backendPort: backend.port,
    scenarios,
    skipped,
    telemetryNotes: async () => {
      const notes: string[] = [];
      const ids = new Set(scenarios.map((s) => s.id));
      if (sink) {
        const st = await sink.stats();
        notes.push(
          st
            ? `trace sink received ${st.requests} export requests, ${(st.bytes / 1e6).toFixed(1)} MB`
            : 'trace sink did not answer',
        );
      }
      if (ids.has('mesher1-alog')) {
        const bytes = fileBytes(accessLogPath(join(sup.tmpDir, 'mesher1-alog')));
        notes.push(`access log written: ${(bytes / 1e6).toFixed(1)} MB`);
      }
      return notes;
    },
    close: async () => mesh?.close(),
  };

  async function startOne(id: ScenarioId): Promise<Scenario> {
    switch (id) {
      case 'direct':
        return simple(id, backend.port, () => []);
      case 'nginx': {
        const p = await startNginxProxy(sup, nginx!, cores.proxy, backend.port);
        return simple(id, p.port, () => [p.proc.pid]);
      }
      case 'haproxy': {
        const bin = tools.get('haproxy');
        if (!bin) throw new Error('haproxy is not installed');
        const p = await startHaproxy(sup, bin, cores.proxy, backend.port);
        return simple(id, p.port, () => [p.proc.pid]);
      }
      case 'http-proxy':
      case 'node-bare': {
        const p = await startNodePeer(sup, id, cores.proxy, backend.port);
        return simple(id, p.port, () => [p.proc.pid]);
      }
      case 'mesher1':
      case 'mesher2':
        return id === 'mesher1'
          ? startMesher1(sup, await meshOnce(), cores.proxy, backend.port)
          : startMesher2(sup, await meshOnce(), cores.proxy, backend.port);
      case 'mesher1-off':
      case 'mesher1-metrics':
      case 'mesher1-trace1':
      case 'mesher1-trace100':
      case 'mesher1-alog': {
        const m = await meshOnce();
        if (id === 'mesher1-trace1' || id === 'mesher1-trace100')
          sink ??= await startTraceSink(sup, cores.load);
        const variant = telemetryVariant(id, join(sup.tmpDir, id), sink);
        return startMesher1(sup, m, cores.proxy, backend.port, variant);
      }
    }
  }

  async function meshOnce(): Promise<Mesh> {
    if (meshError) throw new Error(meshError);
    if (!mesh) {
      try {
        mesh = await startMesh(sup, cores.load);
      } catch (err) {
        meshError = `registry: ${err instanceof Error ? err.message : String(err)}`;
        throw new Error(meshError);
      }
    }
    return mesh;
  }
}

/** One request per scenario and body size; the body must be exactly the backend's size. */
export async function verify(sc: Scenario): Promise<string | undefined> {
  for (const body of Object.keys(BODY_BYTES) as BodySize[]) {
    const t = sc.target(body);
    const r = await getOnce(t.origin, t.path, t.host);
    if (typeof r === 'string') return `${body}: ${r}`;
    if (r.status !== 200) return `${body}: HTTP ${r.status}`;
    if (r.bytes !== BODY_BYTES[body]) return `${body}: got ${r.bytes} bytes, want ${BODY_BYTES[body]}`;
  }
  return undefined;
}

function getOnce(
  origin: string,
  path: string,
  host?: string,
): Promise<{ status: number; bytes: number } | string> {
  const o = new URL(origin);
  return new Promise((resolve) => {
    const req = http.request(
      { host: o.hostname, port: o.port, path, headers: host ? { host } : {}, agent: false, timeout: 5000 },
      (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          bytes += d.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', (e) => resolve(e.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}
