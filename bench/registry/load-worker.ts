/**
 * @module bench/registry/load-worker
 * Worker-thread entry of the registry benchmark: runs the jobs it is sent (jobs.ts) and posts
 * back each result. One worker = one event loop with its own undici pool.
 */
import { parentPort } from 'node:worker_threads';
import { type Job, runJob } from './jobs.ts';

parentPort!.on('message', (job: Job) => {
  runJob(job).then(
    (r) => parentPort!.postMessage({ ok: true, result: r }),
    (err: unknown) =>
      parentPort!.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
