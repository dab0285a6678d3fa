/**
 * @module bench/lib/proc-stats
 * CPU time and memory of a process and all its descendants, read from /proc: utime+stime from
 * /proc/PID/stat (in clock ticks) and VmHWM / VmRSS from /proc/PID/status. A proxy such as nginx
 * is a master plus workers, so every figure is summed over the process tree.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks = 0;
function clockTicks(): number {
  if (ticks === 0) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

interface StatLine {
  readonly pid: number;
  readonly ppid: number;
  readonly cpuTicks: number;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name is in parentheses and may contain spaces: split after the last ')'
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after comm: state(0) ppid(1) ... utime(11) stime(12)
    return { pid, ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** `pid` and every live descendant of it. */
export function processTree(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p) || p <= 0) continue;
    const st = readStat(p);
    if (!st) continue;
    const list = byParent.get(st.ppid);
    if (list) list.push(p);
    else byParent.set(st.ppid, [p]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop()!;
    out.push(p);
    for (const c of byParent.get(p) ?? []) queue.push(c);
  }
  return out;
}

/** CPU seconds (user + system) used so far by the given processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let t = 0;
  for (const p of pids) t += readStat(p)?.cpuTicks ?? 0;
  return t / clockTicks();
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sum of peak resident set sizes (VmHWM), in MB. */
export function peakRssMb(pids: readonly number[]): number {
  return pids.reduce((a, p) => a + statusKb(p, 'VmHWM'), 0) / 1024;
}

/** Sum of current resident set sizes (VmRSS), in MB. */
export function rssMb(pids: readonly number[]): number {
  return pids.reduce((a, p) => a + statusKb(p, 'VmRSS'), 0) / 1024;
}
