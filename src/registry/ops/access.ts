/**
 * @module registry/ops/access
 * Who may see whom (spec §4.4): same app or provider `allowCrossApp=true`, and same environment
 * unless the provider is global (default/default, app `default`, SERVICECENTER or configured).
 */
import type { MicroService, Tenant } from '../model.ts';
import type { RegistryContext } from './context.ts';
import { SELF_NAME } from './context.ts';

export function isGlobalName(ctx: RegistryContext, t: Tenant, appId: string, name: string): boolean {
  return (
    t === 'default/default' &&
    appId === 'default' &&
    (name === SELF_NAME || ctx.config.globalVisible.includes(name))
  );
}

export function isGlobal(ctx: RegistryContext, t: Tenant, svc: MicroService): boolean {
  return (
    isGlobalName(ctx, t, svc.appId, svc.serviceName) ||
    (svc.alias !== undefined && isGlobalName(ctx, t, svc.appId, svc.alias))
  );
}

export function canAccess(
  ctx: RegistryContext,
  t: Tenant,
  consumer: MicroService,
  provider: MicroService,
): boolean {
  const crossApp = (provider.properties?.allowCrossApp ?? '').toLowerCase() === 'true';
  if (consumer.appId !== provider.appId && !crossApp) return false;
  if ((consumer.environment ?? '') !== (provider.environment ?? '') && !isGlobal(ctx, t, provider))
    return false;
  return true;
}
