/**
 * @module registry/storage/wal
 * The embedded store's files: an append-only log plus a snapshot, in one directory.
 *
 * - `wal-<gen>.log`: one record per line, `<crc32 hex> <json>\n`. Appends are group-committed:
 *   every record queued while a write+fdatasync is in flight goes out in the next batch, and each
 *   caller's promise resolves only after the fdatasync that covers its record.
 * - `snapshot.json`: `{gen, data}`; written to a temp file, fsync'd, renamed, dir fsync'd. It covers
 *   every record in generations < gen, so recovery loads it and replays `wal-<g>.log` for g ≥ gen.
 * - Recovery stops at the first bad line. If that is in the newest log it is a torn tail (a crash
 *   mid-append, never acknowledged) and is truncated away; anywhere else it is corruption.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { LogRecord, SnapshotData, SnapshotSource } from './kv-state.ts';
import { StoreError } from './types.ts';

export interface WalOptions {
  /** Compact into a snapshot once the current log exceeds this many bytes (default 64 MiB). */
  compactBytes?: number;
  /** Called when the WAL needs the current state for a snapshot (must be synchronous). */
  snapshot: () => SnapshotSource;
  onError?: (err: unknown) => void;
  /** Fault injection: an error returned here fails the next batch as a disk error would. */
  faultInjector?: () => Error | undefined;
}

export interface Recovered {
  snapshot: SnapshotData | null;
  records: LogRecord[];
  /** Bytes of torn tail that were cut off, for logging. */
  truncatedBytes: number;
}

interface Pending {
  /** The encoded record until it is written ('' after: nothing big waits out the fdatasync). */
  line: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const SNAPSHOT = 'snapshot.json';
const walName = (gen: number) => `wal-${String(gen).padStart(8, '0')}.log`;

function encode(rec: LogRecord): string {
  const json = JSON.stringify(rec);
  return `${crc32(json).toString(16)} ${json}\n`;
}

/** Read the directory's snapshot and logs (synchronously; start-up only). */
export function recover(dir: string): Recovered & { gen: number } {
  let snapshot: SnapshotData | null = null;
  let gen = 0;
  try {
    const parsed = JSON.parse(readFileSync(join(dir, SNAPSHOT), 'utf8')) as {
      gen: number;
      data: SnapshotData;
    };
    snapshot = parsed.data;
    gen = parsed.gen;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new StoreError('CORRUPT', `cannot read ${SNAPSHOT}: ${(err as Error).message}`, err);
  }
  const gens = readdirSync(dir)
    .map((f) => /^wal-(\d+)\.log$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((g) => g >= gen)
    .sort((a, b) => a - b);
  const records: LogRecord[] = [];
  let truncatedBytes = 0;
  gens.forEach((g, i) => {
    const path = join(dir, walName(g));
    const buf = readFileSync(path);
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(10, pos);
      const rec = nl < 0 ? null : decode(buf.subarray(pos, nl).toString('utf8'));
      if (!rec) {
        if (i !== gens.length - 1)
          throw new StoreError('CORRUPT', `${walName(g)} is corrupt at byte ${pos} (not the newest log)`);
        truncatedBytes = buf.length - pos;
        truncateSync(path, pos);
        break;
      }
      records.push(rec);
      pos = nl + 1;
    }
  });
  return { snapshot, records, truncatedBytes, gen: gens.length > 0 ? gens[gens.length - 1]! : gen };
}

function decode(line: string): LogRecord | null {
  const sp = line.indexOf(' ');
  if (sp < 0) return null;
  const json = line.slice(sp + 1);
  if (crc32(json).toString(16) !== line.slice(0, sp)) return null;
  try {
    return JSON.parse(json) as LogRecord;
  } catch {
    return null;
  }
}

export class Wal {
  #fh: FileHandle;
  #gen: number;
  #bytes = 0;
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;
  #closed = false;
  #forceCompact = false;
  readonly #compactBytes: number;

  private constructor(
    private readonly dir: string,
    fh: FileHandle,
    gen: number,
    bytes: number,
    private readonly opts: WalOptions,
  ) {
    this.#fh = fh;
    this.#gen = gen;
    this.#bytes = bytes;
    this.#compactBytes = opts.compactBytes ?? 64 * 1024 * 1024;
  }

  /** Open the log of generation `gen` for appending (creating the directory if needed). */
  static async open(dir: string, gen: number, opts: WalOptions): Promise<Wal> {
    await mkdir(dir, { recursive: true });
    const fh = await open(join(dir, walName(gen)), 'a');
    const { size } = await fh.stat();
    syncDir(dir);
    return new Wal(dir, fh, gen, size, opts);
  }

  static ensureDir(dir: string): Promise<string | undefined> {
    return mkdir(dir, { recursive: true });
  }

