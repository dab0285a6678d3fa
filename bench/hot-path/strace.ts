/**
 * @module bench/hot-path/strace
 * Syscall counts of a running proxy during one load slice (`strace -c -f -p PID`), scaled to
 * calls per 1,000 requests: how many event-loop wake-ups (epoll_wait), reads and writes a request
 * costs. strace stops the process at every syscall, so this slice's latency and CPU are not
 * comparable with the measured ones and are not reported.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killGroup, type Supervisor, sleep } from '../lib/procs.ts';
import type { RateResult } from '../load/h2load.ts';

let seq = 0;

/** Run `load` while strace counts the syscalls of `pid` (all threads); returns a small table. */
export async function straceSlice(
  sup: Supervisor,
  pid: number,
  load: () => Promise<RateResult>,
): Promise<string> {
  const out = join(sup.tmpDir, `strace-${pid}-${seq++}.txt`);
  const st = sup.spawn('strace', 'strace', ['-c', '-f', '-o', out, '-p', String(pid)], { cpu: '0' });
  await sleep(500);
  let r: RateResult;
  try {
    r = await load();
  } finally {
    killGroup(st.pid, 'SIGINT');
    await st.exited;
  }
  const lines = readFileSync(out, 'utf8').split('\n');
  const rows: string[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (f.length < 5 || !/^\d/.test(f[0]!) || f[f.length - 1] === 'total') continue;
    const calls = Number(f[3]);
    const name = f[f.length - 1]!;
    rows.push(`${name.padEnd(16)} ${((calls / r.totalRequests) * 1000).toFixed(0).padStart(7)}`);
  }
  return `(${r.totalRequests} requests)\n${rows.slice(0, 14).join('\n')}`;
}
