/**
 * @module bench/registry/workers
 * A fixed set of load workers (worker_threads running load-worker.ts through load-worker-boot.mjs) and a helper that runs one
 * job per worker at the same time and gathers the results.
 */
import { Worker } from 'node:worker_threads';
import type { Job, JobResult } from './jobs.ts';

export class WorkerSet {
  private readonly workers: Worker[];

  constructor(n: number) {
    const url = new URL('./load-worker-boot.mjs', import.meta.url);
    this.workers = Array.from({ length: n }, () => {
      const w = new Worker(url);
      w.on('error', () => {}); // reported to the job that was running (runAll), never fatal
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** Run jobs[i] on worker i (jobs.length ≤ size), all at once. */
  runAll(jobs: readonly Job[]): Promise<JobResult[]> {
    if (jobs.length > this.workers.length) throw new Error('more jobs than workers');
    return Promise.all(
      jobs.map(
        (job, i) =>
          new Promise<JobResult>((resolve, reject) => {
            const w = this.workers[i]!;
            const done = () => {
              w.off('message', onMsg);
              w.off('error', onErr);
              w.off('exit', onExit);
            };
            const onMsg = (m: { ok: boolean; result?: JobResult; error?: string }) => {
              done();
              if (m.ok) resolve(m.result!);
              else reject(new Error(m.error));
            };
            const onErr = (err: Error) => {
              done();
              reject(err);
            };
            const onExit = (code: number) => {
              done();
              reject(new Error(`load worker exited with code ${code}`));
            };
            w.on('message', onMsg);
            w.on('error', onErr);
            w.on('exit', onExit);
            w.postMessage(job);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Split [from, to) into n contiguous ranges. */
export function splitRange(from: number, to: number, n: number): [number, number][] {
  const out: [number, number][] = [];
  const size = Math.ceil((to - from) / n);
  for (let a = from; a < to; a += size) out.push([a, Math.min(to, a + size)]);
  return out;
}
