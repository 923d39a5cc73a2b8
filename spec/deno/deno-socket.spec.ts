/**
 * Deno only (the Deno suite of spec/_run.ts runs this folder): the Deno adapter around a
 * `Deno.Conn`, and a `Deno.Conn` or `Deno.Listener` handed to the connection functions.
 */
import { suite } from 'uvu';
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import {
  DenoSocket,
  openConnection,
  startServer,
  type DenoConn,
  type DenoNetAddr,
  type Server,
  StreamReader,
  type StreamWriter,
} from '../../lib/runtime/deno.ts';
import { denoNamespace } from '../../lib/runtime/deno/namespace.ts';
import { NodeSocket } from '../../lib/runtime/node/socket.ts';
import { bytes, rejection, text, thrown, within } from '../_loopback.ts';

const deno = denoNamespace();

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A connected pair of `Deno.Conn`s over loopback; `close()` closes both and the listener. */
async function connPair(): Promise<{ client: DenoConn; peer: DenoConn; close(): void }> {
  const listener = deno.listen({ hostname: '127.0.0.1', port: 0 });
  const client = await deno.connect({ hostname: '127.0.0.1', port: (listener.addr as DenoNetAddr).port });
  const peer = await listener.accept();
  listener.close();
  return {
    client,
    peer,
    close() {
      for (const conn of [client, peer]) {
        try {
          conn.close();
        } catch {
          // closed by the test
        }
      }
    },
  };
}

/** Runs `body` on a fresh connected pair, and closes both ends afterwards, whatever happens. */
async function withConnPair(body: (pair: Awaited<ReturnType<typeof connPair>>) => Promise<void>): Promise<void> {
  const pair = await connPair();
  try {
    await body(pair);
  } finally {
    pair.close();
  }
}

async function readAllFrom(conn: DenoConn): Promise<string> {
  const buffer = new Uint8Array(1024);
  let all = '';
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) return all;
    all += text(buffer.subarray(0, n));
  }
}

async function echoLine(reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write(await reader.readline());
  writer.close();
}

const socket = suite('DenoSocket');

socket('readable is a byte stream: a BYOB read fills the given view', async () => {
  await withConnPair(async (pair) => {
    const wrapped = new DenoSocket(pair.client);
    await pair.peer.write(bytes('hello'));
    const reader = wrapped.readable.getReader({ mode: 'byob' });
    const view = new Uint8Array(16);
    const { value } = await within(reader.read(view));
    assert.is(text(value!), 'hello');
    assert.is(value!.buffer.byteLength, 16, 'the bytes landed in the given buffer');
    reader.releaseLock();
    await wrapped.close();
  });
});

socket('closing writable half-closes (conn.closeWrite): the peer reads EOF and can still answer', async () => {
  await withConnPair(async (pair) => {
    const wrapped = new DenoSocket(pair.client);
    const writer = wrapped.writable.getWriter();
    await writer.write(bytes('request'));
    await within(writer.close());
    assert.is(await within(readAllFrom(pair.peer)), 'request');
    await pair.peer.write(bytes('answer'));
    pair.peer.close();
    const chunks: string[] = [];
    for await (const chunk of wrapped.readable) chunks.push(text(chunk));
    assert.is(chunks.join(''), 'answer');
    await within(wrapped.closed);
  });
});

socket('reading to EOF keeps the connection writable (unlike conn.readable)', async () => {
  await withConnPair(async (pair) => {
    const wrapped = new DenoSocket(pair.client);
    await pair.peer.closeWrite();
    const reader = wrapped.readable.getReader({ mode: 'byob' });
    const result = await within(reader.read(new Uint8Array(8)));
    assert.ok(result.done, 'a BYOB read waiting at EOF gets done');
    const writer = wrapped.writable.getWriter();
    await within(writer.write(bytes('still here')));
    await within(writer.close());
    assert.is(await within(readAllFrom(pair.peer)), 'still here');
  });
});

