/**
 * @module sidecar/h1/body-codec
 * HTTP/1.1 message body framing (RFC 9112 §6, §7), shared by the raw edge (request bodies) and the
 * raw upstream (response bodies). A `BodyDecoder` is fed successive socket reads and hands out the
 * payload as subarrays of them (no copy); it returns where its body ended so the bytes after it
 * (a pipelined message) stay with the caller. Chunk-size lines and trailers are bounded, and any
 * framing that is not exactly what the RFC allows throws an `H1Error` (never guessed around:
 * lenient chunk parsing is how request smuggling starts).
 */

/** How a message body is delimited on the wire. */
export type Framing =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' }; // responses only: until the connection closes

/** Decodes one message body from successive socket reads; payload bytes come out as subarrays (no copy). */
export interface BodyDecoder {
  /**
   * Consume bytes of `buf` from `offset`; each payload slice goes to `onData`. Returns the index just
   * past the last byte that belonged to this body (bytes after it are the next message: pipelining).
   * Throws an H1Error (code 'BAD_CHUNK' | 'CHUNK_TOO_LARGE' | ...) on malformed framing.
   */
  feed(buf: Buffer, offset: number, onData: (payload: Buffer) => void): number;
  /** The body (including a chunked trailer section) has been read completely. */
  readonly done: boolean;
}

/** A framing error on the wire; `code` is stable ('BAD_CHUNK', 'CHUNK_TOO_LARGE', 'TRAILERS_TOO_LARGE', ...). */
export class H1Error extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'H1Error';
    this.code = code;
  }
}

export interface DecoderLimits {
  /** Longest chunk-size line (size + extensions, without CRLF). Default 4096. */
  readonly maxChunkLineBytes?: number;
  /** Largest trailer section. Default 16384. */
  readonly maxTrailerBytes?: number;
}

/** Encode one payload piece's chunk header (size line) for writing before the data and a CRLF. */
export function chunkHeader(length: number): string {
  return `${length.toString(16)}\r\n`;
}

/** The last chunk with an empty trailer section. */
export const CHUNK_END: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

/** The CRLF that closes each chunk's data. */
export const CRLF: Buffer = Buffer.from('\r\n', 'latin1');

export function bodyDecoder(framing: Framing, limits: DecoderLimits = {}): BodyDecoder {
  switch (framing.kind) {
    case 'none':
      return new LengthDecoder(0);
    case 'length':
      if (!Number.isSafeInteger(framing.length) || framing.length < 0) {
        throw new H1Error('BAD_LENGTH', `invalid body length ${framing.length}`);
      }
      return new LengthDecoder(framing.length);
    case 'chunked':
      return new ChunkedDecoder(limits.maxChunkLineBytes ?? 4096, limits.maxTrailerBytes ?? 16384);
    case 'close':
      return new CloseDecoder();
  }
}

// === impl LengthDecoder ===

class LengthDecoder implements BodyDecoder {
  private remaining: number;
  constructor(length: number) {
    this.remaining = length;
  }
  get done(): boolean {
    return this.remaining === 0;
  }
  feed(buf: Buffer, offset: number, onData: (payload: Buffer) => void): number {
    const n = Math.min(this.remaining, buf.length - offset);
    if (n <= 0) return offset;
    this.remaining -= n;
    onData(offset === 0 && n === buf.length ? buf : buf.subarray(offset, offset + n));
    return offset + n;
  }
}

// === impl CloseDecoder ===

/** Everything until the connection closes; the caller ends it (done stays false). */
class CloseDecoder implements BodyDecoder {
  readonly done = false;
  feed(buf: Buffer, offset: number, onData: (payload: Buffer) => void): number {
    if (offset < buf.length) onData(offset === 0 ? buf : buf.subarray(offset));
    return buf.length;
  }
}

// === impl ChunkedDecoder ===

// Chunked decoder states (plain numbers: a const enum is not erasable syntax).
const SIZE = 0; // reading hex digits of the chunk size
const EXT_BWS = 1; // whitespace after the size: only `;ext` may follow
const EXT = 2; // inside `;ext` up to CR
const SIZE_LF = 3; // after CR of the size line
const DATA = 4;
const DATA_CR = 5;
const DATA_LF = 6;
const TRAILER_LINE_START = 7; // start of a trailer line (or the final CRLF)
const TRAILER_LINE = 8; // inside a trailer field line
const TRAILER_LF = 9; // after CR of a trailer field line
const END_LF = 10; // after the CR of the empty line that ends the trailers
const DONE = 11;

