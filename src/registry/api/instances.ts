/**
 * @module registry/api/instances
 * Routes for instances, heartbeats, discovery (find and batch query) and dependencies
 * (spec §3, §4, §6).
 */
import { RegistryError } from '../errors.ts';
import type { Route } from '../http/router.ts';
import type { RegistryContext } from '../ops/context.ts';
import { listConsumers, listProviders, putDependencies } from '../ops/dependencies.ts';
import { batchFind, find, getInstance, listInstances, parseTags } from '../ops/discovery.ts';
import {
  bulkStatus,
  deregisterInstance,
  heartbeat,
  heartbeats,
  registerInstance,
  setInstanceProperties,
  setInstanceStatus,
} from '../ops/instances.ts';
import { isObject, pathId } from '../validate.ts';
import { header, list, withRevision } from './shape.ts';

const MS = '/v4/:project/registry/microservices';
const INST = `${MS}/:serviceId/instances`;
const REGISTER_LIMIT = 5 * 1024;
const PROPS_LIMIT = 3 * 1024;

export function instanceRoutes(ctx: RegistryContext): Route[] {
  return [
    {
      method: 'POST',
      pattern: INST,
      bodyLimit: REGISTER_LIMIT,
      handler: async (r) => {
        if (!isObject(r.body) || !isObject(r.body.instance))
          throw new RegistryError(400001, "invalid field 'instance': required");
        const instanceId = await registerInstance(ctx, r.tenant, r.params.serviceId!, r.body.instance);
        return { body: { instanceId } };
      },
    },
    {
      method: 'GET',
      pattern: INST,
      handler: (r) => {
        const tags = parseTags(r.query.get('tags'));
        const res = listInstances(ctx, r.tenant, r.params.serviceId!, header(r, 'x-consumerid'), tags);
        return withRevision(r, res.rev, res.json);
      },
    },
    {
      method: 'GET',
      pattern: `${INST}/:instanceId`,
      handler: (r) => {
        const res = getInstance(
          ctx,
          r.tenant,
          r.params.serviceId!,
          r.params.instanceId!,
          header(r, 'x-consumerid'),
        );
        return withRevision(r, res.rev, `{"instance":${res.json}}`);
      },
    },
    {
      method: 'DELETE',
      pattern: `${INST}/:instanceId`,
      handler: async (r) => {
        await deregisterInstance(ctx, r.tenant, r.params.serviceId!, r.params.instanceId!);
        return undefined;
      },
    },
    {
      method: 'PUT',
      pattern: `${INST}/:instanceId/heartbeat`,
      handler: (r) => {
        heartbeat(ctx, r.tenant, r.params.serviceId!, r.params.instanceId!);
        return undefined;
      },
    },
    {
      method: 'PUT',
      pattern: '/v4/:project/registry/heartbeats',
      handler: (r) => ({ body: { instances: heartbeats(ctx, r.tenant, r.body) } }),
    },
    {
      method: 'PUT',
      pattern: `${INST}/:instanceId/status`,
      handler: async (r) => {
        await setInstanceStatus(
          ctx,
          r.tenant,
          r.params.serviceId!,
          r.params.instanceId!,
          r.query.get('value'),
        );
        return undefined;
      },
    },
    {
      method: 'PUT',
      pattern: `${INST}/:instanceId/properties`,
      bodyLimit: PROPS_LIMIT,
      handler: async (r) => {
        await setInstanceProperties(ctx, r.tenant, r.params.serviceId!, r.params.instanceId!, r.body);
        return undefined;
      },
    },
    {
      method: 'PUT',
      pattern: '/v4/:project/registry/instances/status',
      handler: async (r) => {
        await bulkStatus(ctx, r.tenant, r.body);
        return undefined;
      },
    },
    // --- discovery ---
    {
      method: 'GET',
      pattern: '/v4/:project/registry/instances',
      handler: async (r) => {
        const res = await find(ctx, r.tenant, {
          appId: r.query.get('appId') ?? '',
          serviceName: r.query.get('serviceName') ?? '',
          env: r.query.get('env') ?? '',
          tags: parseTags(r.query.get('tags')),
          consumerId: header(r, 'x-consumerid'),
        });
        return withRevision(r, res.rev, res.json);
      },
    },
    {
      method: 'POST',
      pattern: '/v4/:project/registry/instances/action',
      handler: async (r) => {
        if (r.query.get('type') !== 'query')
          throw new RegistryError(400001, `Invalid action: ${(r.query.get('type') ?? '').slice(0, 64)}`);
        return { body: await batchFind(ctx, r.tenant, r.body, header(r, 'x-consumerid')) };
      },
    },
    // --- dependencies ---
    {
      method: 'POST',
      pattern: '/v4/:project/registry/dependencies',
      handler: async (r) => {
        await putDependencies(ctx, r.tenant, r.body, false);
        return { headers: { Deprecation: 'version="v4"' } };
      },
    },
    {
      method: 'PUT',
      pattern: '/v4/:project/registry/dependencies',
      handler: async (r) => {
        await putDependencies(ctx, r.tenant, r.body, true);
        return { headers: { Deprecation: 'version="v4"' } };
      },
    },
    {
      method: 'GET',
      pattern: `${MS}/:serviceId/providers`,
      handler: (r) => ({
        body: list('providers', listProviders(ctx, r.tenant, pathId(r.params.serviceId!, 'serviceId'))),
      }),
    },
    {
      method: 'GET',
      pattern: `${MS}/:serviceId/consumers`,
      handler: (r) => ({
        body: list('consumers', listConsumers(ctx, r.tenant, pathId(r.params.serviceId!, 'serviceId'))),
      }),
    },
  ];
}
