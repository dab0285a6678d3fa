/**
 * Small hand-written fakes for unit tests of chain steps: a CallContext without sockets, a fake
 * "load balancer + transport" `next` that picks among named endpoints (honouring `call.exclude`)
 * and answers from a script, and a ManualClock helper that lets pending promises run between
 * clock moves.
 */
import { Readable } from 'node:stream';
import { MeshError } from '../../src/shared/errors.ts';
import { CallSignal } from '../../src/sidecar/chain/call-signal.ts';
import type { CallContext, Next, Outcome } from '../../src/sidecar/chain/types.ts';
import type { Endpoint } from '../../src/sidecar/discovery/types.ts';
import { parseResiliencePolicies, type ResiliencePolicies } from '../../src/sidecar/policy/index.ts';

export function fakeCall(over: Partial<CallContext> = {}): CallContext {
  return {
    direction: 'outbound',
    kind: 'request',
    method: 'GET',
    service: 'svc',
    app: undefined,
    path: '/',
    headers: [],
    body: null,
    hasBody: false,
    source: { service: 'me', address: undefined },
    requestedPort: undefined,
    target: undefined,
    endpoint: undefined,
    exclude: undefined,
    attempt: 1,
    timings: { startMs: 0 },
    signal: new CallSignal(),
    head: undefined,
    ...over,
  };
}

export function endpoint(key: string): Endpoint {
  return {
    key,
    instanceId: key,
    serviceId: 's',
    host: '127.0.0.1',
    port: 1,
    tls: false,
    version: '1.0.0',
    app: 'default',
    properties: {},
  };
}

export function outcome(status: number, body: Outcome['body'] = null): Outcome {
  return { status, headers: [], body };
}

export function policies(flat: Record<string, unknown> = {}): ResiliencePolicies {
  const r = parseResiliencePolicies(flat);
  if (r.issues.length > 0) throw new Error(JSON.stringify(r.issues));
  return r.policies;
}

/** What an endpoint does per attempt: a status, a thrown mesh error code, or a pending promise. */
export type Behaviour = number | 'connect' | 'reset' | 'hang' | ((call: CallContext) => Promise<Outcome>);

/**
 * A fake load-balance + transport: round-robin over `keys` skipping `call.exclude`, sets
 * `call.endpoint`, then behaves as `script(key, n)` says. Records every attempt (key, body text).
 */
export function fakeUpstream(keys: string[], script: (key: string, n: number) => Behaviour) {
  const attempts: Array<{ key: string; body?: string }> = [];
  let rr = 0;
  const next: Next = async (call) => {
    const free = keys.filter((k) => !call.exclude?.has(k));
    if (call.pinned === undefined && free.length === 0)
      throw new MeshError('NO_ENDPOINTS', { service: call.service });
    const key = call.pinned?.key ?? free[rr++ % free.length]!;
    call.endpoint = endpoint(key);
    call.target = call.endpoint;
    let body: string | undefined;
    if (call.body !== null) {
      const chunks: Buffer[] = [];
      for await (const c of call.body) chunks.push(c as Buffer);
      body = Buffer.concat(chunks).toString();
    }
    attempts.push({ key, ...(body !== undefined ? { body } : {}) });
    const b = script(key, attempts.length);
    if (typeof b === 'function') return b(call);
    if (b === 'connect') throw new MeshError('UPSTREAM_CONNECT', { service: call.service });
    if (b === 'reset') throw new MeshError('UPSTREAM_RESET', { service: call.service });
    if (b === 'hang') {
      return new Promise<Outcome>((_resolve, reject) =>
        call.signal.add(() => reject(new MeshError('UPSTREAM_RESET', { service: call.service }))),
      );
    }
    return outcome(b, Readable.from([Buffer.from(key)]));
  };
  return { next, attempts };
}

/** Let queued promise callbacks run (several turns of the microtask queue and one macrotask). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
