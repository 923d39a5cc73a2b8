import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Socket as NetSocket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import {
  NodeSocket,
  openConnection,
  openUnixConnection,
  socketpair,
  startServer,
  startUnixServer,
  type Server,
  type StreamReader,
  type StreamWriter,
} from '../lib/runtime/node.ts';
import {
  isPending,
  rawServer,
  rejection,
  sleep,
  tempDir,
  text,
  thrown,
  until,
  watchUnhandled,
  within,
} from './_loopback.ts';
import { CLIENT, CLIENT_WITH_CERT, MUTUAL_SERVER, SERVER, UNTRUSTED_SERVER } from './_tls.ts';

type Address = [string, number];

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as Address)[1];
}

/** Echoes lines until EOF, then closes. */
async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    writer.write(line);
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
}

/** Sends one line and returns the echo. */
async function exchange(reader: StreamReader, writer: StreamWriter, line = 'hello world!\n'): Promise<string> {
  writer.write(line);
  await writer.drain();
  return text(await within(reader.readline()));
}

async function closeWriter(writer: StreamWriter): Promise<void> {
  writer.close();
  await within(writer.waitClosed().catch(() => {}), 5000, 'the writer closing');
}

async function shutdown(server: Server): Promise<void> {
  server.close();
  server.abortClients();
  await within(server.waitClosed(), 5000, 'the server closing');
}

/** Collects what the server's onError hook hears. */
function errorLog() {
  const errors: unknown[] = [];
  return { errors, onError: (error: unknown) => void errors.push(error) };
}

const connection = suite('openConnection and startServer with ssl');

