// The Supervisor's stale-run reaping: a run that is still going is never reaped. Not part of
// `npm test`: `node --import tsx --test bench/lib/procs.test.ts`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Supervisor } from './procs.ts';

test('a live owner stops the second run; a dead owner gets its leftovers killed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-procs-'));
  // stands in for another bench run (its command line names a bench/ script) and its server
  const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)', 'bench/run.ts']);
  const server = spawn('sleep', ['20'], { detached: true });
  try {
    writeFileSync(join(dir, 'pids'), `owner ${owner.pid}\n${server.pid}\n`);
    assert.throws(() => new Supervisor(dir).reapStale(), /another benchmark run \(pid \d+\) is using/);
    assert.equal(server.exitCode, null);
    assert.match(readFileSync(join(dir, 'pids'), 'utf8'), /^owner /);

    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('exit', r));
    const died = new Promise((r) => server.once('exit', r));
    assert.equal(new Supervisor(dir).reapStale(), 1);
    await died;
    assert.equal(readFileSync(join(dir, 'pids'), 'utf8'), '');
  } finally {
    owner.kill('SIGKILL');
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
