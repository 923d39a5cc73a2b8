import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket as NetSocket } from 'node:net';
import {
  NodeSocket,
  openConnection,
  openUnixConnection,
  socketpair,
  StreamReader,
  StreamWriter,
} from '../lib/runtime/node.ts';
import {
  bytes,
  echoServer,
  hasIpv6Loopback,
  httpServer,
  isPending,
  rawServer,
  rejection,
  sleep,
  tempDir,
  text,
  thrown,
  tick,
  watchUnhandled,
  within,
} from './_loopback.ts';

/** CPython's `_basetest_open_connection`: an HTTP exchange over a fresh connection. */
async function httpExchange(reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write('GET / HTTP/1.0\r\n\r\n');
  assert.is(text(await within(reader.readline())), 'HTTP/1.0 200 OK\r\n');
  const rest = text(await within(reader.read()));
  assert.ok(rest.endsWith('\r\n\r\nTest message'), JSON.stringify(rest));
}

function closeQuietly(writer: StreamWriter): Promise<void> {
  writer.close();
  return within(writer.waitClosed()).catch(() => {});
}

const tcp = suite('openConnection over TCP');

tcp('exchanges bytes with a server (test 1)', async () => {
  const watch = watchUnhandled();
  const server = await httpServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    await httpExchange(reader, writer);
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await server.close();
    await watch.stop();
  }
});

