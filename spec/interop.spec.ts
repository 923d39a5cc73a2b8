/**
 * The reader and writer with the platform's own stream consumers and producers: `for await`,
 * `fetch` request bodies, `Response`, `DecompressionStream` and `CompressionStream`. Runs on
 * Node, Deno and Bun (the connections through each one's adapter).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamReader, StreamWriter, type Server } from '../lib/index.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { bytes, text, within } from './_loopback.ts';

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A stream of `chunks`, one per read. */
function streamOf(...chunks: string[]): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(new TextEncoder().encode(next));
    },
  });
}

/**
 * TypeScript's DOM types want `Uint8Array<ArrayBuffer>` chunks for (De)CompressionStream, and
 * `reader.readable` is typed with the wider `Uint8Array`; its chunks are fresh ArrayBuffers.
 */
function ofArrayBuffers(stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array<ArrayBuffer>> {
  return stream as ReadableStream<Uint8Array<ArrayBuffer>>;
}

async function gzip(data: string): Promise<Uint8Array> {
  const compressed = streamOf(data).pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(compressed).arrayBuffer());
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

const interop = suite(`interop with the platform's streams (${runtime})`);

interop('for await over a reader yields its lines, the last one unterminated', async () => {
  const reader = StreamReader.from(streamOf('GET / HTTP/1.1\r\nHost: a', '\r\n\r\nbody'));
  const lines: string[] = [];
  for await (const line of reader) lines.push(text(line));
  assert.equal(lines, ['GET / HTTP/1.1\r\n', 'Host: a\r\n', '\r\n', 'body']);
});

interop('the rest of a reader is a fetch request body (duplex: half)', async () => {
  const received: string[] = [];
  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => void chunks.push(chunk));
    request.on('end', () => {
      received.push(Buffer.concat(chunks).toString('latin1'));
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  try {
    const reader = StreamReader.from(streamOf('header\n', 'body part 1, ', 'body part 2'));
    assert.is(text(await reader.readline()), 'header\n');
    const { port } = http.address() as AddressInfo;
    const init = { method: 'POST', body: reader.readable, duplex: 'half' } as RequestInit;
    const response = await within(fetch(`http://127.0.0.1:${port}/`, init));
    assert.is(await response.text(), 'ok');
    assert.equal(received, ['body part 1, body part 2']);
  } finally {
    await new Promise((resolve) => http.close(resolve));
  }
});

interop('the rest of a reader is a Response body', async () => {
  const reader = StreamReader.from(streamOf('HTTP/1.0 200 OK\r\n\r\n', '{"a":', '1}'));
  await reader.readuntil('\r\n\r\n');
  assert.equal(await new Response(reader.readable).json(), { a: 1 });
});

interop('reader.readable goes through a DecompressionStream', async () => {
  const compressed = await gzip('hello '.repeat(1000));
  const reader = new StreamReader();
  reader.feedData(bytes(`${compressed.byteLength}\n`));
  reader.feedData(compressed);
  reader.feedEof();
  assert.is(text(await reader.readline()), `${compressed.byteLength}\n`);
  const plain = await new Response(ofArrayBuffers(reader.readable).pipeThrough(new DecompressionStream('gzip'))).text();
  assert.is(plain, 'hello '.repeat(1000));
});

interop("a CompressionStream's output pipes to writer.writable over a connection", async () => {
  let served!: (data: string) => void;
  const serverGot = new Promise<string>((resolve) => (served = resolve));
  const server = await startServer(async (reader, writer) => {
    served(await new Response(ofArrayBuffers(reader.readable).pipeThrough(new DecompressionStream('gzip'))).text());
    writer.close();
  }, '127.0.0.1', 0);
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    const source = 'line of text\n'.repeat(5000);
    // pipeTo closes writer.writable at the end: writeEof(), so the server sees EOF.
    await within(streamOf(source).pipeThrough(new CompressionStream('gzip')).pipeTo(writer.writable));
    assert.is(await within(serverGot), source);
    assert.is((await within(reader.read())).byteLength, 0);
    writer.close();
    await within(writer.waitClosed()).catch(() => {});
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

interop('writer.writable takes strings and bytes from any native stream', async () => {
  const chunks: Uint8Array[] = [];
  const writer = StreamWriter.from(new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) }));
  await new ReadableStream<string | Uint8Array>({
    start(controller) {
      controller.enqueue('text ');
      controller.enqueue(bytes('bytes'));
      controller.close();
    },
  }).pipeTo(writer.writable);
  assert.is(text(concat(chunks)), 'text bytes');
});

interop.run();
