/**
 * The startServer outline every runtime shares (`lib/_serve.ts`), run against a fake runtime
 * whose building blocks record what the outline asks of them: no socket is opened, so every
 * runtime runs this spec. The network specs check the real adapters.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { serveTcp, serveUnix, type AcceptedSocket, type ServerRuntime, type TcpAddress, type UnixAddress } from '../lib/_serve.ts';
import type { FileIdentity } from '../lib/_unix-socket-file.ts';
import type { ServerListener } from '../lib/server.ts';
import type { Transport } from '../lib/transport.ts';
import { bytes, rejection, text, within } from './_loopback.ts';
import { runtime as runtimeName } from './_runtime.ts';

/** An in-memory connection: what the fake runtime accepts and wraps. */
interface FakeConn {
  name: string;
  tuned?: boolean;
}

/** A socket over a pair of in-memory pipes; `peer` is the other end's streams. */
class FakeSocket implements AcceptedSocket<string> {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly peer: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  readonly closed: Promise<void>;
  readonly opened = Promise.resolve();
  isClosed = false;
  #settleClosed!: () => void;
  startTlsCalls: Array<{ serverSide?: boolean; secureContext?: string }> = [];

  constructor(
    readonly conn: FakeConn,
    readonly extra: Readonly<Record<string, unknown>> | undefined,
    readonly tls: (socket: FakeSocket) => Transport = () => {
      throw new Error('no TLS here');
    },
  ) {
    const toServer = new TransformStream<Uint8Array, Uint8Array>();
    const toPeer = new TransformStream<Uint8Array, Uint8Array>();
    this.readable = toServer.readable;
    this.writable = toPeer.writable;
    this.peer = { readable: toPeer.readable, writable: toServer.writable };
    this.closed = new Promise((resolve) => {
      this.#settleClosed = resolve;
    });
  }

  close(): Promise<void> {
    this.isClosed = true;
    this.#settleClosed();
    return this.closed;
  }

  pauseReading(): void {}

  resumeReading(): void {}

  startTls(options: { serverSide?: boolean; secureContext?: string }): Transport {
    this.startTlsCalls.push({ serverSide: options.serverSide, secureContext: options.secureContext });
    return this.tls(this);
  }
}

/** A fake runtime: what it was asked to listen on, and a way to deliver connections. */
function fakeRuntime(options: { failListenAt?: number; tls?: (socket: FakeSocket) => Transport } = {}) {
  const addresses: Array<TcpAddress | UnixAddress> = [];
  const closed: string[] = [];
  const sockets: FakeSocket[] = [];
  const files = new Map<string, FileIdentity>();
  let deliver: ((conn: FakeConn) => void) | undefined;
  let inode = 0;
  const runtime: ServerRuntime<FakeConn, FakeSocket, string> = {
    checkReuse: () => {},
    resolve: async (hosts) => hosts.flatMap((host) => (host === 'dual' ? ['127.0.0.1', '::1'] : [host])),
    listen: async (address, onConn) => {
      addresses.push({ ...address });
      if (addresses.length === options.failListenAt) throw Object.assign(new Error('address in use'), { code: 'EADDRINUSE' });
      deliver = onConn;
      const name = 'path' in address ? address.path : ([address.host ?? '::', address.port === 0 ? 40000 : address.port] as const);
      if ('path' in address) files.set(address.path, { dev: 1, ino: ++inode, isSocket: true });
      const listener: ServerListener = { getsockname: () => name, close: () => void closed.push(String(name)) };
      return listener;
    },
    adopt: () => {
      throw new Error('no sock is given in these specs');
    },
    tuneTcp: (conn) => {
      conn.tuned = true;
    },
    socketOf: (conn, extra) => {
      const socket = new FakeSocket(conn, extra, options.tls);
      sockets.push(socket);
      return socket;
    },
    secureContext: (tls) => `context for ${tls.serverSide ? 'a server' : 'a client'}`,
    files: {
      lstat: (path) => files.get(path) ?? null,
      // The fake's files are no symlinks.
      stat: (path) => files.get(path) ?? null,
      link: (from, to) => void files.set(to, files.get(from)!),
      unlink: (path) => void files.delete(path),
    },
  };
  return { runtime, addresses, closed, sockets, deliver: (conn: FakeConn) => deliver!(conn) };
}

/** A server callback that echoes one line and closes. */
async function echoLine(reader: { readline(): Promise<Uint8Array> }, writer: { write(data: Uint8Array): void; close(): void }): Promise<void> {
  writer.write(await reader.readline());
  writer.close();
}

/** Sends a line from the client's end of `socket` and reads what comes back until EOF. */
async function exchange(socket: FakeSocket, line: string): Promise<string> {
  const writer = socket.peer.writable.getWriter();
  await writer.write(bytes(line));
  let answer = '';
  for await (const chunk of socket.peer.readable) answer += text(chunk);
  return answer;
}

