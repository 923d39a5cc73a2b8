/**
 * The connection functions of the browser/default entry (lib/runtime/web.ts): any pair of streams as
 * `sock`; a host and port through a global WinterTC `connect()` (here one made of `NodeSocket`s,
 * which have the WinterTC socket shape), and a clear error where there is none.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as netConnect } from 'node:net';
import * as web from '../lib/runtime/web.ts';
import { NodeSocket, startServer, type Server, type StreamReader, type StreamWriter } from '../lib/runtime/node.ts';
import { bytes, rejection, text, within } from './_loopback.ts';

type Connect = (address: { hostname: string; port: number }, options?: { allowHalfOpen?: boolean }) => NodeSocket;

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function echoThenBye(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) writer.write(line);
  writer.write('bye\n');
  writer.close();
}

/** Runs `body` with `connect` as the global WinterTC `connect()`, removing it afterwards. */
async function withGlobalConnect(connect: Connect, body: () => Promise<void>): Promise<void> {
  const global = globalThis as { connect?: Connect };
  global.connect = connect;
  try {
    await body();
  } finally {
    delete global.connect;
  }
}

const entry = suite('browser/default entry: openConnection and friends');

entry('openConnection(host, port) rejects where the platform has no TCP sockets, naming the way out', async () => {
  const error = (await rejection(web.openConnection('127.0.0.1', 8888))) as Error;
  assert.match(error.message, /no WinterTC connect\(\)/);
  assert.match(error.message, /options\.sock/);
  assert.match(((await rejection(web.openUnixConnection('/tmp/x.sock'))) as Error).message, /TCP sockets/);
  assert.match(((await rejection(web.startServer(() => {}, '127.0.0.1', 0))) as Error).message, /TCP listener/);
  assert.match(((await rejection(web.startUnixServer(() => {}, '/tmp/x.sock'))) as Error).message, /Unix sockets/);
});

entry('checks its arguments as the adapters do', async () => {
  assert.instance(await rejection(web.openConnection(null, null)), RangeError);
  assert.instance(await rejection(web.openConnection(null, null, { limit: 0, sock: { readable: new ReadableStream(), writable: new WritableStream() } })), RangeError);
  assert.instance(await rejection(web.openConnection('h', 1, { sock: { readable: new ReadableStream(), writable: new WritableStream() } })), RangeError);
});

entry('openConnection({ sock }) and openUnixConnection({ sock }) take any pair of streams', async () => {
  const written: string[] = [];
  const pair = () => ({
    readable: new Response('line\nrest').body!,
    writable: new WritableStream<Uint8Array>({ write: (chunk) => void written.push(text(chunk)) }),
  });
  const [reader, writer] = await web.openConnection(null, null, { sock: pair() });
  assert.is(text(await reader.readline()), 'line\n');
  assert.is(text(await reader.read()), 'rest');
  writer.write('out');
  writer.close();
  await within(writer.waitClosed());
  const [unixReader] = await web.openUnixConnection(null, { sock: pair() });
  assert.is(text(await unixReader.readline()), 'line\n');
  assert.equal(written, ['out']);
});

entry('a pair whose writable is locked is refused before its readable is touched: the readable can still be cancelled', async () => {
  let cancelled = false;
  const readable = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
  const writable = new WritableStream<Uint8Array>();
  writable.getWriter();
  assert.instance(await rejection(web.openConnection(null, null, { sock: { readable, writable } })), TypeError);
  assert.not.ok(readable.locked);
  await readable.cancel();
  assert.ok(cancelled);
});

entry('openConnection(host, port) uses a global WinterTC connect(), with allowHalfOpen for writeEof()', async () => {
  const server = await startServer(echoThenBye, '127.0.0.1', 0);
  const calls: unknown[] = [];
  try {
    await withGlobalConnect((address, options) => {
      calls.push([address, options]);
      return new NodeSocket(netConnect(address.port, address.hostname));
    }, async () => {
      const [reader, writer] = await within(web.openConnection('127.0.0.1', portOf(server)));
      writer.write(bytes('over connect()\n'));
      assert.is(text(await within(reader.readline())), 'over connect()\n');
      writer.writeEof();
      assert.is(text(await within(reader.read())), 'bye\n');
      writer.close();
      await within(writer.waitClosed());
    });
    assert.equal(calls, [[{ hostname: '127.0.0.1', port: portOf(server) }, { allowHalfOpen: true }]]);
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

entry('a failed WinterTC connect() rejects with its error', async () => {
  const server = await startServer(() => {}, '127.0.0.1', 0);
  const port = portOf(server);
  server.close();
  await within(server.waitClosed());
  await withGlobalConnect((address) => new NodeSocket(netConnect(address.port, address.hostname)), async () => {
    const error = (await rejection(web.openConnection('127.0.0.1', port))) as { code?: unknown };
    assert.is(error.code, 'ECONNREFUSED');
  });
});

entry.run();
