import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CATALOGUE, isMeshError, MeshError } from './errors.ts';

test('MeshError takes its status from the catalogue unless overridden', () => {
  const e = new MeshError('NO_ENDPOINTS', { service: 'server2' });
  assert.equal(e.status, 503);
  assert.deepEqual(e.toBody(), {
    code: 'NO_ENDPOINTS',
    message: ERROR_CATALOGUE.NO_ENDPOINTS.message,
    service: 'server2',
  });
  assert.equal(new MeshError('FAULT_INJECTED', { status: 418 }).status, 418);
});

test('isMeshError recognises the brand, not just the class', () => {
  assert.equal(isMeshError(new MeshError('INTERNAL')), true);
  assert.equal(isMeshError(new Error('x')), false);
  assert.equal(isMeshError({ code: 'INTERNAL' }), false);
  assert.equal(isMeshError(null), false);
});

test('every catalogue status is an HTTP error status', () => {
  for (const [code, v] of Object.entries(ERROR_CATALOGUE)) {
    assert.ok(v.status >= 400 && v.status < 600, code);
  }
});