const MAX_SIZE_DIGITS = 13; // 16^13 > 2^52: larger sizes are not safe integers

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** tchar (RFC 9110 §5.6.2), for chunk extension names. */
function isExtChar(c: number): boolean {
  // Extensions are `;name[=value]` with optional BWS; quoted strings allowed. We accept any visible
  // ASCII plus SP/HTAB, and reject CTLs (bare CR/LF, NUL) and obs-text-free bytes >= 0x7f.
  return c === 0x09 || (c >= 0x20 && c < 0x7f);
}

class ChunkedDecoder implements BodyDecoder {
  private state: number = SIZE;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  constructor(
    private readonly maxLine: number,
    private readonly maxTrailer: number,
  ) {}

  get done(): boolean {
    return this.state === DONE;
  }

  feed(buf: Buffer, offset: number, onData: (payload: Buffer) => void): number {
    let i = offset;
    const len = buf.length;
    while (i < len) {
      switch (this.state) {
        case DATA: {
          const n = Math.min(this.size, len - i);
          this.size -= n;
          onData(buf.subarray(i, i + n));
          i += n;
          if (this.size === 0) this.state = DATA_CR;
          break;
        }
        case SIZE: {
          const c = buf[i]!;
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) throw new H1Error('CHUNK_TOO_LARGE', 'chunk size too large');
            this.size = this.size * 16 + v;
            this.line();
          } else if (this.digits === 0) {
            throw new H1Error('BAD_CHUNK', 'chunk size expected');
          } else if (c === 0x3b) {
            this.state = EXT;
            this.line();
          } else if (c === 0x20 || c === 0x09) {
            this.state = EXT_BWS; // BWS before `;ext`
            this.line();
          } else if (c === 0x0d) {
            this.state = SIZE_LF;
          } else throw new H1Error('BAD_CHUNK', 'invalid character in chunk size');
          i++;
          break;
        }
        case EXT_BWS: {
          const c = buf[i]!;
          if (c === 0x3b) this.state = EXT;
          else if (c !== 0x20 && c !== 0x09)
            throw new H1Error('BAD_CHUNK', 'invalid character after chunk size');
          this.line();
          i++;
          break;
        }
        case EXT: {
          const c = buf[i]!;
          if (c === 0x0d) this.state = SIZE_LF;
          else if (isExtChar(c)) this.line();
          else throw new H1Error('BAD_CHUNK', 'invalid character in chunk extension');
          i++;
          break;
        }
        case SIZE_LF: {
          if (buf[i] !== 0x0a) throw new H1Error('BAD_CHUNK', 'CR without LF in chunk size line');
          i++;
          this.lineBytes = 0;
          this.digits = 0;
          this.state = this.size === 0 ? TRAILER_LINE_START : DATA;
          break;
        }
        case DATA_CR:
          if (buf[i] !== 0x0d) throw new H1Error('BAD_CHUNK', 'chunk data not followed by CRLF');
          i++;
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[i] !== 0x0a) throw new H1Error('BAD_CHUNK', 'chunk data not followed by CRLF');
          i++;
          this.state = SIZE;
          break;
        case TRAILER_LINE_START: {
          const c = buf[i]!;
          i++;
          if (c === 0x0d) {
            this.state = END_LF;
          } else if (c === 0x20 || c === 0x09 || c === 0x3a || !isExtChar(c)) {
            // obs-fold, an empty name, or a control character
            throw new H1Error('BAD_TRAILER', 'invalid trailer line');
          } else {
            this.trailer();
            this.state = TRAILER_LINE;
          }
          break;
        }
        case TRAILER_LINE: {
          const c = buf[i]!;
          i++;
          if (c === 0x0d) this.state = TRAILER_LF;
          else if (isExtChar(c) || c >= 0x80) this.trailer();
          else throw new H1Error('BAD_TRAILER', 'invalid character in trailer');
          break;
        }
        case TRAILER_LF:
          if (buf[i] !== 0x0a) throw new H1Error('BAD_TRAILER', 'CR without LF in trailer');
          i++;
          this.trailer();
          this.state = TRAILER_LINE_START;
          break;
        case END_LF:
          if (buf[i] !== 0x0a) throw new H1Error('BAD_CHUNK', 'CR without LF after the last chunk');
          i++;
          this.state = DONE;
          return i;
        case DONE:
          return i;
      }
    }
    return i;
  }

  private line(): void {
    if (++this.lineBytes > this.maxLine) throw new H1Error('CHUNK_LINE_TOO_LONG', 'chunk size line too long');
  }

  private trailer(): void {
    if (++this.trailerBytes > this.maxTrailer)
      throw new H1Error('TRAILERS_TOO_LARGE', 'trailer section too large');
  }
}
