/**
 * An HTTP/1.1 client on one keep-alive connection: the head read with `readuntil`, the body
 * framed as RFC 9112 section 6.3 says (a `Content-Length` read with `readexactly`, `chunked`
 * decoded with `readuntil` and `readexactly`, or everything to the end), and a gzip body
 * decompressed by piping it through the platform's `DecompressionStream`.
 *
 * Run with `npx tsx examples/http-client.ts URL [PATH...]`: it asks for the URL's path, then each
 * PATH, on the same connection, and prints one line per response. Importing it runs nothing:
 * `HttpClient`, `readHead`, `bodyOf` and the body framings `chunkedBody` and `lengthBody` (which
 * a server reads requests with too) are exported.
 */
import { pathToFileURL } from 'node:url';
import { openConnection, type StreamReader, type StreamWriter } from 'asyncio-streams';

/** A response's status line and headers. */
export interface ResponseHead {
  version: string;
  status: number;
  reason: string;
  headers: Headers;
}

/** A response read whole: the body decoded from its transfer coding and, for gzip, decompressed. */
export interface HttpResponse extends ResponseHead {
  body: Uint8Array;
}

/** Header lines are ASCII, or latin-1 at worst: this decodes any byte without a replacement. */
const latin1 = new TextDecoder('latin1');

/**
 * Reads a status line and the header lines up to the empty line.
 *
 * @throws {IncompleteReadError} when the connection ends inside the head
 * @throws {LimitOverrunError} when a line is longer than the reader's limit (64 KiB by default)
 * @example
 * ```ts
 * const { status, headers } = await readHead(reader);
 * ```
 */
