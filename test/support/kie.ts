/**
 * Config-center (Kie API) writes for integration tests: create or update a KV on a registry's
 * embedded config center and return its id, failing the test on any answer but 200.
 */
import assert from 'node:assert/strict';

async function kv(registryUrl: string, method: 'POST' | 'PUT', path: string, body: unknown): Promise<string> {
  const res = await fetch(`${registryUrl}/v1/default/kie/kv${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { id: string };
  assert.equal(res.status, 200, JSON.stringify(json));
  return json.id;
}

/** Create KV `key` = `value` with no labels; resolves with its id. */
export function putKv(registryUrl: string, key: string, value: string): Promise<string> {
  return kv(registryUrl, 'POST', '', { key, value, labels: {} });
}

/** Replace the value of KV `id`; resolves with its id. */
export function updateKv(registryUrl: string, id: string, value: string): Promise<string> {
  return kv(registryUrl, 'PUT', `/${id}`, { value });
}
