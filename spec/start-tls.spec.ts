import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket as NetSocket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  NodeSocket,
  openConnection,
  socketpair,
  startServer,
  StreamReader,
  StreamWriter,
  type Server,
} from '../lib/runtime/node.ts';
import { bytes, rawServer, rejection, sleep, text, thrown, until, watchUnhandled, within } from './_loopback.ts';
import { CLIENT, SERVER, UNTRUSTED_SERVER } from './_tls.ts';

type Address = [string, number];

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as Address)[1];
}

async function shutdown(server: Server): Promise<void> {
  server.close();
  server.abortClients();
  await within(server.waitClosed(), 5000, 'the server closing');
}

async function closeWriter(writer: StreamWriter): Promise<void> {
  writer.close();
  await within(writer.waitClosed().catch(() => {}), 5000, 'the writer closing');
}

/** Runs `handler` as the server's client callback and reports how it ended. */
function serverTask(handler: (reader: StreamReader, writer: StreamWriter) => Promise<void>) {
  let settle!: (error: unknown) => void;
  const done = new Promise<unknown>((resolve) => {
    settle = resolve;
  });
  return {
    /** Resolves with null once the handler returned, or with its error. */
    done,
    callback: async (reader: StreamReader, writer: StreamWriter) => {
      try {
        await handler(reader, writer);
        settle(null);
      } catch (error) {
        settle(error);
        throw error;
      }
    },
  };
}

const upgrade = suite('StreamWriter startTls');