  /** Queue a record; resolves after the fdatasync that makes it durable. */
  append(rec: LogRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError('CLOSED', 'store is closed'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ line: encode(rec), resolve, reject });
      if (!this.#flushing) this.#flushing = this.#flushLoop();
    });
  }

  /** Write a snapshot now and start a new log generation. */
  async compact(): Promise<void> {
    this.#forceCompact = true;
    if (!this.#flushing) this.#flushing = this.#flushLoop();
    await this.#flushing;
  }

  async close(opts: { compact?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    await this.#flushing;
    if (opts.compact) await this.compact().catch((err) => this.opts.onError?.(err));
    this.#closed = true;
    await this.#fh.close();
  }

  async #flushLoop(): Promise<void> {
    // Let the current tick's appends join this batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.#pending.length > 0 || this.#forceCompact) {
      const batch = this.#pending;
      this.#pending = [];
      if (this.#bytes >= this.#compactBytes || this.#forceCompact) {
        this.#forceCompact = false;
        await this.#rotate(batch).catch((err) => {
          for (const p of batch) p.reject(err);
          this.opts.onError?.(err);
        });
        continue;
      }
      await this.#write(batch);
    }
    this.#flushing = null;
  }

  async #write(batch: Pending[]): Promise<void> {
    try {
      const fault = this.opts.faultInjector?.();
      if (fault) throw fault;
      this.#bytes += writeLines(this.#fh.fd, batch);
      await this.#fh.datasync();
      for (const p of batch) p.resolve();
    } catch (err) {
      const e = new StoreError('IO', `log write failed: ${(err as Error).message}`, err);
      for (const p of batch) p.reject(e);
      this.opts.onError?.(e);
    }
  }

  /**
   * Cut a generation: `batch` (already applied in memory) goes to the old log, the state captured
   * right now becomes the snapshot of generation gen+1, and later appends go to the new log.
   */
  async #rotate(batch: Pending[]): Promise<void> {
    const data = this.opts.snapshot();
    const nextGen = this.#gen + 1;
    if (batch.length > 0) await this.#write(batch);
    const next = await open(join(this.dir, walName(nextGen)), 'a');
    const tmp = join(this.dir, `${SNAPSHOT}.tmp`);
    await writeSnapshot(tmp, nextGen, data);
    renameSync(tmp, join(this.dir, SNAPSHOT));
    syncDir(this.dir);
    const old = this.#fh;
    this.#fh = next;
    this.#gen = nextGen;
    this.#bytes = 0;
    await old.close();
    for (const f of readdirSync(this.dir)) {
      const m = /^wal-(\d+)\.log$/.exec(f);
      if (m && Number(m[1]) < nextGen) rmSync(join(this.dir, f), { force: true });
    }
  }
}

/**
 * Write a batch's lines to the page cache, synchronously (microseconds, and no buffer copy handed
 * to a thread-pool thread; only the fdatasync waits on the thread pool), then let go of them:
 * held until the fdatasync resolves, a large record (a 100 KB dependency rule) outlived a
 * scavenge or two and was promoted to old space. Returns the bytes written.
 */
function writeLines(fd: number, batch: Pending[]): number {
  const text = batch.length === 1 ? batch[0]!.line : batch.map((p) => p.line).join('');
  writeSync(fd, text, null, 'utf8');
  for (const p of batch) p.line = '';
  return Buffer.byteLength(text);
}

/** Keys per chunk of a snapshot file: ~0.5 MB of JSON, so no single tick serialises the state. */
const SNAPSHOT_CHUNK = 1000;

/**
 * Write `{gen, data}` exactly as `JSON.stringify` would (recover() parses it whole), but in
 * chunks: at 100k instances the one-string version held a ~50 MB string plus 100k tuples and
 * blocked the event loop while building them. Then fsync the file.
 */
export async function writeSnapshot(path: string, gen: number, data: SnapshotSource): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.write(`{"gen":${gen},"data":{"rev":${data.rev},"nextLeaseId":${data.nextLeaseId},"leases":[`);
    await writeChunked(fh, data.leases, (l) => `[${l.id},${l.ttlMs}]`);
    await fh.write('],"kvs":[');
    await writeChunked(
      fh,
      data.kvs,
      (kv) =>
        `[${JSON.stringify(kv.key)},${JSON.stringify(kv.value)},${kv.createRevision},${kv.modRevision},${kv.version},${kv.lease}]`,
    );
    await fh.write(']}}');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** `items.map(fmt).join(',')` to the file, SNAPSHOT_CHUNK items per write (one tick each). */
async function writeChunked<T>(fh: FileHandle, items: readonly T[], fmt: (x: T) => string): Promise<void> {
  for (let i = 0; i < items.length; i += SNAPSHOT_CHUNK) {
    const part: string[] = [];
    const end = Math.min(items.length, i + SNAPSHOT_CHUNK);
    for (let j = i; j < end; j++) part.push(fmt(items[j]!));
    await fh.write(i === 0 ? part.join(',') : `,${part.join(',')}`);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}