connection('a trusted server echoes over TLS, checked against the host name given', async () => {
  const watch = watchUnhandled();
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is(await exchange(reader, writer, 'and again\n'), 'and again\n');
    await closeWriter(writer);
    // A name other than the host: verified against the certificate instead.
    const [reader2, writer2] = await within(
      openConnection('127.0.0.1', portOf(server), { ssl: CLIENT, serverHostname: 'localhost' }),
    );
    assert.is(await exchange(reader2, writer2), 'hello world!\n');
    writer2.write('last\n');
    await closeWriter(writer2);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

connection('the reader ends when the server closes the TLS connection', async () => {
  const server = await startServer(async (_reader, writer) => {
    writer.write('bye\n');
    writer.close();
    await writer.waitClosed();
  }, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    assert.is(text(await within(reader.read())), 'bye\n');
    assert.ok(reader.atEof());
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

connection('an untrusted certificate is refused, and the server callback never runs', async () => {
  const watch = watchUnhandled();
  let served = 0;
  const log = errorLog();
  const server = await startServer(() => void (served += 1), '127.0.0.1', 0, { ssl: UNTRUSTED_SERVER, onError: log.onError });
  try {
    const error = (await rejection(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }))) as NodeJS.ErrnoException;
    assert.is(error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    // The default trust store does not know the test CA either.
    const byDefault = (await rejection(openConnection('127.0.0.1', portOf(server), { ssl: true }))) as NodeJS.ErrnoException;
    assert.is(byDefault.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    await sleep(20);
    assert.is(served, 0);
    assert.equal(log.errors, []);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

connection('the default trust store refuses the test CA, and rejectUnauthorized: false connects anyway', async () => {
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const error = (await rejection(openConnection('127.0.0.1', portOf(server), { ssl: true }))) as NodeJS.ErrnoException;
    assert.is(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const [reader, writer] = await within(
      openConnection('127.0.0.1', portOf(server), { ssl: { rejectUnauthorized: false }, serverHostname: 'example.com' }),
    );
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is(writer.getExtraInfo('peercert')!.subject.CN, 'localhost');
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

connection('a certificate for another name is refused', async () => {
  const watch = watchUnhandled();
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const error = (await rejection(
      openConnection('127.0.0.1', portOf(server), { ssl: CLIENT, serverHostname: 'example.com' }),
    )) as NodeJS.ErrnoException;
    assert.is(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(error.message, /example\.com/);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

connection('a server that accepts and never answers: rejects with a timeout error and closes the socket', async () => {
  const watch = watchUnhandled();
  const server = await rawServer();
  try {
    const started = Date.now();
    const error = (await rejection(
      openConnection('127.0.0.1', server.port, { ssl: CLIENT, sslHandshakeTimeout: 0.2 }),
    )) as NodeJS.ErrnoException;
    const elapsed = Date.now() - started;
    assert.is(error.code, 'ETIMEDOUT');
    assert.is(error.name, 'TimeoutError');
    assert.is(error.message, 'SSL handshake is taking longer than 0.2 seconds: aborting the connection');
    assert.ok(elapsed >= 150 && elapsed < 3000, `took ${elapsed} ms`);
    // The server's side sees the connection go.
    const peer = server.connections[0]!;
    peer.resume();
    await until(() => peer.destroyed || peer.readableEnded);
  } finally {
    await server.close();
    await watch.stop();
  }
});

connection('aborting the signal during the handshake rejects with its reason and closes the socket', async () => {
  const watch = watchUnhandled();
  const server = await rawServer();
  const controller = new AbortController();
  try {
    const opening = openConnection('127.0.0.1', server.port, { ssl: CLIENT, signal: controller.signal });
    const peer = await within(server.accepted());
    peer.resume();
    assert.ok(await isPending(opening));
    const reason = new Error('enough');
    controller.abort(reason);
    assert.is(await rejection(opening), reason);
    await until(() => peer.destroyed || peer.readableEnded);
  } finally {
    await server.close();
    await watch.stop();
  }
});

connection('TLS over a Unix socket, with the name given', async () => {
  const watch = watchUnhandled();
  const dir = tempDir();
  const path = dir.path('tls.sock');
  const server = await startUnixServer(echo, path, { ssl: SERVER });
  try {
    const [reader, writer] = await within(openUnixConnection(path, { ssl: CLIENT, serverHostname: 'localhost' }));
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is(writer.getExtraInfo('peername'), path);
    assert.is(writer.getExtraInfo('peercert')!.subject.CN, 'localhost');
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    dir.remove();
    await watch.stop();
  }
});

connection('TLS over a connected sock, with the name given', async () => {
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  const sock = new NetSocket();
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(portOf(server), '127.0.0.1', resolve);
    });
    const [reader, writer] = await within(openConnection(null, null, { sock, ssl: CLIENT, serverHostname: 'localhost' }));
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is(writer.getExtraInfo('socket'), sock);
    await closeWriter(writer);
  } finally {
    sock.destroy();
    await shutdown(server);
  }
});

const checks = suite('TLS options');

checks('refuses what CPython refuses, before connecting', async () => {
  const [a, b] = await socketpair();
  try {
    const refused = async (promise: Promise<unknown>) => (await rejection(promise)) as Error;
    let error = await refused(openConnection('127.0.0.1', 1, { ssl: CLIENT, serverHostname: '' }));
    assert.instance(error, RangeError);
    assert.is(error.message, 'serverHostname cannot be an empty string or start with a leading dot.');
    error = await refused(openConnection('127.0.0.1', 1, { ssl: true, serverHostname: '.example.com' }));
    assert.instance(error, RangeError);
    error = await refused(openConnection(null, null, { sock: a, ssl: CLIENT }));
    assert.is(error.message, 'You must set serverHostname when using ssl without a host');
    error = await refused(openUnixConnection('/nowhere', { ssl: CLIENT }));
    assert.is(error.message, 'you have to pass serverHostname when using ssl');
    for (const timeout of [0, -1, Number.NaN]) {
      error = await refused(openConnection('127.0.0.1', 1, { ssl: CLIENT, sslHandshakeTimeout: timeout }));
      assert.instance(error, RangeError);
      assert.match(error.message, /^sslHandshakeTimeout should be a positive number, got/);
    }
    assert.instance(await refused(openConnection('127.0.0.1', 1, { ssl: CLIENT, sslHandshakeTimeout: '1' as never })), TypeError);
    assert.instance(await refused(openConnection('127.0.0.1', 1, { ssl: 'yes' as never })), TypeError);
    assert.instance(await refused(openConnection('127.0.0.1', 1, { ssl: { ca: 42 } as never })), TypeError);
    assert.instance(await refused(openConnection('127.0.0.1', 1, { ssl: { alpnProtocols: [''] } })), RangeError);
    assert.instance(await refused(openConnection('127.0.0.1', 1, { ssl: CLIENT, serverHostname: 7 as never })), TypeError);
    error = await refused(openConnection(null, null, { sock: { readable: new ReadableStream(), writable: new WritableStream() }, ssl: CLIENT, serverHostname: 'x' }));
    assert.instance(error, TypeError);
    error = await refused(startServer(echo, '127.0.0.1', 0, { ssl: true as never }));
    assert.instance(error, TypeError);
    error = await refused(startServer(echo, '127.0.0.1', 0, { ssl: { cert: SERVER.cert } }));
    assert.is(error.message, 'Server side SSL needs ssl.cert and ssl.key');
    error = await refused(startServer(echo, '127.0.0.1', 0, { sslHandshakeTimeout: 1 }));
    assert.is(error.message, 'sslHandshakeTimeout is only meaningful with ssl');
    error = await refused(startUnixServer(echo, '/nowhere', { ssl: {} }));
    assert.instance(error, RangeError);
  } finally {
    a.destroy();
    b.destroy();
  }
});

checks('without verification an empty serverHostname means no name at all', async () => {
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const [reader, writer] = await within(
      openConnection('127.0.0.1', portOf(server), { ssl: { rejectUnauthorized: false }, serverHostname: '' }),
    );
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is((writer.getExtraInfo('ssl_object') as TLSSocket).servername, false);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

checks('PEM text Node cannot use is refused with its error, and nothing is left open', async () => {
  const watch = watchUnhandled();
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const error = (await rejection(
      openConnection('127.0.0.1', portOf(server), { ssl: { ...CLIENT, cert: 'not a certificate', key: 'not a key' } }),
    )) as NodeJS.ErrnoException;
    assert.match(String(error.code), /^ERR_OSSL_/);
    assert.ok(await isPending(server.waitClosed()));
    // A server's certificate is loaded before it listens.
    const serverError = (await rejection(
      startServer(echo, '127.0.0.1', 0, { ssl: { cert: 'not a certificate', key: 'not a key' } }),
    )) as NodeJS.ErrnoException;
    assert.match(String(serverError.code), /^ERR_OSSL_/);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

const mutual = suite('mutual TLS');

mutual('a server with ca requires a client certificate: given, the server sees it', async () => {
  const watch = watchUnhandled();
  let clientCn: unknown;
  const server = await startServer(async (reader, writer) => {
    clientCn = writer.getExtraInfo('peercert')!.subject.CN;
    await echo(reader, writer);
  }, '127.0.0.1', 0, { ssl: MUTUAL_SERVER });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT_WITH_CERT }));
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is(clientCn, 'asyncio-streams test client');
    await closeWriter(writer);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

mutual('required and missing: the client is refused and the callback never runs', async () => {
  const watch = watchUnhandled();
  let served = 0;
  const log = errorLog();
  const server = await startServer(() => void (served += 1), '127.0.0.1', 0, { ssl: MUTUAL_SERVER, onError: log.onError });
  try {
    // TLS 1.3: the client's handshake is over before the server checks it, so the refusal
    // may arrive as the first read's error instead of the open's.
    let error: NodeJS.ErrnoException;
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { ssl: CLIENT });
      error = (await rejection(reader.read())) as NodeJS.ErrnoException;
      await closeWriter(writer);
    } catch (caught) {
      error = caught as NodeJS.ErrnoException;
    }
    assert.match(String(error.code), /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|SSLV3_ALERT_HANDSHAKE_FAILURE)$/, `${error.code} ${error.message}`);
    assert.is(served, 0);
    assert.equal(log.errors, []);
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

mutual('optional with rejectUnauthorized: false: served without one, peercert is null', async () => {
  let peercert: unknown = 'unset';
  const server = await startServer(async (reader, writer) => {
    peercert = writer.getExtraInfo('peercert');
    await echo(reader, writer);
  }, '127.0.0.1', 0, { ssl: { ...MUTUAL_SERVER, rejectUnauthorized: false } });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is(peercert, null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

const alpn = suite('ALPN');

alpn('the protocol both sides offer is negotiated and reported on both sides', async () => {
  let serverAlpn: unknown;
  const server = await startServer(async (reader, writer) => {
    serverAlpn = (await (writer.transport as NodeSocket).opened).alpn;
    await echo(reader, writer);
  }, '127.0.0.1', 0, { ssl: { ...SERVER, alpnProtocols: ['h2', 'http/1.1'] } });
  try {
    const [reader, writer] = await within(
      openConnection('127.0.0.1', portOf(server), { ssl: { ...CLIENT, alpnProtocols: ['http/1.1', 'x-other'] } }),
    );
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is((await (writer.transport as NodeSocket).opened).alpn, 'http/1.1');
    assert.is((writer.getExtraInfo('ssl_object') as TLSSocket).alpnProtocol, 'http/1.1');
    assert.is(serverAlpn, 'http/1.1');
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

alpn('without ALPN the negotiated protocol is null', async () => {
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.is((await (writer.transport as NodeSocket).opened).alpn, null);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

const extra = suite('getExtraInfo and canWriteEof over TLS');

extra('a plain connection has no TLS info: null, or the default given', async () => {
  const server = await startServer(echo, '127.0.0.1', 0);
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    for (const name of ['sslcontext', 'peercert', 'cipher', 'ssl_object', 'compression']) {
      assert.is(writer.getExtraInfo(name), null, name);
      assert.is(writer.getExtraInfo(name, 'none'), 'none', name);
    }
    assert.ok(writer.canWriteEof());
    assert.is(await exchange(reader, writer), 'hello world!\n');
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

extra('a TLS connection has CPython\'s TLS names, on both sides', async () => {
  let serverSide: Record<string, unknown> = {};
  const server = await startServer(async (reader, writer) => {
    serverSide = {
      sslcontext: writer.getExtraInfo('sslcontext'),
      peercert: writer.getExtraInfo('peercert'),
      cipher: writer.getExtraInfo('cipher'),
      canWriteEof: writer.canWriteEof(),
    };
    await echo(reader, writer);
  }, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    const context = writer.getExtraInfo('sslcontext') as { context: unknown };
    assert.type(context.context, 'object');
    const cert = writer.getExtraInfo('peercert')!;
    assert.is(cert.subject.CN, 'localhost');
    assert.is(cert.issuer.CN, 'asyncio-streams test CA');
    const cipher = writer.getExtraInfo('cipher') as { name: string; version: string };
    assert.match(cipher.version, /^TLSv1\.[23]$/);
    assert.type(cipher.name, 'string');
    assert.is(writer.getExtraInfo('compression'), null);
    const tls = writer.getExtraInfo('ssl_object');
    assert.instance(tls, TLSSocket);
    const raw = writer.getExtraInfo('socket');
    assert.instance(raw, NetSocket);
    assert.not.instance(raw, TLSSocket);
    assert.equal(writer.getExtraInfo('peername'), ['127.0.0.1', portOf(server)]);
    assert.equal(writer.getExtraInfo('sockname'), ['127.0.0.1', (raw as NetSocket).localPort]);
    assert.is(await exchange(reader, writer), 'hello world!\n');
    assert.type((serverSide.sslcontext as { context: unknown }).context, 'object');
    assert.is(serverSide.peercert, null);
    assert.is((serverSide.cipher as { version: string }).version, cipher.version);
    assert.is(serverSide.canWriteEof, false);
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

extra('canWriteEof() is false over TLS and writeEof() refuses', async () => {
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    assert.is(writer.canWriteEof(), false);
    assert.match((thrown(() => writer.writeEof()) as Error).message, /cannot half-close/);
    assert.is(await exchange(reader, writer), 'hello world!\n');
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

const serving = suite('a TLS server and its clients');

serving('a client that never sends its hello counts for waitClosed() and closeClients() ends it', async () => {
  const watch = watchUnhandled();
  let served = 0;
  const server = await startServer(() => void (served += 1), '127.0.0.1', 0, { ssl: SERVER });
  const raw = new NetSocket();
  try {
    await new Promise<void>((resolve) => raw.connect(portOf(server), '127.0.0.1', resolve));
    const ended = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => {});
    raw.resume();
    server.close();
    const closed = server.waitClosed();
    assert.ok(await isPending(closed, 50));
    server.closeClients();
    await within(closed, 5000, 'waitClosed');
    await within(ended, 5000, 'the raw client closing');
    assert.is(served, 0);
  } finally {
    raw.destroy();
    await shutdown(server);
    await watch.stop();
  }
});

serving("abortClients() closes at once a client whose writer closed and whose peer never answers its close_notify", async () => {
  // writer.close() waits for the peer's close_notify (sslShutdownTimeout, 30 s); CPython's
  // abort_clients() does not, and neither may ours.
  const watch = watchUnhandled();
  const server = await startServer((_reader, writer) => {
    writer.write('hello\n');
    writer.close();
  }, '127.0.0.1', 0, { ssl: SERVER });
  // Half-open: at the server's close_notify the client keeps its side open (node:net's option, which tls.connect passes on).
  const halfOpen = { allowHalfOpen: true };
  const client = tlsConnect({ port: portOf(server), host: '127.0.0.1', ca: CLIENT.ca as string, servername: 'localhost', ...halfOpen });
  try {
    client.on('error', () => {});
    client.resume();
    // The server's close_notify arrives as the end; the client keeps its side open.
    await within(new Promise((resolve) => client.once('end', resolve)), 5000, "the server's close_notify");
    server.close();
    server.abortClients();
    await within(server.waitClosed(), 2000, 'waitClosed() after abortClients()');
  } finally {
    client.destroy();
    await shutdown(server);
    await watch.stop();
  }
});

serving('a client slower than sslHandshakeTimeout is dropped silently', async () => {
  const watch = watchUnhandled();
  const log = errorLog();
  let served = 0;
  const server = await startServer(() => void (served += 1), '127.0.0.1', 0, {
    ssl: SERVER,
    sslHandshakeTimeout: 0.2,
    onError: log.onError,
  });
  const raw = new NetSocket();
  try {
    const ended = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => {});
    await new Promise<void>((resolve) => raw.connect(portOf(server), '127.0.0.1', resolve));
    raw.resume();
    await within(ended, 3000, 'the server dropping the slow client');
    assert.is(served, 0);
    assert.equal(log.errors, []);
  } finally {
    raw.destroy();
    await shutdown(server);
    await watch.stop();
  }
});

serving('a client that speaks no TLS is dropped; the next one is served', async () => {
  const watch = watchUnhandled();
  const log = errorLog();
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER, onError: log.onError });
  const raw = new NetSocket();
  try {
    const ended = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.on('error', () => {});
    await new Promise<void>((resolve) => raw.connect(portOf(server), '127.0.0.1', resolve));
    raw.resume();
    raw.write('GET / HTTP/1.0\r\n\r\n');
    await within(ended, 3000, 'the server dropping the plain client');
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    assert.is(await exchange(reader, writer), 'hello world!\n');
    await closeWriter(writer);
    assert.equal(log.errors, []);
  } finally {
    raw.destroy();
    await shutdown(server);
    await watch.stop();
  }
});

serving('with startServing: false a client waits, handshake done, until serving starts', async () => {
  const server = await startServer(echo, '127.0.0.1', 0, { ssl: SERVER, startServing: false });
  try {
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
    writer.write('early\n');
    const line = reader.readline();
    assert.ok(await isPending(line, 50));
    await server.startServing();
    assert.is(text(await within(line)), 'early\n');
    await closeWriter(writer);
  } finally {
    await shutdown(server);
  }
});

connection.run();
checks.run();
mutual.run();
alpn.run();
extra.run();
serving.run();
