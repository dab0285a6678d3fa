/**
 * Test preload (src/cli/footprint.test.ts): `node --import tsx --import ./module-probe.mjs ...`.
 * When the parent writes a line to the child's stdin, the child answers on stderr with one line,
 * `MODULE-PROBE {json}`: Node's internal modules loaded so far (process.moduleLoadList), the
 * CommonJS files in require.cache (npm packages: pino, undici, prom-client, etcd3...), how often
 * the global fetch was called (it is wrapped here, without being loaded), and V8's new-space size.
 * Nothing here runs unless asked; it is never part of the product.
 */
import { createRequire } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';

const req = createRequire(import.meta.url);
const fetchProperty = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
let fetchCalls = 0;
Object.defineProperty(globalThis, 'fetch', {
  configurable: true,
  writable: true,
  value: (...args) => {
    fetchCalls++;
    const real = fetchProperty.get ? fetchProperty.get.call(globalThis) : fetchProperty.value;
    return real(...args);
  },
});
process.stdin.setEncoding('utf8');
process.stdin.on('data', () => {
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  const probe = {
    builtins: process.moduleLoadList,
    cjs: Object.keys(req.cache),
    fetchCalls,
    newSpaceBytes: newSpace ? newSpace.space_size : -1,
  };
  process.stderr.write(`MODULE-PROBE ${JSON.stringify(probe)}\n`);
});
