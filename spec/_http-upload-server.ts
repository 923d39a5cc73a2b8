/**
 * An HTTP/1.1 server's connection handler for the peer specs: requests one after another
 * (keep-alive), bodies read with the framings of `examples/http-client.ts`, each answered with
 * a line that says what arrived (size and checksum). curl, socat and nginx (as a proxy) talk to it.
 */
import * as assert from 'uvu/assert';
import { chunkedBody, lengthBody } from '../examples/http-client.ts';
import { IncompleteReadError, type StreamReader, type StreamWriter } from '../lib/index.ts';
import { text } from './_loopback.ts';

/** FNV-1a, 32 bits: a checksum that the spec and the server compute the same way, chunk by chunk. */
export function fnv1a(state: number, data: Uint8Array): number {
  let hash = state;
  for (let i = 0; i < data.byteLength; i++) hash = Math.imul(hash ^ data[i]!, 0x01000193) >>> 0;
  return hash;
}
export const FNV_START = 0x811c9dc5;

/** What the server saw of one request. */
export interface Seen {
  method: string;
  path: string;
  headers: Headers;
  size: number;
  checksum: number;
  /** Whether the reader was at EOF when the answer went out. */
  eof: boolean;
  /** Which connection it came on: 1 for the server's first, and so on. */
  connection: number;
}

/** The request's body: chunked, Content-Length, or none (a request without either has none). */
function requestBody(reader: StreamReader, headers: Headers): ReadableStream<Uint8Array> {
  if (/(^|,)\s*chunked\s*$/i.test(headers.get('transfer-encoding') ?? '')) return chunkedBody(reader);
  return lengthBody(reader, Number(headers.get('content-length') ?? 0));
}

/**
 * An HTTP/1.1 server's connection: requests one after another (keep-alive) until the client
 * closes or asks to; each answer is a line with what the server received. `/after-eof` waits for
 * the client's EOF (a half-close) before it answers.
 */
export function uploadServer(seen: Seen[]) {
  let connections = 0;
  return async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
    const connection = ++connections;
    try {
      for (;;) {
        let head: string;
        try {
          head = text(await reader.readuntil('\r\n\r\n'));
        } catch (error) {
          // The client closed between requests: the normal end of a keep-alive connection.
          if (error instanceof IncompleteReadError && error.partial.byteLength === 0) return;
          throw error;
        }
        const [requestLine = '', ...lines] = head.split('\r\n').filter((line) => line !== '');
        const [method = '', path = ''] = requestLine.split(' ');
        const headers = new Headers();
        for (const line of lines) headers.append(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
        if (headers.get('expect')?.toLowerCase() === '100-continue') {
          writer.write('HTTP/1.1 100 Continue\r\n\r\n');
          await writer.drain();
        }
        let size = 0;
        let checksum = FNV_START;
        for await (const chunk of requestBody(reader, headers)) {
          size += chunk.byteLength;
          checksum = fnv1a(checksum, chunk);
        }
        if (path === '/after-eof') assert.is((await reader.read()).byteLength, 0, 'nothing after the request but EOF');
        seen.push({ method, path, headers, size, checksum, eof: reader.atEof(), connection });
        const close = path === '/after-eof' || headers.get('connection')?.toLowerCase() === 'close';
        const body = `${method} ${path}: ${size} bytes, fnv1a ${checksum.toString(16)}${reader.atEof() ? ', after EOF' : ''}\n`;
        writer.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${body}`);
        await writer.drain();
        if (close) return;
      }
    } finally {
      writer.close();
      await writer.waitClosed().catch(() => {});
    }
  };
}

