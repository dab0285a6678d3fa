/**
 * @module bench/profile-summary
 * `node --import tsx bench/profile-summary.ts FILE.cpuprofile [N]`: the top N functions by self
 * time and the share of time per source file (node internals, undici, pino, mesher's own
 * modules), to say where a sidecar's CPU goes under benchmark load. Profiles come from
 * `MESHER_BENCH_PROFILE=DIR npm run bench -- --scenarios mesher1`.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, nArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [N]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
prof.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const idleId = prof.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id;
const idle = idleId === undefined ? 0 : (self.get(idleId) ?? 0);
if (idleId !== undefined) self.delete(idleId);
// shares are of busy time: idle is reported separately
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fnTime = new Map<string, number>();
const fileTime = new Map<string, number>();
for (const [id, us] of self) {
  const cf = byId.get(id)!.callFrame;
  const where = cf.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/') || '(native)';
  const key = `${cf.functionName || '(anonymous)'} ${where}:${cf.lineNumber + 1}`;
  fnTime.set(key, (fnTime.get(key) ?? 0) + us);
  const group = where.startsWith('node_modules/')
    ? where.split('/').slice(0, 2).join('/')
    : where.startsWith('dist/')
      ? where
      : where;
  fileTime.set(group, (fileTime.get(group) ?? 0) + us);
}
const top = (m: Map<string, number>, n: number) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
const n = Number(nArg ?? 25);
process.stdout.write(
  `busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s (shares are of busy time)\n\nby function (self):\n${top(fnTime, n)}\n\n`,
);
process.stdout.write(`by file:\n${top(fileTime, n)}\n`);
