/**
 * @module bench/mesher/scaling
 * Issue 7 item 4, the scaling curve: does the sidecar's cost grow with the size of the mesh?
 *  - upstream instances: for K in 1, 10, 100, 1,000 a service `scale-K` with K instances, each a
 *    distinct loopback address (127.0.1.1, 127.0.1.2, ...) on which the backend nginx also
 *    listens, behind its own consumer sidecar; all K run side by side, interleaved;
 *  - services known: one consumer sidecar whose directory is grown to 1, 10, 100 and 1,000
 *    tracked services (filler services, one instance each, warmed with one request apiece)
 *    between measurements of the same target service.
 */
import type { Supervisor } from '../lib/procs.ts';
import type { Scenario } from '../lib/scenario.ts';
import { httpOk } from '../peers/probe.ts';
import { type Mesh, startConsumer } from './mesh.ts';

export const SCALE_POINTS = [1, 10, 100, 1000] as const;

/** The i-th instance address: 127.0.1.1 … 127.0.4.250 (250 per /24, never .0 or .255). */
export function scaleIp(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

export function scaleIps(n: number): string[] {
  return Array.from({ length: n }, (_, i) => scaleIp(i));
}

async function registerMany(mesh: Mesh, sid: string, endpoints: readonly string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < endpoints.length) {
        const ep = endpoints[next++]!;
        // TTL 300 s × 4: the run never needs a heartbeat
        await mesh.client.registerInstance(sid, {
          endpoints: [ep],
          hostName: 'scale',
          intervalS: 300,
          times: 3,
        });
      }
    }),
  );
}

/** One consumer sidecar per point, each calling a service with K instances. */
export async function startInstanceScaling(
  sup: Supervisor,
  mesh: Mesh,
  cpu: string,
  backendPort: number,
): Promise<Scenario[]> {
  const out: Scenario[] = [];
  for (const k of SCALE_POINTS) {
    const name = `scale-${k}`;
    const sid = await mesh.client.createService(name);
    await registerMany(
      mesh,
      sid,
      scaleIps(k).map((ip) => `rest://${ip}:${backendPort}`),
    );
    const c = await startConsumer(sup, mesh, `inst${k}`, cpu, name);
    out.push({
      id: `instances-${k}`,
      label: `${k} instance${k > 1 ? 's' : ''}`,
      target: (b) => ({ origin: c.origin, path: `/${b}`, host: name }),
      proxyPids: () => [c.proc.pid],
    });
  }
  return out;
}

export interface ServiceScaling {
  readonly scenario: Scenario;
  /** Make the sidecar track `known` services in all (target included). */
  grow(known: number): Promise<void>;
}

export async function startServiceScaling(
  sup: Supervisor,
  mesh: Mesh,
  cpu: string,
  backendPort: number,
): Promise<ServiceScaling> {
  const max = SCALE_POINTS[SCALE_POINTS.length - 1]!;
  const target = 'known-target';
  await registerMany(mesh, await mesh.client.createService(target), [`rest://127.0.0.1:${backendPort}`]);
  const fillers: string[] = [];
  let created = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (created < max - 1) {
        const name = `fill-${String(created++).padStart(4, '0')}`;
        fillers.push(name);
        await registerMany(mesh, await mesh.client.createService(name), [`rest://127.0.0.1:${backendPort}`]);
      }
    }),
  );
  fillers.sort();
  const c = await startConsumer(sup, mesh, 'known', cpu, target);
  let known = 1;
  return {
    scenario: {
      id: 'services-known',
      label: 'services known',
      target: (b) => ({ origin: c.origin, path: `/${b}`, host: target }),
      proxyPids: () => [c.proc.pid],
    },
    async grow(want: number) {
      const todo = fillers.slice(known - 1, want - 1);
      let i = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (i < todo.length) {
            const name = todo[i++]!;
            if (!(await httpOk(`${c.origin}/__ready`, name, 5000))) throw new Error(`warming ${name} failed`);
          }
        }),
      );
      known = Math.max(known, want);
    },
  };
}
