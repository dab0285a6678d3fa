/**
 * @module bench/hot-path/scavenge-micro
 * The in-process reproduction of the raw upstream's scavenge survivors (docs/benchmarks.md,
 * "Young generation"): a data plane with the fast edge and the raw (or http.Agent) upstream in
 * front of a local 1 KB backend, driven by `--conns` keep-alive connections each sending one GET
 * every `--gap` ms, for `--seconds`. Run it under `--trace-gc-nvp` and read `new_space_survived`
 * of the last scavenges (1.2-1.4 MB with the raw upstream, 0.1-0.2 MB with the agent, on this
 * machine; the difference appears only once the sidecar's config modules are loaded, which
 * `--load-config` does):
 *
 *   node --trace-gc-nvp --import tsx bench/hot-path/scavenge-micro.ts --upstream raw --load-config \
 *     2>&1 | grep -o 'new_space_survived=[0-9]*' | tail -5
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../src/shared/log.ts';
import { createDataPlane } from '../../src/sidecar/data-plane.ts';
import { createRawUpstream } from '../../src/sidecar/h1/raw-upstream.ts';
import { createHttpAgentUpstream } from '../../src/sidecar/upstream/http-agent.ts';
import {
  endpointOf,
  FakeDirectory,
  FakeRoundRobin,
  testSidecarConfig,
} from '../../test/support/fake-directory.ts';

const { values } = parseArgs({
  options: {
    upstream: { type: 'string', default: 'raw' },
    'load-config': { type: 'boolean', default: false },
    conns: { type: 'string', default: '100' },
    gap: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '8' },
  },
});
if (values['load-config']) await import('../../src/sidecar/config/flat-read.ts');
setLogLevel('silent');

const body = Buffer.alloc(1024, 'a');
const backend = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-length': body.length });
  res.end(body);
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const directory = new FakeDirectory();
directory.set('svc', [endpointOf({ host: '127.0.0.1', port: (backend.address() as AddressInfo).port }, 'b')]);
const plane = createDataPlane({
  config: testSidecarConfig(),
  directory,
  createBalancer: () => new FakeRoundRobin(),
  upstream: values.upstream === 'agent' ? createHttpAgentUpstream({}) : createRawUpstream({}),
  limits: { engine: 'fast' },
});
const port = (await plane.listen()).outbound.port;

const until = Date.now() + Number(values.seconds) * 1000;
const request = Buffer.from('GET /x HTTP/1.1\r\nHost: svc\r\n\r\n');
let answers = 0;
await Promise.all(
  Array.from(
    { length: Number(values.conns) },
    () =>
      new Promise<void>((done) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('data', () => {
          answers++;
        });
        const tick = () => {
          if (Date.now() > until) {
            s.end();
            done();
            return;
          }
          s.write(request);
          setTimeout(tick, Number(values.gap));
        };
        s.on('connect', tick);
      }),
  ),
);
process.stderr.write(`scavenge-micro: ${answers} answers (${values.upstream} upstream)\n`);
await plane.close();
backend.close();
