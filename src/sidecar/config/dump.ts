/**
 * @module sidecar/config/dump
 * The reverse of loading: a SidecarConfig written back as chassis.yaml / microservice.yaml /
 * mesher.yaml text. Loading the output gives the same typed config (the round-trip test checks
 * this), so it doubles as "show me the effective config as files" for operators.
 * Only the keys this module types are written; `flat` passthrough keys are not.
 */
import { stringify } from 'yaml';
import { formatDurationMs } from './duration.ts';
import type { HostPort, SidecarConfig } from './types.ts';

const hp = (a: HostPort) => `${a.host}:${a.port}`;

export function dumpSidecarConfig(config: SidecarConfig): Record<string, string> {
  const { listeners: l, registry: r, service: s, loadBalance: lb } = config;
  const protocols: Record<string, Record<string, string>> = {
    http: { listenAddress: hp(l.inbound ?? l.outbound) },
  };
  if (l.advertise && l.inbound && hp(l.advertise) !== hp(l.inbound)) {
    (protocols.http as Record<string, string>).advertiseAddress = hp(l.advertise);
  }
  if (l.admin) protocols['rest-admin'] = { listenAddress: hp(l.admin) };
  const loadbalance: Record<string, unknown> = { strategy: { name: lb.strategy } };
  for (const [svc, v] of Object.entries(lb.perService)) loadbalance[svc] = { strategy: { name: v.strategy } };
  const chassis: Record<string, unknown> = {
    servicecomb: {
      protocols,
      registry: {
        address: r.addresses.join(','),
        watch: r.watch,
        refreshInterval: formatDurationMs(r.refreshIntervalMs),
        heartbeat: { interval: formatDurationMs(r.heartbeatIntervalMs) },
      },
      loadbalance,
    },
  };
  if (s.dataCenter) chassis.region = { name: s.dataCenter.region, availableZone: s.dataCenter.availableZone };
  const microservice = {
    servicecomb: {
      service: {
        name: s.name,
        app: s.app,
        version: s.version,
        environment: s.environment,
        hostname: s.hostname,
        properties: { ...s.properties },
        instanceProperties: { ...s.instanceProperties },
      },
    },
  };
  return {
    'chassis.yaml': stringify(chassis),
    'microservice.yaml': stringify(microservice),
    'mesher.yaml': stringify({
      admin: { enable: l.admin !== null },
      ...(config.proxy === undefined ? {} : { mesher: { proxy: { engine: config.proxy.engine } } }),
    }),
  };
}
