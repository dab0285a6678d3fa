/**
 * @module cli/commands/demo
 * `mesher demo [--rate N] [--duration SECONDS]`: run the demo mesh (src/demo/demo.ts) and print a
 * live summary every 2 s until Ctrl-C (or for SECONDS, then exit 0 if calls succeeded, 1 if not).
 */
import { startDemo } from '../../demo/demo.ts';
import { setLogLevel } from '../../shared/log.ts';

function parse(argv: string[]): { rate: number; durationS: number | undefined } {
  let rate = 10;
  let durationS: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    const n = Number(value);
    if (flag === '--rate' && Number.isFinite(n) && n > 0) rate = n;
    else if (flag === '--duration' && Number.isFinite(n) && n > 0) durationS = n;
    else
      throw new Error(
        `unknown or invalid flag '${argv[i - (inline === undefined ? 1 : 0)]}' (use --rate N, --duration SECONDS)`,
      );
  }
  return { rate, durationS };
}

export async function run(argv: string[]): Promise<number | undefined> {
  let o: ReturnType<typeof parse>;
  try {
    o = parse(argv);
  } catch (err) {
    process.stderr.write(`mesher demo: ${(err as Error).message}\n`);
    return 2;
  }
  // The summary is the demo's output; component logs only when asked for (MESHER_LOG_LEVEL).
  if (process.env.MESHER_LOG_LEVEL === undefined) setLogLevel('warn');
  const out = process.stdout;
  out.write(
    'mesher demo: starting a registry and client -> server1 -> server2, each with its own sidecar...\n',
  );
  const demo = await startDemo({ rate: o.rate });
  out.write('mesher demo running (Ctrl-C to stop)\n');
  const print = async () => {
    const text = await demo.summary();
    out.write(out.isTTY ? `\x1b[2J\x1b[H${text}\n\nCtrl-C to stop\n` : `${text}\n\n`);
  };
  const timer = setInterval(() => void print(), 2000);
  let stopping = false;
  const finish = async (): Promise<number> => {
    if (stopping) return 0;
    stopping = true;
    clearInterval(timer);
    await print();
    await demo.stop();
    out.write('mesher demo stopped\n');
    return demo.stats.ok > 0 && demo.stats.failed === 0 ? 0 : 1;
  };
  if (o.durationS !== undefined) {
    await new Promise((r) => setTimeout(r, o.durationS! * 1000));
    return finish();
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await finish();
  return 0;
}
