/**
 * The HTTP/1.1 work every JavaScript server of `http.bench.ts` does per request, in one place
 * so that ours and the raw servers do exactly the same: the end of a request's head, a minimal
 * parse of its request line and headers, and one fixed small response. (`http_streams.py` is
 * the same in Python.) GET only: a request with a body is refused.
 */

/** What ends a request's head, as `readuntil()` takes it. */
export const HEAD_END = new Uint8Array([13, 10, 13, 10]);

/** No head is longer (the reader's default limit); a longer one ends the connection. */
export const MAX_HEAD = 65536;

/** The response to every request: 200, a 13-byte text body, kept alive. */
export const RESPONSE = new TextEncoder().encode(
  'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!',
);

/** The parts of a request the servers look at. */
export interface RequestHead {
  method: string;
  target: string;
  /** False when the client asked to close (`Connection: close`, or HTTP/1.0 without keep-alive). */
  keepAlive: boolean;
  headerCount: number;
}

const decoder = new TextDecoder();

/**
 * Parses the head in `bytes[start, end)` (the request line and the headers, with the blank line
 * that ends them).
 * @throws {Error} on a malformed request line or header, or a request with a body
 */
export function parseHead(bytes: Uint8Array, start = 0, end = bytes.length): RequestHead {
  const text = decoder.decode(bytes.subarray(start, end));
  const lineEnd = text.indexOf('\r\n');
  const requestLine = text.slice(0, lineEnd);
  const firstSpace = requestLine.indexOf(' ');
  const lastSpace = requestLine.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) throw new Error(`bad request line '${requestLine}'`);
  const version = requestLine.slice(lastSpace + 1);
  let keepAlive = version === 'HTTP/1.1';
  if (!keepAlive && version !== 'HTTP/1.0') throw new Error(`bad HTTP version '${version}'`);
  let headerCount = 0;
  // Each header line runs to its CRLF; the head ends with an empty one.
  for (let at = lineEnd + 2; at < text.length - 2; ) {
    const next = text.indexOf('\r\n', at);
    const colon = text.indexOf(':', at);
    if (colon <= at || colon > next) throw new Error(`bad header line '${text.slice(at, next)}'`);
    const name = text.slice(at, colon).toLowerCase();
    const value = text.slice(colon + 1, next).trim();
    if (name === 'connection') {
      const option = value.toLowerCase();
      if (option === 'close') keepAlive = false;
      else if (option === 'keep-alive') keepAlive = true;
    } else if ((name === 'content-length' && value !== '0') || name === 'transfer-encoding') throw new Error('a request with a body');
    headerCount += 1;
    at = next + 2;
  }
  return { method: requestLine.slice(0, firstSpace), target: requestLine.slice(firstSpace + 1, lastSpace), keepAlive, headerCount };
}

/** Where the head starting at `start` ends (just past its blank line), or -1 while it is incomplete. */
export function headEnd(bytes: Uint8Array, start: number, end: number): number {
  for (let at = bytes.indexOf(13, start); at >= 0 && at + 3 < end; at = bytes.indexOf(13, at + 1)) {
    if (bytes[at + 1] === 10 && bytes[at + 2] === 13 && bytes[at + 3] === 10) return at + 4;
  }
  return -1;
}

/**
 * What a raw server (no `readuntil()`) keeps between chunks: the bytes of a head not complete
 * yet. `push()` calls `onHead` for every complete head, in order, and keeps the rest.
 *
 * @example
 * ```ts
 * const heads = new HeadSplitter();
 * heads.push(chunk, (bytes, start, end) => socket.write(RESPONSE));
 * ```
 */
export class HeadSplitter {
  #pending: Uint8Array | null = null;

  /**
   * @throws {Error} when a head grows past `MAX_HEAD`
   */
  push(chunk: Uint8Array, onHead: (bytes: Uint8Array, start: number, end: number) => void): void {
    let bytes = chunk;
    if (this.#pending !== null) {
      bytes = new Uint8Array(this.#pending.length + chunk.length);
      bytes.set(this.#pending);
      bytes.set(chunk, this.#pending.length);
      this.#pending = null;
    }
    let start = 0;
    for (let end = headEnd(bytes, start, bytes.length); end >= 0; end = headEnd(bytes, start, bytes.length)) {
      onHead(bytes, start, end);
      start = end;
    }
    if (start === bytes.length) return;
    if (bytes.length - start > MAX_HEAD) throw new Error(`a request head longer than ${MAX_HEAD} bytes`);
    this.#pending = bytes.slice(start);
  }
}
