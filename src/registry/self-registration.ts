/**
 * @module registry/self-registration
 * The registry registers itself as `SERVICECENTER` (service-center §8.3 "cluster mode") so that
 * `GET /v4/{project}/registry/health` lists every live replica and clients with auto-discovery
 * learn the replica list from it.
 *
 * Many replicas share one etcd, so:
 * - creating the SERVICECENTER microservice is idempotent (a replica that loses the create race
 *   waits for the winner's record to reach its cache);
 * - each replica registers its own instance with a stable instanceId derived from its address, and
 *   at start removes only an instance left at its own endpoint by an earlier run (the embedded store
 *   serves one process, so there every SERVICECENTER instance is such a leftover);
 * - the instance is kept alive every `heartbeatMs` (a quarter of its TTL) and written again if its
 *   lease was lost (e.g. it expired while this replica was cut off from etcd).
 */
import { createHash } from 'node:crypto';
import type { TimerHandle } from '../shared/clock.ts';
import type { Logger } from '../shared/log.ts';
import { isRegistryError } from './errors.ts';
import { type RegistryContext, SELF_NAME } from './ops/context.ts';
import { deregisterInstance, registerInstance } from './ops/instances.ts';
import { createService, parseService } from './ops/services.ts';

/** Self-heartbeat period; the self instance's TTL is 4 × this (interval 10 s, times 3). */
export const SELF_HEARTBEAT_MS = 10_000;
const SELF_HEALTH_CHECK = { mode: 'push', interval: 10, times: 3 } as const;
const TENANT = 'default/default';

export interface SelfRegistrationOptions {
  /** `rest://host:port/`, the endpoint clients use to reach this replica. */
  endpoint: string;
  hostName: string;
  /** true: the store is shared with other replicas (etcd) — never touch their instances. */
  shared: boolean;
  log: Logger;
  heartbeatMs?: number;
}

export interface SelfRegistration {
  stop(): void;
  /** Deregister (explicitly, so other replicas drop it at once). */
  deregister(): Promise<void>;
}

/** The stable SERVICECENTER instanceId of the replica at `endpoint`. */
export function selfInstanceId(endpoint: string): string {
  return createHash('sha1').update(`${SELF_NAME}|${endpoint}`).digest('hex').slice(0, 32);
}

export async function registerSelf(
  ctx: RegistryContext,
  opts: SelfRegistrationOptions,
): Promise<SelfRegistration> {
  const { catalog, clock, config } = ctx;
  const svc = parseService(
    {
      appId: 'default',
      serviceName: SELF_NAME,
      alias: SELF_NAME,
      version: config.version,
      environment: config.environment,
      level: 'BACK',
      properties: { allowCrossApp: 'true' },
    },
    clock.now(),
  );
  const serviceId = await createServiceConverging(ctx, svc);
  const instanceId = selfInstanceId(opts.endpoint);
  for (const e of [...(catalog.instancesOf(TENANT, serviceId)?.values() ?? [])]) {
    if (opts.shared && !e.inst.endpoints?.includes(opts.endpoint)) continue;
    await deregisterInstance(ctx, TENANT, serviceId, e.inst.instanceId).catch((err: unknown) => {
      if (!isRegistryError(err)) throw err; // already gone: fine
    });
  }
  const body = {
    instanceId,
    hostName: opts.hostName,
    endpoints: [opts.endpoint],
    healthCheck: SELF_HEALTH_CHECK,
  };
  await registerInstance(ctx, TENANT, serviceId, body);
  ctx.self = { tenant: TENANT, serviceId, instanceId };

  let busy = false;
  const beat = async () => {
    if (busy) return;
    busy = true;
    try {
      const e = catalog.instance(TENANT, serviceId, instanceId);
      if (e && ctx.store.keepAlive(e.lease)) return;
      if (!ctx.store.health().ok) return; // cannot write now; try again next beat
      await registerInstance(ctx, TENANT, serviceId, body);
      opts.log.info({ instanceId }, 'SERVICECENTER instance registered again (its lease was lost)');
    } catch (err) {
      opts.log.warn({ err }, 'self-heartbeat failed');
    } finally {
      busy = false;
    }
  };
  const timer: TimerHandle = clock.setInterval(() => void beat(), opts.heartbeatMs ?? SELF_HEARTBEAT_MS);
  return {
    stop: () => timer.cancel(),
    async deregister() {
      timer.cancel();
      if (!catalog.instance(TENANT, serviceId, instanceId)) return;
      await deregisterInstance(ctx, TENANT, serviceId, instanceId).catch(() => undefined);
    },
  };
}

/**
 * createService, tolerating the race between replicas starting together: the loser's compare
 * fails, and the winner's record may not have reached this replica's cache yet (400010). Waits
 * up to ~5 s of real time for it; start-up only.
 */
async function createServiceConverging(
  ctx: RegistryContext,
  svc: ReturnType<typeof parseService>,
): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await createService(ctx, TENANT, svc);
    } catch (err) {
      if (!isRegistryError(err) || err.code !== 400010 || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
