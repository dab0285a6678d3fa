/**
 * @module bench/hot-path/heap-sample
 * `node --import tsx bench/hot-path/heap-sample.ts ws://127.0.0.1:PORT/UUID [seconds] [--minor]`:
 * where a running proxy (started with `--inspect=127.0.0.1:0`) allocates the objects that
 * *outlive the young generation*. It runs V8's sampling heap profiler over the inspector protocol
 * keeping samples of objects later freed by a full GC but dropping those a scavenge freed, so what
 * is left is what got promoted to the old space (the garbage that makes scavenges slow and
 * mark-compacts frequent), grouped by allocating function. `--minor` keeps every sample instead
 * (all allocations). `--grep TEXT` shows only stacks through a frame containing TEXT; `--save FILE`
 * keeps the raw profile.
 */
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface SampleNode {
  callFrame: Frame;
  selfSize: number;
  children: SampleNode[];
}

const [url, secondsArg, ...rest] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: heap-sample.ts ws://HOST:PORT/ID [seconds] [--minor]\n');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 5);
const all = rest.includes('--minor');
const saveAt = rest.indexOf('--save');
const saveTo = saveAt >= 0 ? rest[saveAt + 1] : undefined;
const grepAt = rest.indexOf('--grep');
const grep = grepAt >= 0 ? rest[grepAt + 1] : undefined;

const ws = new WebSocket(url);
let id = 0;
const pending = new Map<number, (r: unknown) => void>();
ws.on('message', (d: Buffer) => {
  const msg = JSON.parse(d.toString()) as { id?: number; result?: unknown; error?: unknown };
  if (msg.id !== undefined) pending.get(msg.id)?.(msg.error ? { error: msg.error } : msg.result);
});
const send = (method: string, params: object = {}): Promise<unknown> =>
  new Promise((resolve) => {
    const n = ++id;
    pending.set(n, resolve);
    ws.send(JSON.stringify({ id: n, method, params }));
  });

function where(f: Frame): string {
  const file = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, '');
  return `${f.functionName || '(anonymous)'} ${file || '(native)'}:${f.lineNumber + 1}`;
}

ws.once('open', async () => {
  await send('HeapProfiler.enable');
  const r = await send('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: all,
  });
  if ((r as { error?: unknown })?.error) throw new Error(JSON.stringify(r));
  await new Promise((res) => setTimeout(res, seconds * 1000));
  const { profile } = (await send('HeapProfiler.stopSampling')) as { profile: { head: SampleNode } };
  if (saveTo !== undefined) writeFileSync(saveTo, JSON.stringify(profile));
  const self = new Map<string, number>();
  const stacks = new Map<string, number>();
  let total = 0;
  const walk = (n: SampleNode, path: string[]) => {
    const p = [...path, where(n.callFrame)];
    if (n.selfSize > 0) {
      total += n.selfSize;
      const k = where(n.callFrame);
      self.set(k, (self.get(k) ?? 0) + n.selfSize);
      if (grep === undefined || p.some((f) => f.includes(grep))) {
        const s = p
          .slice(grep === undefined ? -6 : -14)
          .reverse()
          .join('\n      < ');
        stacks.set(s, (stacks.get(s) ?? 0) + n.selfSize);
      }
    }
    for (const c of n.children) walk(c, p);
  };
  walk(profile.head, []);
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, b]) => `${((b / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  process.stdout.write(
    `${all ? 'all allocations' : 'allocations that survived the young generation'}: ${(total / 1048576).toFixed(1)} MB sampled in ${seconds} s\n\nby function:\n${top(self, 25)}\n\nby stack (innermost first):\n${top(stacks, 12)}\n`,
  );
  ws.close();
});