export async function readHead(reader: StreamReader): Promise<ResponseHead> {
  const statusLine = latin1.decode(await reader.readuntil('\r\n')).trimEnd();
  const match = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (match === null) throw new Error(`Not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers = new Headers();
  for (;;) {
    const line = latin1.decode(await reader.readuntil('\r\n')).trimEnd();
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`Not a header line: ${JSON.stringify(line)}`);
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return { version: match[1]!, status: Number(match[2]), reason: match[3] ?? '', headers };
}

/**
 * The body of the response whose head was just read, as a stream that ends where the body
 * ends, so the next response on the connection can be read after it (RFC 9112 section 6.3).
 *
 * @param method the request's method: a response to HEAD has no body
 * @example
 * ```ts
 * const text = await new Response(bodyOf(reader, head, 'GET')).text();
 * ```
 */
export function bodyOf(reader: StreamReader, head: ResponseHead, method: string): ReadableStream<Uint8Array> {
  const { status, headers } = head;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return new Blob([]).stream();
  if (/(^|,)\s*chunked\s*$/i.test(headers.get('transfer-encoding') ?? '')) return chunkedBody(reader);
  const length = headers.get('content-length');
  if (length !== null) return lengthBody(reader, Number(length));
  // No length: the body is everything up to the end of the connection.
  return reader.readable;
}

/**
 * A `chunked` body (RFC 9112 section 7.1), of a response or a request: a hex size line, exactly
 * that many bytes and a CRLF, until size 0 and the trailer lines.
 *
 * @example
 * ```ts
 * for await (const chunk of chunkedBody(reader)) console.log(chunk.byteLength);
 * ```
 */
export function chunkedBody(reader: StreamReader): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const sizeLine = latin1.decode(await reader.readuntil('\r\n'));
      const size = Number.parseInt(sizeLine.split(';')[0]!, 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`Bad chunk size line: ${JSON.stringify(sizeLine)}`);
      if (size === 0) {
        // Trailer lines, up to an empty one.
        while ((await reader.readuntil('\r\n')).byteLength > 2);
        controller.close();
        return;
      }
      const chunk = await reader.readexactly(size + 2);
      controller.enqueue(chunk.subarray(0, size));
    },
  });
}

/**
 * A body of `Content-Length` bytes: exactly that many, in pieces of at most 64 KiB.
 *
 * @example
 * ```ts
 * const body = new Uint8Array(await new Response(lengthBody(reader, 5)).arrayBuffer());
 * ```
 */
export function lengthBody(reader: StreamReader, length: number): ReadableStream<Uint8Array> {
  let left = length;
  return new ReadableStream({
    async pull(controller) {
      if (left === 0) {
        controller.close();
        return;
      }
      const piece = await reader.readexactly(Math.min(left, 65536));
      left -= piece.byteLength;
      controller.enqueue(piece);
    },
  });
}

/**
 * The body decompressed when its `Content-Encoding` is gzip, else as it is.
 *
 * @example
 * ```ts
 * const text = await new Response(decoded(bodyOf(reader, head, 'GET'), head)).text();
 * ```
 */
export function decoded(body: ReadableStream<Uint8Array>, head: ResponseHead): ReadableStream<Uint8Array> {
  if (head.headers.get('content-encoding') !== 'gzip') return body;
  // TypeScript's DOM types want chunks on an ArrayBuffer; the reader's results always are.
  return (body as ReadableStream<Uint8Array<ArrayBuffer>>).pipeThrough(new DecompressionStream('gzip'));
}

/**
 * One HTTP/1.1 connection, kept alive: `request()` for one exchange, or `send()` several
 * requests at once and `receive()` the responses in order (pipelining).
 *
 * @example
 * ```ts
 * const http = await HttpClient.connect('http://127.0.0.1:8080');
 * const response = await http.request('GET', '/');
 * console.log(response.status, new TextDecoder().decode(response.body));
 * await http.close();
 * ```
 */
export class HttpClient {
  readonly #methods: string[] = [];

  constructor(readonly reader: StreamReader, readonly writer: StreamWriter, readonly host: string) {}

  /** Connects to the URL's origin: https with `ca` (PEM) as the trust when given, else the default one. */
  static async connect(origin: string | URL, { ca }: { ca?: string } = {}): Promise<HttpClient> {
    const url = new URL(origin);
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const https = url.protocol === 'https:';
    const port = Number(url.port || (https ? 443 : 80));
    const [reader, writer] = https
      ? await openConnection(hostname, port, { ssl: ca === undefined ? true : { ca } })
      : await openConnection(hostname, port);
    return new HttpClient(reader, writer, url.host);
  }

  /** Writes a request without waiting for its response. */
  send(method: string, path: string, headers: Record<string, string> = {}): void {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${this.host}`, 'Accept-Encoding: gzip'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    this.writer.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.#methods.push(method);
  }

  /**
   * Reads the response to the oldest request not yet answered, body decoded and decompressed.
   * Interim responses (1xx: `100 Continue`, `103 Early Hints`) come before the final one and
   * are passed over (RFC 9110 15.2); this client asks for no upgrade, so a `101` is an error.
   */
  async receive(): Promise<HttpResponse> {
    const method = this.#methods.shift();
    if (method === undefined) throw new Error('No request is waiting for a response');
    let head = await readHead(this.reader);
    while (head.status < 200) {
      if (head.status === 101) throw new Error('Unexpected 101 Switching Protocols: no upgrade was asked for');
      head = await readHead(this.reader);
    }
    const body = new Uint8Array(await new Response(decoded(bodyOf(this.reader, head, method), head) as ReadableStream<Uint8Array<ArrayBuffer>>).arrayBuffer());
    return { ...head, body };
  }

  /** Sends one request and reads its response. */
  async request(method: string, path: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    this.send(method, path, headers);
    await this.writer.drain();
    return this.receive();
  }

  async close(): Promise<void> {
    this.writer.close();
    await this.writer.waitClosed();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [address, ...paths] = process.argv.slice(2);
  if (address === undefined) {
    console.error('usage: npx tsx examples/http-client.ts URL [PATH...]');
    process.exitCode = 2;
  } else {
    const url = new URL(address);
    const http = await HttpClient.connect(url);
    try {
      for (const path of [url.pathname + url.search, ...paths]) {
        const response = await http.request('GET', path);
        const coding = [response.headers.get('transfer-encoding'), response.headers.get('content-encoding')].filter((x) => x !== null);
        console.log(`GET ${path} -> ${response.status} ${response.reason}, ${response.body.byteLength} bytes${coding.length > 0 ? ` (${coding.join(', ')})` : ''}`);
      }
    } finally {
      await http.close();
    }
  }
}