tcp('connects over ::1 where the machine has it', async () => {
  if (!(await hasIpv6Loopback())) return;
  const server = await httpServer({ host: '::1' });
  try {
    const [reader, writer] = await openConnection('::1', server.port);
    assert.equal(writer.getExtraInfo('peername'), ['::1', server.port]);
    await httpExchange(reader, writer);
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

tcp('takes the port as a numeric string, and a family', async () => {
  const server = await httpServer();
  try {
    const [reader, writer] = await openConnection('localhost', String(server.port), { family: 4 });
    await httpExchange(reader, writer);
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

tcp('binds the local address it is given', async () => {
  const server = await echoServer();
  const spare = await rawServer();
  const localPort = spare.port;
  await spare.close();
  try {
    const [, writer] = await openConnection('127.0.0.1', server.port, { localAddr: ['127.0.0.1', localPort] });
    assert.equal(writer.getExtraInfo('sockname'), ['127.0.0.1', localPort]);
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

tcp('gives peername, sockname, the net.Socket and the socket as transport', async () => {
  const server = await echoServer();
  try {
    const [, writer] = await openConnection('127.0.0.1', server.port);
    const net = writer.getExtraInfo('socket') as NetSocket;
    assert.equal(writer.getExtraInfo('peername'), ['127.0.0.1', server.port]);
    assert.equal(writer.getExtraInfo('sockname'), ['127.0.0.1', net.localPort]);
    assert.instance(writer.transport, NodeSocket);
    assert.is(writer.getExtraInfo('sslcontext'), null);
    assert.is(writer.getExtraInfo('unknown', 'default'), 'default');
    assert.is(writer.canWriteEof(), true);
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

tcp('rejects with ECONNREFUSED when nobody listens', async () => {
  const spare = await rawServer();
  const port = spare.port;
  await spare.close();
  const error = (await rejection(openConnection('127.0.0.1', port))) as NodeJS.ErrnoException;
  assert.is(error.code, 'ECONNREFUSED');
});

tcp('an abort while connecting rejects with the signal\'s reason', async () => {
  const watch = watchUnhandled();
  const server = await echoServer();
  try {
    const controller = new AbortController();
    const opening = openConnection('127.0.0.1', server.port, { signal: controller.signal });
    const reason = new Error('gave up');
    controller.abort(reason);
    assert.is(await rejection(opening), reason);
    const already = AbortSignal.abort(reason);
    assert.is(await rejection(openConnection('127.0.0.1', server.port, { signal: already })), reason);
  } finally {
    await server.close();
    await watch.stop();
  }
});

tcp('the signal is let go once connected', async () => {
  const server = await echoServer();
  try {
    const controller = new AbortController();
    const [reader, writer] = await openConnection('127.0.0.1', server.port, { signal: controller.signal });
    controller.abort();
    writer.write('still open\n');
    assert.is(text(await within(reader.readline())), 'still open\n');
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

tcp('checks its arguments before connecting', async () => {
  const [a, b] = await socketpair();
  try {
    assert.match(((await rejection(openConnection('127.0.0.1', 1, { sock: a }))) as Error).message, /sock can not be specified/);
    assert.match(((await rejection(openConnection())) as Error).message, /no sock specified/);
    assert.instance(await rejection(openConnection('127.0.0.1', 1, { limit: 0 })), RangeError);
    assert.instance(await rejection(openConnection('127.0.0.1', 70000)), RangeError);
    assert.instance(await rejection(openConnection('127.0.0.1', 'http')), TypeError);
    assert.instance(await rejection(openConnection('127.0.0.1', 1, { family: 5 as never })), RangeError);
    assert.match(((await rejection(openConnection('127.0.0.1', 1, { ssl: true, sslHandshakeTimeout: 0 }))) as Error).message, /should be a positive number/);
    assert.match(((await rejection(openConnection('127.0.0.1', 1, { serverHostname: 'x' }))) as Error).message, /only meaningful with ssl/);
    assert.match(((await rejection(openConnection('127.0.0.1', 1, { sslHandshakeTimeout: 1 }))) as Error).message, /only meaningful with ssl/);
  } finally {
    a.destroy();
    b.destroy();
  }
});

tcp('uses the limit it is given for the reader', async () => {
  const server = await echoServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port, { limit: 5 });
    assert.is(reader.limit, 5);
    writer.write('longer than five\n');
    const error = (await rejection(reader.readline())) as Error;
    assert.instance(error, RangeError);
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

tcp.run();

const unix = suite('openUnixConnection');

unix('exchanges bytes with a Unix socket server (test 2)', async () => {
  const dir = tempDir();
  const server = await httpServer({ path: dir.path('http.sock') });
  try {
    const [reader, writer] = await openUnixConnection(dir.path('http.sock'));
    assert.is(writer.getExtraInfo('peername'), dir.path('http.sock'));
    assert.is(writer.getExtraInfo('sockname'), '');
    await httpExchange(reader, writer);
    await closeQuietly(writer);
  } finally {
    await server.close();
    dir.remove();
  }
});

unix('rejects with the runtime error when the path does not exist', async () => {
  const dir = tempDir();
  try {
    const error = (await rejection(openUnixConnection(dir.path('missing.sock')))) as NodeJS.ErrnoException;
    assert.is(error.code, 'ENOENT');
  } finally {
    dir.remove();
  }
});

unix('checks its arguments', async () => {
  assert.match(((await rejection(openUnixConnection())) as Error).message, /no path and sock/);
  const [a, b] = await socketpair();
  try {
    assert.match(((await rejection(openUnixConnection('/x', { sock: a }))) as Error).message, /can not be specified/);
  } finally {
    a.destroy();
    b.destroy();
  }
});

unix.run();

const errors = suite('openConnection errors of the connection');

errors('an error the connection dies of makes every read raise it (tests 5 and 6)', async () => {
  const watch = watchUnhandled();
  const dir = tempDir();
  const tcpServer = await httpServer();
  const unixServer = await httpServer({ path: dir.path('s') });
  try {
    for (const [reader, writer] of [
      await openConnection('127.0.0.1', tcpServer.port),
      await openUnixConnection(dir.path('s')),
    ]) {
      class ZeroDivisionError extends Error {}
      const error = new ZeroDivisionError();
      (writer.getExtraInfo('socket') as NetSocket).destroy(error);
      assert.is(await rejection(reader.read()), error);
      assert.is(await rejection(writer.waitClosed()), error);
      writer.close();
    }
  } finally {
    await tcpServer.close();
    await unixServer.close();
    dir.remove();
    await watch.stop();
  }
});

errors('a reset surfaces on every later read and on drain(), as ECONNRESET', async () => {
  const watch = watchUnhandled();
  const server = await rawServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    const peer = await within(server.accepted());
    const pending = reader.read();
    peer.resetAndDestroy();
    const error = (await rejection(pending)) as NodeJS.ErrnoException;
    assert.is(error.code, 'ECONNRESET');
    assert.is(await rejection(reader.readline()), error);
    assert.is(await rejection(writer.drain()), error);
    writer.write('dropped');
    assert.is(writer.isClosing(), true);
    assert.is(await rejection(writer.waitClosed()), error);
    writer.close();
  } finally {
    await server.close();
    await watch.stop();
  }
});

errors('drain() raises once the peer is gone, instead of looping forever (test 54, bpo-25441)', async () => {
  const watch = watchUnhandled();
  const server = await rawServer((socket) => socket.destroy());
  try {
    const [, writer] = await openConnection('127.0.0.1', server.port);
    const error = (await within((async () => {
      for (;;) {
        writer.write('foo\n');
        try {
          await writer.drain();
        } catch (e) {
          return e;
        }
        await sleep(1);
      }
    })(), 5000, 'the write/drain loop')) as NodeJS.ErrnoException;
    assert.ok(['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(String(error.code)), String(error));
    writer.close();
  } finally {
    await server.close();
    await watch.stop();
  }
});

errors.run();

const closing = suite('openConnection closing');

closing('isClosing turns true at close() and waitClosed completes (test 64)', async () => {
  const server = await httpServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    await httpExchange(reader, writer);
    assert.is(writer.isClosing(), false);
    writer.close();
    assert.is(writer.isClosing(), true);
    await within(writer.waitClosed());
  } finally {
    await server.close();
  }
});

closing('waitClosed completes with unread data (test 65)', async () => {
  const server = await httpServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    writer.write('GET / HTTP/1.0\r\n\r\n');
    assert.is(text(await within(reader.readline())), 'HTTP/1.0 200 OK\r\n');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await server.close();
  }
});

closing('the async writer API works in one coroutine (test 66)', async () => {
  const watch = watchUnhandled();
  const server = await httpServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    writer.write('GET / HTTP/1.0\r\n\r\n');
    await writer.drain();
    assert.is(text(await within(reader.readline())), 'HTTP/1.0 200 OK\r\n');
    assert.ok(text(await within(reader.read())).endsWith('\r\n\r\nTest message'));
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await server.close();
    await watch.stop();
  }
});

closing('after close(), write throws and drain() raises Connection lost (test 67)', async () => {
  const watch = watchUnhandled();
  const server = await httpServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    await httpExchange(reader, writer);
    writer.close();
    assert.match((thrown(() => writer.write('data')) as Error).message, /after close/);
    const error = (await rejection(writer.drain())) as NodeJS.ErrnoException;
    assert.is(error.code, 'ECONNRESET');
    await within(writer.waitClosed());
  } finally {
    await server.close();
    await watch.stop();
  }
});

closing('closing the writer feeds EOF to the reader (test 68, bpo-35065)', async () => {
  const server = await httpServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    writer.close();
    await within(writer.waitClosed());
    assert.is(reader.atEof(), true);
    assert.is((await reader.read()).length, 0);
  } finally {
    await server.close();
  }
});

closing('writeEof half-closes: the server sees EOF and its reply still arrives', async () => {
  const server = await rawServer((socket) => {
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => socket.end(`got ${received.length} bytes`));
  });
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port);
    writer.write('x'.repeat(100000));
    writer.writeEof();
    assert.is(writer.isClosing(), false);
    assert.is(text(await within(reader.read())), 'got 100000 bytes');
    assert.is(reader.atEof(), true);
    await within(writer.waitClosed());
  } finally {
    await server.close();
  }
});

closing.run();

const flow = suite('openConnection flow control');

flow('drain() waits while the peer does not read, then resumes when it does', async () => {
  const server = await rawServer((socket) => socket.pause());
  try {
    const [, writer] = await openConnection('127.0.0.1', server.port);
    const peer = await within(server.accepted());
    const block = new Uint8Array(64 * 1024).fill(120);
    let sent = 0;
    let drained: Promise<void> = Promise.resolve();
    while (!(await isPending(drained, 50))) {
      writer.write(block);
      sent += block.length;
      drained = writer.drain();
      assert.ok(sent < 256 * 1024 * 1024, 'drain never waited');
    }
    let received = 0;
    peer.on('data', (chunk: Buffer) => (received += chunk.length));
    peer.resume();
    await within(drained, 10000, 'drain after the peer reads');
    writer.writeEof();
    await within(new Promise((resolve) => peer.once('end', resolve)), 10000, 'the peer reading everything');
    assert.is(received, sent);
    writer.close();
    await within(writer.waitClosed());
  } finally {
    await server.close();
  }
});

flow('any number of drain() calls wait together and all resolve when the peer reads (test 53)', async () => {
  const server = await rawServer((socket) => socket.pause());
  try {
    const [, writer] = await openConnection('127.0.0.1', server.port);
    const peer = await within(server.accepted());
    const block = new Uint8Array(256 * 1024);
    while (!(await isPending(writer.drain(), 50))) writer.write(block);
    const drains = Array.from({ length: 10 }, () => writer.drain());
    assert.ok(await isPending(drains[9]!));
    peer.resume();
    await within(Promise.all(drains), 10000, 'ten drains');
    writer.close();
    await within(writer.waitClosed(), 10000);
  } finally {
    await server.close();
  }
});

flow('a reader that stops reading pauses the socket, and reading resumes it', async () => {
  const server = await rawServer();
  try {
    const [reader, writer] = await openConnection('127.0.0.1', server.port, { limit: 1024 });
    const peer = await within(server.accepted());
    const total = 8 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 'y');
    let written = 0;
    const writing = (async () => {
      while (written < total) {
        written += block.length;
        if (!peer.write(block)) await new Promise((resolve) => peer.once('drain', resolve));
      }
      peer.end();
    })();
    await sleep(200);
    const net = writer.getExtraInfo('socket') as NetSocket;
    assert.ok(net.bytesRead < 1024 * 1024, `${net.bytesRead} bytes read with nobody reading`);
    let received = 0;
    for (;;) {
      const chunk = await within(reader.read(65536), 10000, 'reading 8 MiB');
      if (chunk.length === 0) break;
      received += chunk.length;
    }
    await writing;
    assert.is(received, total);
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

flow.run();

const sock = suite('openConnection with sock');

sock('uses a connected net.Socket (the socketpair example)', async () => {
  const [rsock, wsock] = await socketpair();
  try {
    const [reader, writer] = await openConnection(null, null, { sock: rsock });
    wsock.write('abc');
    assert.is(text(await within(reader.read(100))), 'abc');
    writer.write('back');
    const back = await within(new Promise<Buffer>((resolve) => wsock.once('data', resolve)));
    assert.is(back.toString(), 'back');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    rsock.destroy();
    wsock.destroy();
  }
});

sock('a net.Socket whose peer had already ended (its end came before anyone listened) reads as EOF', async () => {
  const [rsock, wsock] = await socketpair();
  try {
    wsock.end();
    rsock.resume();
    await within(new Promise((resolve) => rsock.once('end', resolve)));
    const [reader, writer] = await openConnection(null, null, { sock: rsock });
    assert.is((await within(reader.read())).length, 0);
    assert.ok(reader.atEof());
    writer.close();
    await within(writer.waitClosed());
  } finally {
    rsock.destroy();
    wsock.destroy();
  }
});

sock('uses a { readable, writable } pair, read in pull mode', async () => {
  const upstream = new TransformStream<Uint8Array, Uint8Array>();
  const written: string[] = [];
  const pair = {
    readable: upstream.readable,
    writable: new WritableStream<Uint8Array>({ write: (chunk) => void written.push(text(chunk)) }),
  };
  const [reader, writer] = await openConnection(undefined, undefined, { sock: pair, limit: 100 });
  assert.is(reader.limit, 100);
  assert.is(writer.transport, pair);
  const feed = upstream.writable.getWriter();
  void feed.write(bytes('line\n'));
  assert.is(text(await within(reader.readline())), 'line\n');
  writer.write('out');
  await writer.drain();
  await tick();
  assert.equal(written, ['out']);
  void feed.close();
  assert.is((await within(reader.read())).length, 0);
  writer.close();
  await within(writer.waitClosed());
});

sock('uses another connection\'s socket (a NodeSocket) through its protocol hook', async () => {
  const server = await echoServer();
  try {
    const socket = new NodeSocket(connect({ host: '127.0.0.1', port: server.port }));
    const [reader, writer] = await openConnection(null, null, { sock: socket });
    assert.is(writer.transport, socket);
    writer.write('echo me\n');
    assert.is(text(await within(reader.readline())), 'echo me\n');
    await closeQuietly(writer);
  } finally {
    await server.close();
  }
});

sock('refuses anything else', async () => {
  assert.instance(await rejection(openConnection(null, null, { sock: {} as never })), TypeError);
});

sock.run();