socket('close(reason) errors the readable with the reason and the writable', async () => {
  await withConnPair(async (pair) => {
    const wrapped = new DenoSocket(pair.client);
    const reader = wrapped.readable.getReader();
    const pending = reader.read();
    const reason = new Error('gone');
    await wrapped.close(reason);
    assert.is(await rejection(pending), reason);
    assert.ok((await rejection(wrapped.writable.getWriter().write(bytes('x')))) instanceof Error);
    assert.is(await within(readAllFrom(pair.peer)), '');
  });
});

socket('readable is made on first access, the same stream every time; made after close(reason), it is errored with the reason', async () => {
  await withConnPair(async (pair) => {
    const wrapped = new DenoSocket(pair.client);
    const reason = new Error('gone');
    await wrapped.close(reason);
    const readable = wrapped.readable;
    assert.is(wrapped.readable, readable);
    assert.is(await rejection(readable.getReader().read()), reason);
  });
});

socket('StreamReader.from(socket.readable) reads the connection to its EOF, and holds the stream', async () => {
  await withConnPair(async (pair) => {
    const wrapped = new DenoSocket(pair.client);
    const reader = StreamReader.from(wrapped.readable);
    assert.ok(wrapped.readable.locked);
    await pair.peer.write(bytes('first\nsecond'));
    await pair.peer.closeWrite();
    assert.is(text(await within(reader.readline())), 'first\n');
    assert.is(text(await within(reader.read())), 'second');
    assert.is(text(await within(reader.read())), '');
    assert.ok(reader.atEof());
    await wrapped.close();
  });
});

socket('getExtraInfo and opened describe the connection', async () => {
  await withConnPair(async (pair) => {
    const wrapped = new DenoSocket(pair.client);
    const port = (pair.client.remoteAddr as DenoNetAddr).port;
    assert.equal(wrapped.getExtraInfo('peername'), ['127.0.0.1', port]);
    assert.is(wrapped.getExtraInfo('socket'), pair.client);
    assert.is((await wrapped.opened).remoteAddress, `127.0.0.1:${port}`);
    await wrapped.close();
  });
});

socket('startTls() on both ends returns TLS sockets; the plain ones end, answer for them, and refuse a second call', async () => {
  const pair = await connPair();
  const fixture = (name: string): string => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), 'utf8');
  const client = new DenoSocket(pair.client, { serverHostname: 'localhost' });
  const peer = new DenoSocket(pair.peer);
  try {
    const clientReader = client.readable.getReader();
    const peerWriter = peer.writable.getWriter();
    const secureClient = client.startTls({ ssl: { ca: fixture('ca.pem'), alpnProtocols: ['x'] } });
    const securePeer = peer.startTls({ ssl: { cert: fixture('server.pem'), key: fixture('server-key.pem'), alpnProtocols: ['x'] }, serverSide: true });
    assert.instance(secureClient, NodeSocket, "a client runs Deno's node:tls over the connection, as a server does");
    const [clientInfo, peerInfo] = await within(Promise.all([secureClient.opened, securePeer.opened]));
    assert.is((clientInfo as { alpn: string | null }).alpn, 'x');
    assert.is((peerInfo as { alpn: string | null }).alpn, 'x');
    // The plain streams are finished: the readable ends, the writable is errored.
    assert.equal(await within(clientReader.read()), { done: true, value: undefined });
    assert.equal(await within(peer.readable.getReader().read()), { done: true, value: undefined }, 'made after the upgrade, it has ended too');
    assert.is(((await rejection(peerWriter.write(bytes('x')))) as { code?: string }).code, 'ERR_SOCKET_UPGRADED');
    assert.not.ok(client.canWriteEof());
    assert.equal(client.getExtraInfo('peername'), secureClient.getExtraInfo!('peername'));
    assert.instance(thrown(() => client.startTls()), TypeError);
    assert.instance(thrown(() => (secureClient as NodeSocket).startTls()), TypeError);
    // Bytes cross both ways over TLS.
    const writer = secureClient.writable.getWriter();
    await writer.write(bytes('over tls'));
    const reader = securePeer.readable!.getReader({ mode: 'byob' });
    const { value } = await within(reader.read(new Uint8Array(64)));
    assert.is(text(value!), 'over tls');
    reader.releaseLock();
    writer.releaseLock();
    // close() on the plain socket closes the TLS one, and `closed` follows it.
    await within(client.close());
    await within(secureClient.closed);
    await within(securePeer.close());
  } finally {
    pair.close();
  }
});