const outline = suite(`The startServer outline (${runtimeName})`);

outline('every address of the hosts is listened on, with the port the first one was given', async () => {
  const fake = fakeRuntime();
  const server = await serveTcp(fake.runtime, echoLine, ['dual', '10.0.0.1'], 0, { backlog: 7 });
  try {
    assert.equal(fake.addresses, [
      { host: '127.0.0.1', port: 0, family: 0, backlog: 7, reusePort: false },
      { host: '::1', port: 40000, family: 0, backlog: 7, reusePort: false },
      { host: '10.0.0.1', port: 40000, family: 0, backlog: 7, reusePort: false },
    ]);
    assert.equal(server.sockets.map((socket) => socket.getsockname()), [['127.0.0.1', 40000], ['::1', 40000], ['10.0.0.1', 40000]]);
  } finally {
    server.close();
  }
});

outline('no host is every interface: one listener, host null, the family given', async () => {
  const fake = fakeRuntime();
  const server = await serveTcp(fake.runtime, echoLine, null, 8888, { family: 6 });
  server.close();
  assert.equal(fake.addresses, [{ host: null, port: 8888, family: 6, backlog: 100, reusePort: false }]);
});

outline('a listen that fails closes the listeners made before it, and startServer() rejects with its error', async () => {
  const fake = fakeRuntime({ failListenAt: 3 });
  const error = await rejection(serveTcp(fake.runtime, echoLine, ['dual', '10.0.0.1'], 0, {}));
  assert.is((error as { code?: string }).code, 'EADDRINUSE');
  assert.equal(fake.closed, ['127.0.0.1,40000', '::1,40000']);
});

outline('each TCP client is tuned, wrapped and served with its reader and writer', async () => {
  const fake = fakeRuntime();
  const server = await serveTcp(fake.runtime, echoLine, '127.0.0.1', 0, { keepAlive: true });
  try {
    fake.deliver({ name: 'a' });
    const socket = fake.sockets[0]!;
    assert.is(socket.conn.tuned, true);
    assert.is(socket.extra, undefined);
    assert.is(await within(exchange(socket, 'ping\n')), 'ping\n');
  } finally {
    server.close();
  }
});

/**
 * A fake TLS start: the first `failures` calls throw, as a socket closed before TLS could
 * start does; the others return a new socket, listed in `secure`.
 */
function fakeTls(failures = 0): { secure: FakeSocket[]; tls: (socket: FakeSocket) => Transport } {
  const secure: FakeSocket[] = [];
  let calls = 0;
  const tls = (socket: FakeSocket): Transport => {
    calls += 1;
    if (calls <= failures) throw new Error('closed before TLS could start');
    const upgraded = new FakeSocket(socket.conn, socket.extra);
    secure.push(upgraded);
    return upgraded;
  };
  return { secure, tls };
}

const ssl = { cert: 'cert', key: 'key' };

outline('with ssl, each client starts TLS with the one context made up front, and is served once it is up', async () => {
  const { secure, tls } = fakeTls();
  const fake = fakeRuntime({ tls });
  const server = await serveTcp(fake.runtime, echoLine, '127.0.0.1', 0, { ssl });
  try {
    fake.deliver({ name: 'a' });
    assert.equal(fake.sockets[0]!.startTlsCalls, [{ serverSide: true, secureContext: 'context for a server' }]);
    assert.is(await within(exchange(secure[0]!, 'over tls\n')), 'over tls\n');
  } finally {
    server.close();
  }
});

outline('a client whose TLS cannot start is closed, and the server serves the next one', async () => {
  const { secure, tls } = fakeTls(1);
  const fake = fakeRuntime({ tls });
  const server = await serveTcp(fake.runtime, echoLine, '127.0.0.1', 0, { ssl });
  try {
    fake.deliver({ name: 'a' });
    fake.deliver({ name: 'b' });
    assert.is(fake.sockets[0]!.isClosed, true);
    assert.is(await within(exchange(secure[0]!, 'next\n')), 'next\n');
  } finally {
    server.close();
  }
});

outline('a Unix client gets the path as sockname and an empty peername; the file is the server\'s', async () => {
  const fake = fakeRuntime();
  const server = await serveUnix(fake.runtime, echoLine, '/run/app.sock', { backlog: 5 });
  try {
    assert.is(fake.addresses.length, 1);
    assert.is((fake.addresses[0] as UnixAddress).backlog, 5);
    assert.equal(server.sockets.map((socket) => socket.getsockname()), ['/run/app.sock']);
    fake.deliver({ name: 'a' });
    const socket = fake.sockets[0]!;
    assert.is(socket.conn.tuned, undefined);
    assert.equal(socket.extra, { sockname: '/run/app.sock', peername: '' });
    assert.is(await within(exchange(socket, 'unix\n')), 'unix\n');
  } finally {
    server.close();
  }
});

outline.run();
