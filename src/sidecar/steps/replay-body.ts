/**
 * @module sidecar/steps/replay-body
 * The retry step's bounded request-body buffer. `bufferBody(body, maxBytes)` reads the client's
 * body until it ends or passes `maxBytes`:
 *
 * - it ended within the bound → `replayable: true`; `stream()` gives a fresh Readable of the same
 *   bytes for every attempt;
 * - it is longer → `replayable: false`; `stream()` (once) gives the bytes read so far followed by
 *   the rest of the original stream, so the single attempt still sees the whole body.
 *
 * A declared Content-Length over the bound skips buffering altogether (no retry, no extra memory).
 */
import { PassThrough, Readable } from 'node:stream';

export interface ReplayBody {
  readonly replayable: boolean;
  /** A body stream for the next attempt. */
  stream(): Readable;
}

/** Default bound on a replayable request body (bytes). */
export const DEFAULT_REPLAY_MAX_BYTES = 64 * 1024;

function fromChunks(chunks: readonly Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

function passthrough(body: Readable): ReplayBody {
  return { replayable: false, stream: () => body };
}

export function bufferBody(body: Readable, maxBytes: number, declaredLength?: number): Promise<ReplayBody> {
  if (declaredLength !== undefined && declaredLength > maxBytes) return Promise.resolve(passthrough(body));
  return new Promise<ReplayBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      body.removeListener('data', onData);
      body.removeListener('end', onEnd);
      body.removeListener('error', onError);
      body.removeListener('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= maxBytes) return;
      // Over the bound: hand the prefix plus the rest to one attempt, no replay.
      cleanup();
      body.pause();
      const joined = new PassThrough();
      for (const c of chunks) joined.write(c);
      chunks.length = 0;
      body.pipe(joined);
      body.once('error', (err) => joined.destroy(err));
      resolve(passthrough(joined));
    };
    const onEnd = () => {
      cleanup();
      resolve({ replayable: true, stream: () => fromChunks(chunks) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (body.readableEnded) return;
      cleanup();
      reject(new Error('request body closed before it ended'));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}