socket('startTls() refuses while a read is in flight, and on a closed socket', async () => {
  const pair = await connPair();
  const wrapped = new DenoSocket(pair.client, { serverHostname: 'localhost' });
  try {
    const reader = wrapped.readable.getReader({ mode: 'byob' });
    const reading = reader.read(new Uint8Array(16));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.match((thrown(() => wrapped.startTls()) as Error).message, /while a read or a write is in flight/);
    await pair.peer.write(bytes('still plain'));
    assert.is(text((await within(reading)).value!), 'still plain');
    await wrapped.close();
    assert.is((thrown(() => wrapped.startTls()) as { code?: string }).code, 'ERR_SOCKET_CLOSED');
  } finally {
    pair.close();
  }
});

socket.run();

const adapter = suite('Deno adapter: connections given as Deno objects');

adapter('openConnection({ sock }) wraps a Deno.Conn directly', async () => {
  const server = await startServer(echoLine, '127.0.0.1', 0);
  try {
    const conn = await deno.connect({ hostname: '127.0.0.1', port: portOf(server) });
    const [reader, writer] = await openConnection(null, null, { sock: conn });
    assert.ok(writer.transport instanceof DenoSocket);
    assert.is(writer.getExtraInfo('socket'), conn);
    writer.write('direct\n');
    assert.is(text(await within(reader.readline())), 'direct\n');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

adapter('openConnection({ sock }) with a DenoSocket: its readable, made already or not, becomes the reader\'s; a locked one is refused', async () => {
  const server = await startServer(echoLine, '127.0.0.1', 0);
  const conns: DenoConn[] = [];
  try {
    for (const touched of [false, true]) {
      const conn = await deno.connect({ hostname: '127.0.0.1', port: portOf(server) });
      conns.push(conn);
      const wrapped = new DenoSocket(conn);
      if (touched) assert.not.ok(wrapped.readable.locked);
      const [reader, writer] = await openConnection(null, null, { sock: wrapped });
      assert.ok(wrapped.readable.locked);
      writer.write(`touched: ${touched}\n`);
      assert.is(text(await within(reader.readline())), `touched: ${touched}\n`);
      assert.is(text(await within(reader.read())), '', 'EOF after the echo');
      writer.close();
      await within(writer.waitClosed());
    }
    const conn = await deno.connect({ hostname: '127.0.0.1', port: portOf(server) });
    conns.push(conn);
    const locked = new DenoSocket(conn);
    locked.readable.getReader();
    assert.instance(await rejection(openConnection(null, null, { sock: locked })), TypeError);
    await locked.close();
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed by its socket
      }
    }
    server.close();
    await within(server.waitClosed());
  }
});

adapter('startServer({ sock }) serves on a Deno.Listener', async () => {
  const listener = deno.listen({ hostname: '127.0.0.1', port: 0 });
  const server = await startServer(echoLine, null, null, { sock: listener });
  try {
    const [reader, writer] = await openConnection('127.0.0.1', (listener.addr as DenoNetAddr).port);
    writer.write('listener\n');
    assert.is(text(await within(reader.readline())), 'listener\n');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

adapter('refuses localAddr with a clear error (reusePort: spec/deno/deno-reuse-port.spec.ts)', async () => {
  assert.instance(await rejection(openConnection('127.0.0.1', 1, { localAddr: ['127.0.0.1', 0] })), RangeError);
});

adapter.run();
