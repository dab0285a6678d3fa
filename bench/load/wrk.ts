/**
 * @module bench/load/wrk
 * Closed-loop maximum throughput with wrk (one thread on the load core). Absolute-form targets
 * (forward proxies such as the mesher sidecar) are sent through a tiny Lua script that sets
 * `wrk.path`; a mesh destination goes in the Host header.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Supervisor } from '../lib/procs.ts';
import type { Target } from '../lib/scenario.ts';

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Non-2xx/3xx responses plus socket errors. */
  readonly errors: number;
}

export function parseWrk(out: string): WrkResult {
  const req = out.match(/(\d+) requests in ([\d.]+)(ms|s|m)/);
  const rps = out.match(/Requests\/sec:\s+([\d.]+)/);
  if (!req || !rps) throw new Error(`cannot parse wrk output: ${out.slice(-500)}`);
  const unit = req[3] === 'ms' ? 0.001 : req[3] === 'm' ? 60 : 1;
  const non2xx = Number(out.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const sockErrors = sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0;
  return {
    requests: Number(req[1]),
    seconds: Number(req[2]) * unit,
    rps: Number(rps[1]),
    errors: non2xx + sockErrors,
  };
}

export async function runWrk(
  sup: Supervisor,
  bin: string,
  cpu: string,
  target: Target,
  connections: number,
  seconds: number,
): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s'];
  if (target.host) args.push('-H', `Host: ${target.host}`);
  if (!target.path.startsWith('/')) {
    const script = join(sup.tmpDir, `wrk-${Buffer.from(target.path).toString('hex').slice(0, 40)}.lua`);
    writeFileSync(script, `wrk.path = ${JSON.stringify(target.path)}\n`);
    args.push('-s', script, `${target.origin}/`);
  } else {
    args.push(`${target.origin}${target.path}`);
  }
  const r = await sup.run('wrk', bin, args, { cpu, timeoutMs: (seconds + 15) * 1000 });
  if (r.code !== 0) throw new Error(`wrk exited ${r.code}: ${r.output.slice(-500)}`);
  return parseWrk(r.output);
}
