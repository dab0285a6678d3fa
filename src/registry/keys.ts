/**
 * @module registry/keys
 * The storage key layout, after service-center's (spec §8.1), so data written here reads the
 * same in an etcd backend. `{dp}` is the tenant `{domain}/{project}`.
 */
import { createHash } from 'node:crypto';

export const ROOT = '/cse-sr';

export const keys = {
  service: (t: string, sid: string) => `${ROOT}/ms/files/${t}/${sid}`,
  servicePrefix: `${ROOT}/ms/files/`,
  index: (t: string, env: string, app: string, name: string, ver: string) =>
    `${ROOT}/ms/indexes/${t}/${env}/${app}/${name}/${ver}`,
  alias: (t: string, env: string, app: string, alias: string, ver: string) =>
    `${ROOT}/ms/alias/${t}/${env}/${app}/${alias}/${ver}`,
  tags: (t: string, sid: string) => `${ROOT}/ms/tags/${t}/${sid}`,
  tagsPrefix: `${ROOT}/ms/tags/`,
  schemaRef: (t: string, sid: string, schemaId: string) => `${ROOT}/ms/schema-ref/${t}/${sid}/${schemaId}`,
  schemaRefPrefix: `${ROOT}/ms/schema-ref/`,
  schemaRefs: (t: string, sid: string) => `${ROOT}/ms/schema-ref/${t}/${sid}/`,
  schemaContent: (t: string, hash: string) => `${ROOT}/ms/schema-content/${t}/${hash}`,
  schemaSum: (t: string, sid: string, schemaId: string) => `${ROOT}/ms/schema-sum/${t}/${sid}/${schemaId}`,
  schemaSums: (t: string, sid: string) => `${ROOT}/ms/schema-sum/${t}/${sid}/`,
  depRule: (t: string, side: 'c' | 'p', env: string, app: string, name: string, ver: string) =>
    `${ROOT}/ms/dep-rules/${t}/${side}/${env}/${app}/${name}/${ver}`,
  depRulePrefix: `${ROOT}/ms/dep-rules/`,
  instance: (t: string, sid: string, iid: string) => `${ROOT}/inst/files/${t}/${sid}/${iid}`,
  instancePrefix: `${ROOT}/inst/files/`,
  instances: (t: string, sid: string) => `${ROOT}/inst/files/${t}/${sid}/`,
  domain: (d: string) => `${ROOT}/domains/${d}`,
  project: (d: string, p: string) => `${ROOT}/projects/${d}/${p}`,
};

/** The deterministic service id: lower-case hex SHA-1 of the index key (spec §2.2 step 5). */
export function serviceIdFor(indexKey: string): string {
  return createHash('sha1').update(indexKey).digest('hex');
}

/** Split `/prefix/{d}/{p}/rest...` into tenant and the remaining segments. */
export function splitTenantKey(key: string, prefix: string): { tenant: string; rest: string[] } | null {
  const parts = key.slice(prefix.length).split('/');
  if (parts.length < 3) return null;
  return { tenant: `${parts[0]}/${parts[1]}`, rest: parts.slice(2) };
}
