/**
 * @module bench/lib/machine
 * The facts every result carries: cores, CPU model, memory, Node version, commit, date.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  readonly date: string;
  readonly commit: string;
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly node: string;
  readonly kernel: string;
  /** 1-minute load average when the run started: other work on the machine skews everything. */
  readonly loadAvg: number;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    cpuModel =
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^model name\s*:\s*(.+)$/m)?.[1]
        ?.trim() ?? cpuModel;
  } catch {
    // not Linux: keep 'unknown'
  }
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']) !== '' ? '+dirty' : '';
  return {
    date: new Date().toISOString(),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']) + dirty,
    nproc: Number(sh('nproc', [])) || os.cpus().length,
    cpuModel,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    loadAvg: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

export function describeMachine(m: MachineInfo): string {
  const busy =
    m.loadAvg > m.nproc / 2
      ? ` — BUSY: other work was running (load avg ${m.loadAvg} on ${m.nproc} cores), treat the numbers as noisy`
      : '';
  return `${m.date} · commit ${m.commit} · ${m.nproc} cores (${m.cpuModel}) · ${m.memGiB} GiB · Node ${m.node} · Linux ${m.kernel} · load avg ${m.loadAvg} at start${busy}`;
}
