import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket as NetSocket } from 'node:net';
import { NodeSocket, StreamReader, type Protocol } from '../lib/runtime/node.ts';
import {
  bytes,
  isPending,
  rawServer,
  rejection,
  sleep,
  text,
  thrown,
  tick,
  until,
  watchUnhandled,
  within,
  type RawServer,
} from './_loopback.ts';

interface Connected {
  socket: NodeSocket;
  net: NetSocket;
  peer: NetSocket;
  server: RawServer;
  close(): Promise<void>;
}

/** A NodeSocket connected over loopback to a raw peer socket. */
async function connected(options: ConstructorParameters<typeof NodeSocket>[1] = {}): Promise<Connected> {
  const server = await rawServer();
  const net = connect({ host: '127.0.0.1', port: server.port });
  const socket = new NodeSocket(net, options);
  await within(socket.opened, 5000, 'connecting');
  const peer = await within(server.accepted(), 5000, 'accepting');
  return {
    socket,
    net,
    peer,
    server,
    async close() {
      net.destroy();
      await server.close();
    },
  };
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<string> {
  let all = '';
  for await (const chunk of readable) all += text(chunk);
  return all;
}

function peerReceived(peer: NetSocket): { text(): string; ended: Promise<void> } {
  let received = '';
  peer.setEncoding('latin1');
  peer.on('data', (chunk: string) => (received += chunk));
  return { text: () => received, ended: new Promise((resolve) => peer.once('end', resolve)) };
}

const opened = suite('NodeSocket opened and closed');

opened('opened resolves with both addresses once connected', async () => {
  const c = await connected();
  try {
    const info = await c.socket.opened;
    assert.is(info.remoteAddress, `127.0.0.1:${c.server.port}`);
    assert.is(info.localAddress, `127.0.0.1:${c.net.localPort}`);
    assert.is(info.alpn, null);
  } finally {
    await c.close();
  }
});

opened('opened rejects with the runtime error when connecting fails', async () => {
  const server = await rawServer();
  const port = server.port;
  await server.close();
  const socket = new NodeSocket(connect({ host: '127.0.0.1', port }));
  const error = (await rejection(socket.opened)) as NodeJS.ErrnoException;
  assert.is(error.code, 'ECONNREFUSED');
  const closedError = (await rejection(socket.closed)) as NodeJS.ErrnoException;
  assert.is(closedError.code, 'ECONNREFUSED');
});

opened('close() while connecting rejects opened', async () => {
  const server = await rawServer();
  try {
    const socket = new NodeSocket(connect({ host: '127.0.0.1', port: server.port }));
    void socket.close();
    const error = (await rejection(socket.opened)) as NodeJS.ErrnoException;
    assert.is(error.code, 'ERR_SOCKET_CLOSED');
    await within(socket.closed);
  } finally {
    await server.close();
  }
});

opened('close() ends the readable, errors the writable and resolves closed', async () => {
  const c = await connected();
  try {
    const reader = c.socket.readable.getReader();
    const read = reader.read();
    await c.socket.close();
    assert.equal(await within(read), { done: true, value: undefined });
    const writer = c.socket.writable.getWriter();
    const error = (await rejection(writer.write(bytes('late')))) as NodeJS.ErrnoException;
    assert.is(error.code, 'ERR_SOCKET_CLOSED');
    assert.is(c.net.destroyed, true);
  } finally {
    await c.close();
  }
});

opened('a reset by the peer errors both streams and rejects closed, with nothing unhandled', async () => {
  const watch = watchUnhandled();
  const c = await connected();
  try {
    const reader = c.socket.readable.getReader();
    const read = reader.read();
    c.peer.resetAndDestroy();
    const error = (await rejection(read)) as NodeJS.ErrnoException;
    assert.is(error.code, 'ECONNRESET');
    assert.is(((await rejection(c.socket.closed)) as NodeJS.ErrnoException).code, 'ECONNRESET');
    const writer = c.socket.writable.getWriter();
    assert.is(((await rejection(writer.ready)) as NodeJS.ErrnoException).code, 'ECONNRESET');
  } finally {
    await c.close();
    await watch.stop();
  }
});

opened('startTls() without a name to verify throws and leaves the socket as it was', async () => {
  const c = await connected();
  try {
    const error = thrown(() => c.socket.startTls()) as Error;
    assert.instance(error, RangeError);
    assert.match(error.message, /You must set serverHostname/);
    c.peer.write('still plain');
    assert.is(text((await c.socket.readable.getReader().read()).value!), 'still plain');
  } finally {
    await c.close();
  }
});

opened("a client's startTls() refuses while the socket holds plain bytes nobody read (injected after STARTTLS), leaving it as it was", async () => {
  const c = await connected();
  try {
    c.peer.write('250-INJECTED\r\n');
    c.net.read(0);
    await until(() => c.net.readableLength > 0);
    const error = thrown(() => c.socket.startTls({ serverHostname: 'localhost' })) as Error & { code?: string };
    assert.is(error.code, 'ERR_TLS_UNREAD_PLAINTEXT');
    assert.is(text((await c.socket.readable.getReader().read()).value!), '250-INJECTED\r\n');
  } finally {
    await c.close();
  }
});

opened.run();

const readable = suite('NodeSocket readable');

readable('is a byte stream whose BYOB reads get the bytes copied into the given view', async () => {
  const c = await connected();
  try {
    const reader = c.socket.readable.getReader({ mode: 'byob' });
    const storage = new ArrayBuffer(64);
    const read = reader.read(new Uint8Array(storage, 8, 32));
    c.peer.write('hello');
    const { value, done } = await within(read);
    assert.is(done, false);
    assert.is(value!.byteOffset, 8);
    assert.is(value!.byteLength, 5);
    assert.is(value!.buffer.byteLength, 64);
    assert.is(text(value!), 'hello');
  } finally {
    await c.close();
  }
});

readable('queues what does not fit in the view for the next read', async () => {
  const c = await connected();
  try {
    const reader = c.socket.readable.getReader({ mode: 'byob' });
    const read = reader.read(new Uint8Array(4));
    c.peer.write('abcdefghij');
    assert.is(text((await within(read)).value!), 'abcd');
    let rest = '';
    while (rest.length < 6) rest += text((await within(reader.read(new Uint8Array(16)))).value!);
    assert.is(rest, 'efghij');
  } finally {
    await c.close();
  }
});

readable('works with a default reader, and ends at the peer EOF', async () => {
  const c = await connected();
  try {
    c.peer.end('line1\nline2\n');
    assert.is(await within(readAll(c.socket.readable)), 'line1\nline2\n');
  } finally {
    await c.close();
  }
});

readable('answers a BYOB read still waiting at EOF with done', async () => {
  const c = await connected();
  try {
    const reader = c.socket.readable.getReader({ mode: 'byob' });
    const read = reader.read(new Uint8Array(8));
    await tick();
    c.peer.end();
    const result = await within(read);
    assert.is(result.done, true);
    assert.is(result.value!.byteLength, 0);
  } finally {
    await c.close();
  }
});

readable('pauses the socket while its queue is full and resumes when it is read', async () => {
  const c = await connected({ readableHighWaterMark: 16 * 1024 });
  try {
    const total = 4 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    const writeAll = async (): Promise<void> => {
      while (written < total) {
        written += block.length;
        if (!c.peer.write(block)) await new Promise((resolve) => c.peer.once('drain', resolve));
      }
      c.peer.end();
    };
    const writing = writeAll();
    const stream = c.socket.readable;
    await sleep(200);
    // Ours (16 KiB) + Node's (16 KiB) + a chunk or two in flight; the rest waits in the kernel.
    assert.ok(c.net.bytesRead < 512 * 1024, `read ${c.net.bytesRead} bytes from the kernel while nobody read`);
    assert.ok(c.net.isPaused(), 'the socket is paused');
    let received = 0;
    const reader = stream.getReader({ mode: 'byob' });
    let view = new Uint8Array(65536);
    for (;;) {
      const { value, done } = await within(reader.read(view), 10000, 'reading 4 MiB');
      if (done) break;
      received += value!.byteLength;
      view = new Uint8Array(value!.buffer);
    }
    await writing;
    assert.is(received, total);
  } finally {
    await c.close();
  }
});

readable('says what it connects when printed (as in the warning for an abandoned connection)', async () => {
  const c = await connected();
  try {
    assert.match(String(c.socket), /^<NodeSocket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+>$/);
    await c.socket.close();
    assert.match(String(c.socket), /^<NodeSocket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ closed>$/);
  } finally {
    await c.close();
  }
});

readable('is a locked stream once the data goes to a protocol: still a ReadableStream, unreadable', async () => {
  const c = await connected();
  try {
    const reader = new StreamReader();
    const protocol: Protocol = {
      connectionMade: () => {},
      dataReceived: (data) => reader.feedData(data),
      eofReceived: () => true,
      connectionLost: () => {},
    };
    c.socket.connectProtocol(protocol);
    const readable = c.socket.readable;
    assert.instance(readable, ReadableStream);
    assert.ok(readable.locked);
    assert.is(c.socket.readable, readable, 'the same stream every time');
    assert.instance(thrown(() => readable.getReader()), TypeError);
    assert.instance(thrown(() => readable.getReader({ mode: 'byob' })), TypeError);
    assert.match((thrown(() => c.socket.connectProtocol(protocol)) as Error).message, /already being read/);
  } finally {
    await c.close();
  }
});

readable('cancelling it stops reading; the connection closes once the writable is closed too', async () => {
  const c = await connected();
  try {
    await c.socket.readable.cancel();
    assert.ok(c.net.isPaused());
    const received = peerReceived(c.peer);
    const writer = c.socket.writable.getWriter();
    await writer.write(bytes('bye'));
    await writer.close();
    await within(received.ended);
    assert.is(received.text(), 'bye');
    await within(c.socket.closed);
  } finally {
    await c.close();
  }
});

readable.run();

const protocol = suite('NodeSocket connectProtocol');

protocol('delivers connectionMade, the data, EOF and a clean connectionLost', async () => {
  const c = await connected();
  try {
    const events: string[] = [];
    c.socket.connectProtocol({
      connectionMade: (transport) => void events.push(`made ${transport === c.socket}`),
      dataReceived: (data) => void events.push(`data ${text(data)}`),
      eofReceived: () => {
        events.push('eof');
        return true;
      },
      connectionLost: (error) => void events.push(`lost ${String(error)}`),
    });
    c.peer.end('ping');
    await sleep(50);
    assert.equal(events, ['made true', 'data ping', 'eof']);
    // Half-closed, not closed: our side still writes.
    const received = peerReceived(c.peer);
    const writer = c.socket.writable.getWriter();
    await writer.write(bytes('pong'));
    await writer.close();
    await within(c.socket.closed);
    // Our side may close before the peer reads (on Bun it does): what it got shows at its EOF.
    await within(received.ended);
    assert.is(received.text(), 'pong');
    assert.equal(events, ['made true', 'data ping', 'eof', 'lost null']);
  } finally {
    await c.close();
  }
});

protocol('ends our side at the peer EOF when eofReceived does not return true', async () => {
  const c = await connected();
  try {
    const lost: unknown[] = [];
    c.socket.connectProtocol({
      connectionMade: () => {},
      dataReceived: () => {},
      eofReceived: () => false,
      connectionLost: (error) => void lost.push(error),
    });
    const received = peerReceived(c.peer);
    c.peer.end();
    await within(received.ended);
    await within(c.socket.closed);
    assert.equal(lost, [null]);
  } finally {
    await c.close();
  }
});

protocol('reports the error a connection died of to connectionLost', async () => {
  const watch = watchUnhandled();
  const c = await connected();
  try {
    const lost: unknown[] = [];
    c.socket.connectProtocol({
      connectionMade: () => {},
      dataReceived: () => {},
      eofReceived: () => true,
      connectionLost: (error) => void lost.push(error),
    });
    c.peer.resetAndDestroy();
    await rejection(c.socket.closed);
    assert.is(lost.length, 1);
    assert.is((lost[0] as NodeJS.ErrnoException).code, 'ECONNRESET');
  } finally {
    await c.close();
    await watch.stop();
  }
});

protocol('a protocol that throws closes its connection with that error instead of crashing', async () => {
  const watch = watchUnhandled();
  const c = await connected();
  try {
    const lost: unknown[] = [];
    const error = new Error('protocol bug');
    c.socket.connectProtocol({
      connectionMade: () => {},
      dataReceived: () => {
        throw error;
      },
      eofReceived: () => true,
      connectionLost: (e) => void lost.push(e),
    });
    c.peer.write('data');
    assert.is(await rejection(c.socket.closed), error);
    assert.equal(lost, [error]);
  } finally {
    await c.close();
    await watch.stop();
  }
});

protocol('pauseReading() stops the data events and resumeReading() restarts them', async () => {
  const c = await connected();
  try {
    let received = 0;
    c.socket.connectProtocol({
      connectionMade: () => {},
      dataReceived: (data) => void (received += data.byteLength),
      eofReceived: () => true,
      connectionLost: () => {},
    });
    c.socket.pauseReading();
    c.peer.write('x'.repeat(1000));
    await sleep(50);
    assert.is(received, 0);
    c.socket.resumeReading();
    await sleep(50);
    assert.is(received, 1000);
  } finally {
    await c.close();
  }
});

protocol.run();

const writable = suite('NodeSocket writable');

writable('sends what is written, in order', async () => {
  const c = await connected();
  try {
    const received = peerReceived(c.peer);
    const writer = c.socket.writable.getWriter();
    for (let i = 0; i < 100; i++) void writer.write(bytes(`${i},`));
    await writer.close();
    await within(received.ended);
    assert.is(received.text(), Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
  } finally {
    await c.close();
  }
});

writable('sends the small writes of one tick in one system call', async () => {
  const c = await connected();
  try {
    const calls: string[] = [];
    const net = c.net as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
    const write = net._write.bind(c.net);
    const writev = net._writev.bind(c.net);
    // Bun's _writev() joins the chunks and hands them to its _write(): one send still, not a second.
    let inWritev = false;
    net._write = (...args) => {
      if (!inWritev) calls.push('write');
      write(...args);
    };
    net._writev = (...args) => {
      calls.push(`writev ${(args[0] as unknown[]).length}`);
      inWritev = true;
      try {
        writev(...args);
      } finally {
        inWritev = false;
      }
    };
    const writer = c.socket.writable.getWriter();
    const writes = Array.from({ length: 10 }, (_, i) => writer.write(bytes(`chunk ${i}\n`)));
    await Promise.all(writes);
    await tick();
    assert.equal(calls, ['writev 10']);
  } finally {
    await c.close();
  }
});

writable('has a 64 KiB byte high-water mark by default', async () => {
  const c = await connected();
  try {
    const writer = c.socket.writable.getWriter();
    assert.is(writer.desiredSize, 65536);
  } finally {
    await c.close();
  }
});

writable('applies backpressure when the peer stops reading, and resumes when it reads', async () => {
  const c = await connected({ writableHighWaterMark: 32 * 1024 });
  try {
    c.peer.pause();
    const writer = c.socket.writable.getWriter();
    const block = new Uint8Array(16 * 1024);
    let sent = 0;
    while (await within(Promise.race([writer.ready.then(() => true), sleep(100).then(() => false)]))) {
      void writer.write(block).catch(() => {});
      sent += block.length;
      assert.ok(sent < 64 * 1024 * 1024, 'the writer never blocked');
    }
    assert.ok(await isPending(writer.ready), 'ready waits while the peer does not read');
    let received = 0;
    c.peer.on('data', (chunk: Buffer) => (received += chunk.length));
    c.peer.resume();
    await within(writer.ready, 5000, 'ready after the peer reads');
    await writer.close();
    await within(new Promise((resolve) => c.peer.once('end', resolve)));
    assert.is(received, sent);
  } finally {
    await c.close();
  }
});

writable("listens for 'drain' only while a write waits for it: an idle socket has no listener", async () => {
  const c = await connected({ writableHighWaterMark: 32 * 1024 });
  try {
    assert.is(c.net.listenerCount('drain'), 0, 'idle');
    c.peer.pause();
    const writer = c.socket.writable.getWriter();
    const block = new Uint8Array(16 * 1024);
    let waited = false;
    for (let sent = 0; sent < 64 * 1024 * 1024 && !waited; sent += block.length) {
      void writer.write(block).catch(() => {});
      await tick();
      waited = c.net.listenerCount('drain') === 1;
    }
    assert.ok(waited, 'a write waits for the socket to drain');
    c.peer.resume();
    await within(writer.ready, 5000, 'ready after the peer reads');
    await until(() => c.net.listenerCount('drain') === 0);
  } finally {
    await c.close();
  }
});

writable('closing it half-closes: the peer sees EOF and its reply still arrives', async () => {
  const c = await connected();
  try {
    const received = peerReceived(c.peer);
    received.ended.then(() => c.peer.end('reply after EOF'));
    const writer = c.socket.writable.getWriter();
    await writer.write(bytes('request'));
    await writer.close();
    assert.is(await within(readAll(c.socket.readable)), 'reply after EOF');
    assert.is(received.text(), 'request');
    await within(c.socket.closed);
  } finally {
    await c.close();
  }
});

writable('rejects a chunk that is not a Uint8Array, and errors', async () => {
  const c = await connected();
  const d = await connected();
  try {
    // An ArrayBuffer has a byteLength, so it reaches the sink, which refuses it.
    const writer = (c.socket.writable as WritableStream<unknown>).getWriter();
    assert.instance(await rejection(writer.write(new ArrayBuffer(4))), TypeError);
    assert.instance(await rejection(writer.ready), TypeError);
    // A string has none: the byte-length strategy refuses it before the sink sees it.
    const other = (d.socket.writable as WritableStream<unknown>).getWriter();
    assert.instance(await rejection(other.write('text')), RangeError);
  } finally {
    await c.close();
    await d.close();
  }
});

writable('tryWrite() sends at once while the socket has room, and refuses once it is closed', async () => {
  const c = await connected();
  try {
    const received = peerReceived(c.peer);
    assert.is(c.socket.tryWrite(bytes('direct')), true);
    await sleep(50);
    assert.is(received.text(), 'direct');
    await c.socket.close();
    assert.is(c.socket.tryWrite(bytes('late')), false);
  } finally {
    await c.close();
  }
});

writable.run();

const extra = suite('NodeSocket getExtraInfo');

extra('gives peername, sockname and the net.Socket, and undefined for other names', async () => {
  const c = await connected();
  try {
    assert.equal(c.socket.getExtraInfo('peername'), ['127.0.0.1', c.server.port]);
    assert.equal(c.socket.getExtraInfo('sockname'), ['127.0.0.1', c.net.localPort]);
    assert.is(c.socket.getExtraInfo('socket'), c.net);
    assert.is(c.socket.getExtraInfo('peercert'), undefined);
    assert.is(c.socket.canWriteEof(), true);
  } finally {
    await c.close();
  }
});

extra('lets the given extra values win, and keeps the addresses after the close', async () => {
  const c = await connected();
  try {
    const socket = new NodeSocket(c.peer, { extra: { peername: '' } });
    assert.is(socket.getExtraInfo('peername'), '');
    await c.socket.close();
    assert.equal(c.socket.getExtraInfo('peername'), ['127.0.0.1', c.server.port]);
  } finally {
    await c.close();
  }
});

extra.run();
