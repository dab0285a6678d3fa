/**
 * Start an in-process sidecar (resilience steps are built in) with its resilience keys in a
 * `resilience.yaml` of its conf dir; `reload(yaml)` rewrites that file and swaps the config in
 * with `dataPlane.setConfig`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxyAgent } from 'undici';
import { loadSidecarConfig } from '../../src/sidecar/config/index.ts';
import type { SidecarConfig } from '../../src/sidecar/config/types.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/main.ts';
import type { Resilience } from '../../src/sidecar/resilience.ts';
import { type TestSidecarSpec, writeSidecarConf } from './mesh.ts';

export interface ResilientSidecar {
  readonly sidecar: Sidecar;
  readonly resilience: Resilience;
  /** A client that sends requests through the outbound proxy. */
  readonly proxy: ProxyAgent;
  reload(yaml: string): SidecarConfig;
  close(): Promise<void>;
}

export async function startResilientSidecar(spec: TestSidecarSpec, yaml = ''): Promise<ResilientSidecar> {
  const confDir = writeSidecarConf(spec);
  const file = join(confDir, 'resilience.yaml');
  writeFileSync(file, yaml);
  const env: Record<string, string | undefined> = { PATH: process.env.PATH };
  if (spec.appPort !== undefined) env.SERVICE_PORTS = `rest:${spec.appPort}`;
  const { config } = loadSidecarConfig({ confDir, env });
  const sidecar = await startSidecar({ config, watchConfig: false });
  const resilience = sidecar.resilience;
  const proxy = new ProxyAgent({
    uri: `http://127.0.0.1:${sidecar.addresses.outbound.port}`,
    proxyTunnel: false,
  });
  return {
    sidecar,
    resilience,
    proxy,
    reload(next: string) {
      writeFileSync(file, next);
      const loaded = loadSidecarConfig({ confDir, env }).config;
      const running = sidecar.config();
      const merged = Object.freeze({ ...loaded, listeners: running.listeners, service: running.service });
      sidecar.dataPlane.setConfig(merged);
      return merged;
    },
    async close() {
      await proxy.close();
      await sidecar.close();
    },
  };
}
