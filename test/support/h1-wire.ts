/**
 * @module test/support/h1-wire
 * Building HTTP/1.1 bytes for the randomised wire tests: a body's framing (Content-Length or
 * chunked in pieces of a chosen size) and a message split at chosen offsets, as separate reads.
 */

/** The framing header line(s), the blank line and the body: Content-Length, or chunked in `chunkSize` pieces. */
export function framedBody(body: string, chunked: boolean, chunkSize: number): string {
  if (!chunked) return `Content-Length: ${body.length}\r\n\r\n${body}`;
  let out = 'Transfer-Encoding: chunked\r\n\r\n';
  for (let k = 0; k < body.length; k += chunkSize) {
    const piece = body.slice(k, k + chunkSize);
    out += `${piece.length.toString(16)}\r\n${piece}\r\n`;
  }
  return `${out}0\r\n\r\n`;
}

/** `wire` cut at the distinct offsets in `cuts` that fall inside it, in order. */
export function splitAt(wire: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < wire.length))].sort((a, b) => a - b);
  const parts: string[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(wire.slice(from, p));
    from = p;
  }
  parts.push(wire.slice(from));
  return parts;
}
