/**
 * @module registry/api/microservices
 * Routes for microservices, existence, properties, tags and schemas (spec §2, §6).
 */
import { RegistryError } from '../errors.ts';
import type { Route } from '../http/router.ts';
import type { RegistryContext } from '../ops/context.ts';
import { registerInstance } from '../ops/instances.ts';
import { deleteSchema, getSchema, listSchemas, putSchema, putSchemas } from '../ops/schemas.ts';
import {
  createService,
  deleteService,
  deleteServices,
  existence,
  getService,
  listServices,
  parseService,
  updateServiceProperties,
} from '../ops/services.ts';
import { deleteTags, getTags, parseTagMap, replaceTags, updateTag } from '../ops/tags.ts';
import { bool, isObject } from '../validate.ts';
import { list } from './shape.ts';

const MS = '/v4/:project/registry/microservices';
const PROPS_LIMIT = 3 * 1024;

export function microserviceRoutes(ctx: RegistryContext): Route[] {
  return [
    {
      method: 'POST',
      pattern: MS,
      handler: async (r) => {
        if (!isObject(r.body) || !isObject(r.body.service))
          throw new RegistryError(400001, 'Request body is empty');
        const svc = parseService(r.body.service, ctx.clock.now());
        const tags = parseTagMap(r.body.tags, ctx.config.quota.tags);
        const instances = r.body.instances ?? [];
        if (!Array.isArray(instances))
          throw new RegistryError(400001, "invalid field 'instances': must be an array");
        const serviceId = await createService(ctx, r.tenant, svc);
        const errMessages: string[] = [];
        if (Object.keys(tags).length > 0)
          await replaceTags(ctx, r.tenant, serviceId, { tags }).catch((e: Error) =>
            errMessages.push(e.message),
          );
        for (const inst of instances)
          await registerInstance(ctx, r.tenant, serviceId, inst).catch((e: Error) =>
            errMessages.push(e.message),
          );
        if (errMessages.length > 0)
          throw new RegistryError(400001, `errMessages: ${JSON.stringify(errMessages)}`);
        return { body: { serviceId } };
      },
    },
    {
      method: 'GET',
      pattern: MS,
      handler: (r) => ({
        body: list(
          'services',
          listServices(ctx, r.tenant, bool(r.query.get('withShared'), 'withShared') ?? false),
        ),
      }),
    },
    {
      method: 'DELETE',
      pattern: MS,
      handler: async (r) => ({ body: { services: await deleteServices(ctx, r.tenant, r.body) } }),
    },
    {
      method: 'GET',
      pattern: `${MS}/:serviceId`,
      handler: (r) => ({ body: { service: getService(ctx, r.tenant, r.params.serviceId!) } }),
    },
    {
      method: 'DELETE',
      pattern: `${MS}/:serviceId`,
      handler: async (r) => {
        const force = bool(r.query.get('force'), 'force') ?? false;
        await deleteService(ctx, r.tenant, r.params.serviceId!, force);
        return undefined;
      },
    },
    {
      method: 'PUT',
      pattern: `${MS}/:serviceId/properties`,
      bodyLimit: PROPS_LIMIT,
      handler: async (r) => {
        await updateServiceProperties(ctx, r.tenant, r.params.serviceId!, r.body);
        return undefined;
      },
    },
    {
      method: 'GET',
      pattern: '/v4/:project/registry/existence',
      handler: (r) => existence(ctx, r.tenant, r.query),
    },
    // --- tags ---
    {
      method: 'POST',
      pattern: `${MS}/:serviceId/tags`,
      handler: async (r) => {
        await replaceTags(ctx, r.tenant, r.params.serviceId!, r.body);
        return undefined;
      },
    },
    {
      method: 'GET',
      pattern: `${MS}/:serviceId/tags`,
      handler: (r) => {
        const tags = getTags(ctx, r.tenant, r.params.serviceId!);
        return { body: Object.keys(tags).length > 0 ? { tags } : {} };
      },
    },
    {
      method: 'PUT',
      pattern: `${MS}/:serviceId/tags/:key`,
      handler: async (r) => {
        await updateTag(ctx, r.tenant, r.params.serviceId!, r.params.key!, r.query.get('value'));
        return undefined;
      },
    },
    {
      method: 'DELETE',
      pattern: `${MS}/:serviceId/tags/:key`,
      handler: async (r) => {
        await deleteTags(ctx, r.tenant, r.params.serviceId!, r.params.key!);
        return undefined;
      },
    },
    // --- schemas ---
    {
      method: 'PUT',
      pattern: `${MS}/:serviceId/schemas/:schemaId`,
      handler: async (r) => {
        await putSchema(ctx, r.tenant, r.params.serviceId!, r.params.schemaId!, r.body);
        return undefined;
      },
    },
    {
      method: 'POST',
      pattern: `${MS}/:serviceId/schemas`,
      handler: async (r) => {
        await putSchemas(ctx, r.tenant, r.params.serviceId!, r.body);
        return undefined;
      },
    },
    {
      method: 'GET',
      pattern: `${MS}/:serviceId/schemas/:schemaId`,
      handler: (r) => {
        const s = getSchema(ctx, r.tenant, r.params.serviceId!, r.params.schemaId!);
        return { body: { schema: s.schema }, headers: { 'X-Schema-Summary': s.summary } };
      },
    },
    {
      method: 'GET',
      pattern: `${MS}/:serviceId/schemas`,
      handler: (r) => ({
        body: list('schemas', listSchemas(ctx, r.tenant, r.params.serviceId!, r.query.get('withSchema'))),
      }),
    },
    {
      method: 'DELETE',
      pattern: `${MS}/:serviceId/schemas/:schemaId`,
      handler: async (r) => {
        await deleteSchema(ctx, r.tenant, r.params.serviceId!, r.params.schemaId!);
        return undefined;
      },
    },
  ];
}