upgrade('upgrades both sides mid-stream: CPython test_start_tls', async () => {
  const watch = watchUnhandled();
  const seen: Record<string, unknown> = {};
  const task = serverTask(async (reader, writer) => {
    const line1 = await reader.readline();
    writer.write(line1);
    await writer.drain();
    seen.beforeContext = writer.getExtraInfo('sslcontext');
    const plain = writer.transport;
    await writer.startTls(SERVER);
    seen.afterContext = writer.getExtraInfo('sslcontext');
    seen.transportChanged = writer.transport !== plain;
    const line2 = await reader.readline();
    writer.write(line2);
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    writer.write('hello world 1!\n');
    const msg1 = text(await within(reader.readline()));
    const plain = writer.transport as NodeSocket;
    assert.is(writer.getExtraInfo('sslcontext'), null);
    assert.ok(writer.canWriteEof());
    // serverHostname defaults to the host the connection was opened with (an IP here).
    await within(writer.startTls(CLIENT));
    assert.ok(writer.getExtraInfo('sslcontext') != null);
    assert.instance(writer.transport, NodeSocket);
    assert.is.not(writer.transport, plain);
    assert.is(writer.canWriteEof(), false);
    writer.write('hello world 2!\n');
    const msg2 = text(await within(reader.readline()));
    assert.equal([msg1, msg2], ['hello world 1!\n', 'hello world 2!\n']);
    assert.is(text(await within(reader.read())), '');
    assert.is(await within(task.done), null);
    assert.equal(seen, { beforeContext: null, afterContext: seen.afterContext, transportChanged: true });
    assert.ok(seen.afterContext != null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('a server whose reader already buffered the client hello still upgrades: gh-142352', async () => {
  const watch = watchUnhandled();
  let buffered = 0;
  const task = serverTask(async (reader, writer) => {
    // Wait for the hello to be buffered before startTls(), as CPython's test does.
    await until(() => reader._peekBuffer().byteLength > 0);
    buffered = reader._peekBuffer().byteLength;
    await writer.startTls(SERVER);
    // None of the hello is left to read: the buffer is empty, or (on Deno, whose TLS socket
    // may decrypt the client's first record before the upgrade resolves) holds that plain text.
    const left = text(reader._peekBuffer());
    assert.ok('ping\n'.startsWith(left), `only plain text is buffered after the upgrade (${JSON.stringify(left)})`);
    assert.is(text(await reader.readline()), 'ping\n');
    writer.write('pong\n');
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    await within(writer.startTls(CLIENT));
    writer.write('ping\n');
    assert.is(text(await within(reader.readline())), 'pong\n');
    assert.is(await within(task.done), null);
    assert.ok(buffered > 5, `the hello was buffered (${buffered} bytes)`);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('the request to upgrade and the client hello may arrive together (pipelined STARTTLS)', async () => {
  const watch = watchUnhandled();
  const task = serverTask(async (reader, writer) => {
    assert.is(text(await reader.readline()), 'STARTTLS\n');
    await writer.startTls(SERVER);
    assert.is(text(await reader.readline()), 'secret\n');
    writer.write('ok\n');
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    // No wait for an answer: the hello follows the command at once.
    writer.write('STARTTLS\n');
    await within(writer.startTls(CLIENT));
    writer.write('secret\n');
    assert.is(text(await within(reader.readline())), 'ok\n');
    assert.is(await within(task.done), null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('a client refuses to start TLS while plain bytes it had buffered are unread (STARTTLS injection); read, it starts', async () => {
  const watch = watchUnhandled();
  const task = serverTask(async (reader, writer) => {
    assert.is(text(await reader.readline()), 'STARTTLS\n');
    writer.write('220 ready\nthe last plain line\n');
    await writer.drain();
    await writer.startTls(SERVER);
    writer.write('secret\n');
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    writer.write('STARTTLS\n');
    assert.is(text(await within(reader.readline())), '220 ready\n');
    await until(() => text(reader._peekBuffer()) === 'the last plain line\n');
    const refused = await rejection(writer.startTls(CLIENT));
    assert.is((refused as { code?: unknown }).code, 'ERR_TLS_UNREAD_PLAINTEXT');
    assert.match(String(refused), /20 bytes the peer sent in the clear are still unread/);
    // The connection is as it was: the plain line is read as what it is, then TLS starts.
    assert.is(text(await within(reader.readline())), 'the last plain line\n');
    await within(writer.startTls(CLIENT));
    assert.is(text(await within(reader.readline())), 'secret\n');
    assert.is(await within(task.done), null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('a client refuses too while the socket holds plain bytes its paused reader did not take; read, it starts', async () => {
  const watch = watchUnhandled();
  const piece = 'p'.repeat(3071) + '\n';
  const task = serverTask(async (reader, writer) => {
    assert.is(text(await reader.readline()), 'STARTTLS\n');
    for (let i = 0; i < 4; i++) {
      writer.write(piece);
      await writer.drain();
      await sleep(20);
    }
    await writer.startTls(SERVER);
    writer.write('secret\n');
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    // A limit of 1024: the reader pauses the socket after the first piece, and Node keeps the
    // others in the socket's own buffer.
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { limit: 1024 }));
    writer.write('STARTTLS\n');
    const raw = writer.getExtraInfo('socket') as NetSocket;
    await until(() => reader._peekBuffer().byteLength + raw.readableLength === 4 * piece.length);
    assert.ok(raw.readableLength > 0, 'bytes wait in the socket, not the reader');
    const refused = await rejection(writer.startTls(CLIENT));
    assert.is((refused as { code?: unknown }).code, 'ERR_TLS_UNREAD_PLAINTEXT');
    for (let i = 0; i < 4; i++) assert.is(text(await within(reader.readexactly(piece.length))), piece);
    await within(writer.startTls(CLIENT));
    assert.is(text(await within(reader.readline())), 'secret\n');
    assert.is(await within(task.done), null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('what was written before startTls() goes out in plain text, all of it, first', async () => {
  const watch = watchUnhandled();
  const size = 4 * 1024 * 1024;
  const payload = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
  const task = serverTask(async (reader, writer) => {
    const received = await reader.readexactly(size);
    assert.ok(received.every((byte, i) => byte === ((i * 7) & 0xff)), 'the plain bytes arrived intact');
    await writer.startTls(SERVER);
    writer.write(await reader.readline());
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    // Far over the high-water mark, and no drain(): startTls() must flush it first.
    for (let offset = 0; offset < size; offset += 65536) writer.write(payload.subarray(offset, offset + 65536));
    await within(writer.startTls(CLIENT), 10_000);
    writer.write('after\n');
    assert.is(text(await within(reader.readline())), 'after\n');
    assert.is(await within(task.done), null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('the reader keeps reading through the TLS socket, with its flow control: gh-152431', async () => {
  const watch = watchUnhandled();
  const size = 2 * 1024 * 1024;
  const task = serverTask(async (reader, writer) => {
    await reader.readline();
    await writer.startTls(SERVER);
    writer.write(new Uint8Array(size).fill(0x61));
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { limit: 1024 }));
    writer.write('go\n');
    const plain = writer.transport;
    await within(writer.startTls(CLIENT));
    assert.is.not(writer.transport, plain);
    assert.is(reader.transport, writer.transport, 'the reader follows the new transport');
    const tls = writer.getExtraInfo('ssl_object') as TLSSocket;
    // Over 2 * limit buffered: the reader pauses the TLS socket, not the one under it.
    await until(() => tls.isPaused());
    assert.ok(reader._peekBuffer().byteLength > 2 * 1024);
    const all = await within(reader.read(-1), 10_000);
    assert.is(all.byteLength, size);
    assert.ok(all.every((byte) => byte === 0x61));
    assert.is(await within(task.done), null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('a refused certificate rejects startTls() and closes the connection', async () => {
  const watch = watchUnhandled();
  const task = serverTask(async (reader, writer) => {
    await reader.readline();
    await writer.startTls(UNTRUSTED_SERVER);
  });
  const server = await startServer(task.callback, '127.0.0.1', 0, { onError: () => {} });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    writer.write('go\n');
    const error = (await rejection(writer.startTls(CLIENT))) as NodeJS.ErrnoException;
    assert.is(error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.is(await rejection(writer.waitClosed()), error);
    assert.is(await rejection(reader.read()), error);
    assert.instance(await within(task.done), Error);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('a handshake the peer never answers times out and closes the connection', async () => {
  const watch = watchUnhandled();
  const server = await rawServer();
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', server.port));
    const peer = await within(server.accepted());
    peer.resume();
    const error = (await rejection(writer.startTls(CLIENT, { sslHandshakeTimeout: 0.1 }))) as NodeJS.ErrnoException;
    assert.is(error.code, 'ETIMEDOUT');
    assert.match(error.message, /^SSL handshake is taking longer than 0\.1 seconds/);
    await until(() => peer.readableEnded || peer.destroyed);
    assert.is(await rejection(reader.read()), error);
  } finally {
    await server.close();
    await watch.stop();
  }
});

upgrade('refuses what cannot be upgraded, leaving the connection usable', async () => {
  const watch = watchUnhandled();
  const server = await startServer(async (reader, writer) => {
    for await (const line of reader) writer.write(line);
    writer.close();
  }, '127.0.0.1', 0);
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    // A server's options on a client: no name to verify is fine, but ssl: 5 is not.
    assert.instance(await rejection(writer.startTls(5 as never)), TypeError);
    const empty = (await rejection(writer.startTls(CLIENT, { serverHostname: '' }))) as Error;
    assert.instance(empty, RangeError);
    assert.instance(await rejection(writer.startTls(CLIENT, { sslHandshakeTimeout: -1 })), RangeError);
    writer.write('still plain\n');
    assert.is(text(await within(reader.readline())), 'still plain\n');
    const first = writer.startTls(CLIENT, { sslHandshakeTimeout: 0.05 });
    assert.match(((await rejection(writer.startTls(CLIENT))) as Error).message, /already in progress/);
    await rejection(first);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

upgrade('refuses a TLS transport, a writer after writeEof(), a bare pair of streams, and ssl: true on a server', async () => {
  const watch = watchUnhandled();
  let serverError: unknown;
  const server = await startServer(async (reader, writer) => {
    serverError = await rejection(writer.startTls(true));
    for await (const line of reader) writer.write(line);
    writer.close();
  }, '127.0.0.1', 0, { ssl: SERVER });
  const [a, b] = await socketpair();
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    writer.write('echo\n');
    assert.is(text(await within(reader.readline())), 'echo\n');
    const again = (await rejection(writer.startTls(CLIENT))) as Error;
    assert.instance(again, TypeError);
    assert.match(again.message, /Cannot startTls on a TLS socket/);
    assert.instance(serverError, TypeError);
    await closeWriter(writer);

    const [, pairWriter] = await openConnection(null, null, { sock: { readable: new ReadableStream(), writable: new WritableStream() } });
    assert.instance(await rejection(pairWriter.startTls(CLIENT)), TypeError);

    const [, plainWriter] = await openConnection(null, null, { sock: a });
    plainWriter.writeEof();
    assert.match(((await rejection(plainWriter.startTls(CLIENT))) as Error).message, /after writeEof\(\)/);
    await closeWriter(plainWriter);
  } finally {
    a.destroy();
    b.destroy();
    await shutdown(server);
    await watch.stop();
  }
});

const socketLevel = suite('NodeSocket startTls');

/** A NodeSocket to a plain echo server that starts TLS when told `STARTTLS\n`. */
async function starttlsServer() {
  return startServer(async (reader, writer) => {
    const line = await reader.readline();
    writer.write(line);
    await writer.drain();
    if (text(line) !== 'STARTTLS\n') return;
    await writer.startTls(SERVER);
    for await (const each of reader) {
      writer.write(each);
      await writer.drain();
    }
    writer.close();
  }, '127.0.0.1', 0, { onError: () => {} });
}

socketLevel('returns a new WinterTC socket: byte-stream readable, byte high-water mark, alpn in opened', async () => {
  const watch = watchUnhandled();
  const server = await starttlsServer();
  const net = connect({ host: '127.0.0.1', port: portOf(server) });
  try {
    const plain = new NodeSocket(net, { serverHostname: 'localhost' });
    await within(plain.opened);
    const plainWriter = plain.writable.getWriter();
    await plainWriter.write(bytes('STARTTLS\n'));
    const plainReader = plain.readable.getReader({ mode: 'byob' });
    const answer = await within(plainReader.read(new Uint8Array(64)));
    assert.is(text(answer.value!), 'STARTTLS\n');

    const secure = plain.startTls({ ssl: CLIENT });
    assert.instance(secure, NodeSocket);
    assert.is.not(secure, plain);
    const info = await within(secure.opened);
    assert.is(info.remoteAddress, `127.0.0.1:${portOf(server)}`);
    assert.is(info.alpn, null);
    // The plain streams are finished.
    assert.equal(await within(plainReader.read(new Uint8Array(8))), { done: true, value: new Uint8Array(0) });
    assert.is(((await rejection(plainWriter.write(bytes('x')))) as NodeJS.ErrnoException).code, 'ERR_SOCKET_UPGRADED');
    assert.is(plain.getExtraInfo('ssl_object'), secure.getExtraInfo('ssl_object'));

    const writer = secure.writable.getWriter();
    assert.is(writer.desiredSize, 65536);
    await writer.write(bytes('over tls\n'));
    const reader = secure.readable.getReader({ mode: 'byob' });
    let received = '';
    while (!received.endsWith('\n')) {
      const { value } = await within(reader.read(new Uint8Array(64)));
      received += text(value!);
    }
    assert.is(received, 'over tls\n');
    assert.is(secure.canWriteEof(), false);
    assert.throws(() => secure.startTls(), /Cannot startTls on a TLS socket/);
    assert.throws(() => plain.startTls(), /startTls can only be called once/);
    // The plain socket stands for the connection: it closes with the TLS one.
    await secure.close();
    await within(plain.closed);
  } finally {
    net.destroy();
    await shutdown(server);
    await watch.stop();
  }
});

socketLevel("read as a stream, a TLS socket ends our side at the peer's close_notify: TLS cannot half-close", async () => {
  let serverSawEof = false;
  const server = await startServer(async (reader, writer) => {
    await reader.readline();
    writer.write('GO\n');
    await writer.startTls(SERVER);
    writer.write('bye\n');
    writer.close();
    assert.equal(await reader.read(), new Uint8Array(0));
    serverSawEof = true;
  }, '127.0.0.1', 0, { onError: () => {} });
  const net: NetSocket = connect({ host: '127.0.0.1', port: portOf(server) });
  try {
    const plain = new NodeSocket(net, { serverHostname: 'localhost' });
    const plainWriter = plain.writable.getWriter();
    await plainWriter.write(bytes('STARTTLS\n'));
    const plainReader = plain.readable.getReader();
    assert.is(text((await within(plainReader.read())).value!), 'GO\n');
    plainReader.releaseLock();
    plainWriter.releaseLock();
    const secure = plain.startTls({ ssl: CLIENT });
    const reader = secure.readable.getReader();
    assert.is(text((await within(reader.read())).value!), 'bye\n');
    assert.is((await within(reader.read())).done, true);
    // Our writable was never closed, yet the server sees the end of the connection.
    await until(() => serverSawEof);
    await within(secure.closed);
  } finally {
    net.destroy();
    await shutdown(server);
  }
});

socketLevel('close() on the plain socket after the upgrade closes the TLS one', async () => {
  const server = await starttlsServer();
  const net: NetSocket = connect({ host: '127.0.0.1', port: portOf(server) });
  try {
    const plain = new NodeSocket(net);
    const writer = plain.writable.getWriter();
    await writer.write(bytes('STARTTLS\n'));
    const reader = plain.readable.getReader();
    assert.is(text((await within(reader.read())).value!), 'STARTTLS\n');
    reader.releaseLock();
    writer.releaseLock();
    const secure = plain.startTls({ ssl: CLIENT, serverHostname: 'localhost' });
    await within(secure.opened);
    await within(plain.close());
    await within(secure.closed);
    assert.ok((secure.getExtraInfo('socket') as NetSocket).destroyed);
  } finally {
    net.destroy();
    await shutdown(server);
  }
});

socketLevel('throws on a closed socket, and for bad PEM text before changing anything', async () => {
  const server = await starttlsServer();
  const net = connect({ host: '127.0.0.1', port: portOf(server) });
  try {
    const plain = new NodeSocket(net, { serverHostname: 'localhost' });
    await within(plain.opened);
    assert.throws(() => plain.startTls({ ssl: { cert: 'not a certificate', key: 'not a key' } }));
    // Still plain and usable.
    const writer = plain.writable.getWriter();
    await writer.write(bytes('hello\n'));
    assert.is(text((await within(plain.readable.getReader().read())).value!), 'hello\n');
    await plain.close();
    assert.is((thrown(() => plain.startTls()) as NodeJS.ErrnoException).code, 'ERR_SOCKET_CLOSED');
    await sleep(1);
  } finally {
    net.destroy();
    await shutdown(server);
  }
});

upgrade.run();
socketLevel.run();
