/**
 * Hostile peers against the servers of every runtime (see `_runtime.ts`): none of them holds a
 * connection past its FIN or RST, whatever the TLS handshake was doing. The servers' handshake
 * timeout is 60 s, so a connection held until it would show as descriptors not given back and
 * a `waitClosed()` that waits; each case asks for both within 5 s. The other way round, a
 * client of a peer that never answers its handshake, on every client route, rejects at its
 * `sslHandshakeTimeout` and closes its socket at once (no descriptor outlives the handshake).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as netConnect, type Socket as NetSocket } from 'node:net';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { certificates } from './_certs.ts';
import { afterFirstUse } from './_first-use.ts';
import { openSockets, socketsBackTo } from './_leaks.ts';
import { rawServer, rejection, sleep, text, watchUnhandled, within, type RawServer } from './_loopback.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';

const certs = certificates();
const HANDSHAKE_TIMEOUT = 60;
/** The first bytes of a TLS ClientHello record announcing 512 bytes, of which it sends 64. */
const HALF_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...new Array<number>(53).fill(7)]);

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** Opens a TCP connection to `port` with `node:net`; resolves once connected. */
function probe(port: number): Promise<NetSocket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Writes `data` (if any), then ends our side and waits until the socket is closed. */
async function sendAndEnd(port: number, data?: Uint8Array | string): Promise<void> {
  const socket = await probe(port);
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise((resolve) => socket.once('close', resolve));
  if (data !== undefined) socket.write(data);
  socket.end();
  await within(closed, 5000, 'the server closing the connection');
}

/** Sends half a ClientHello, then resets the connection (SO_LINGER 0: `resetAndDestroy()`). */
async function halfHelloThenReset(port: number): Promise<void> {
  const socket = await probe(port);
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await new Promise((resolve) => socket.write(HALF_HELLO, resolve));
  await sleep(50);
  socket.resetAndDestroy();
  await within(closed);
}

/**
 * Runs `hostile` against a fresh server (TLS unless `plain`) and asks that the server gives back
 * every socket and closes promptly, that its handler never ran, and that nothing was left
 * unhandled.
 */
async function survives(hostile: (port: number) => Promise<void>, { plain = false } = {}): Promise<void> {
  const watch = watchUnhandled();
  let served = 0;
  const server = await startServer(async (_reader: StreamReader, writer: StreamWriter) => {
    served += 1;
    writer.close();
  }, '127.0.0.1', 0, plain ? { onError: () => {} } : { ssl: certs.server.good, sslHandshakeTimeout: HANDSHAKE_TIMEOUT, onError: () => {} });
  try {
    // Once to take what a runtime allocates on a first use, then again, counted.
    await afterFirstUse(() => hostile(portOf(server)));
    const baseline = openSockets();
    await hostile(portOf(server));
    assert.is(await socketsBackTo(baseline, 5000), baseline, 'the server gave back every socket within 5 s');
    if (!plain) assert.is(served, 0, 'the handler never ran');
  } finally {
    server.close();
    await within(server.waitClosed(), 5000, 'waitClosed()');
    await watch.stop();
  }
}

const hostile = suite(`Hostile peers cannot hold a TLS server (${runtime})`);

hostile('a client that connects and closes without a byte is dropped at once', () => survives((port) => sendAndEnd(port)));

hostile('garbage to a TLS port is dropped', () => survives((port) => sendAndEnd(port, new Uint8Array(300).fill(0xab))));

hostile('plain text to a TLS port is dropped', () => survives((port) => sendAndEnd(port, 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n')));

hostile('half a ClientHello, then FIN, is dropped at the FIN', () => survives((port) => sendAndEnd(port, HALF_HELLO)));

hostile('half a ClientHello, then RST, is dropped at the RST', () => survives((port) => halfHelloThenReset(port)));

hostile("a client that refuses the server's certificate is dropped", () => survives(async (port) => {
  // The client trusts another CA only: it refuses the server's certificate and goes away.
  const error = await rejection(openConnection('127.0.0.1', port, { ssl: { ca: certs.server.otherCa.cert }, serverHostname: 'localhost' }));
  assert.ok((error as { code?: unknown }).code !== undefined, String(error));
}));

hostile('1,000 probes in a row leave nothing behind', () => survives(async (port) => {
  for (let round = 0; round < 50; round += 1) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => sendAndEnd(port, i % 2 === 0 ? undefined : HALF_HELLO)));
  }
}));

hostile('a TLS client to a plain server fails with a code, and both ends let go', () => survives(async (port) => {
  const error = await rejection(openConnection('127.0.0.1', port, { ssl: { ca: certs.ca }, serverHostname: 'localhost', sslHandshakeTimeout: 5 }), 6000);
  assert.ok((error as { code?: unknown }).code !== undefined, String(error));
}, { plain: true }));

hostile('a client that resets after its request: the server reads the reset, never a clean EOF', async () => {
  // Bun reports `end` before the `close` that carries ECONNRESET when a write finds the
  // connection reset: a reader that took it for EOF would take a cut-off request for a whole one.
  const watch = watchUnhandled();
  let outcome!: (seen: string) => void;
  const seen = new Promise<string>((resolve) => (outcome = resolve));
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    try {
      await reader.readline();
      writer.write('reply\n');
      await writer.drain();
      outcome(`EOF after ${(await reader.read(100)).length} bytes`);
    } catch (error) {
      outcome(String((error as { code?: unknown }).code));
    }
    writer.close();
    await writer.waitClosed().catch(() => {});
  }, '127.0.0.1', 0, { onError: () => {} });
  try {
    const socket = await probe(portOf(server));
    socket.on('error', () => {});
    socket.write('request\n');
    socket.resetAndDestroy();
    assert.ok(['ECONNRESET', 'EPIPE'].includes(await within(seen)), 'the reset, not EOF');
  } finally {
    server.close();
    await within(server.waitClosed(), 5000, 'waitClosed()');
    await watch.stop();
  }
});

const silent = suite(`A silent peer is let go at the handshake timeout (${runtime})`);

silent('a client that never sends its ClientHello is dropped at sslHandshakeTimeout, its connection closed', async () => {
  const watch = watchUnhandled();
  const server = await startServer((_reader: StreamReader, writer: StreamWriter) => {
    writer.close();
  }, '127.0.0.1', 0, { ssl: certs.server.good, sslHandshakeTimeout: 0.3, onError: () => {} });
  const baseline = openSockets();
  const client = await probe(portOf(server));
  try {
    client.on('error', () => {});
    client.resume();
    const ended = new Promise((resolve) => client.once('end', resolve));
    await within(ended, 5000, 'the server closing the silent connection');
    client.destroy();
    assert.is(await socketsBackTo(baseline, 5000), baseline, 'every socket is given back');
  } finally {
    client.destroy();
    server.close();
    await within(server.waitClosed());
    await watch.stop();
  }
});

/** A client route to a peer that stays silent once TLS should start; `port` is the peer's. */
type SilentRoute = (port: number) => Promise<unknown>;

const STARTTLS_TIMEOUT = 0.3;

const silentRoutes: Record<string, SilentRoute> = {
  'openConnection with ssl': (port) =>
    openConnection('127.0.0.1', port, { ssl: { ca: certs.ca }, sslHandshakeTimeout: STARTTLS_TIMEOUT }),
  'openConnection with ssl and another serverHostname': (port) =>
    openConnection('127.0.0.1', port, { ssl: { ca: certs.ca }, serverHostname: 'localhost', sslHandshakeTimeout: STARTTLS_TIMEOUT }),
  'writer.startTls() after STARTTLS': async (port) => {
    const [reader, writer] = await openConnection('127.0.0.1', port);
    try {
      writer.write('STARTTLS\n');
      assert.is(text(await within(reader.readline())), 'GO\n');
      await writer.startTls({ ca: certs.ca }, { serverHostname: 'localhost', sslHandshakeTimeout: STARTTLS_TIMEOUT });
    } finally {
      writer.close();
    }
  },
};

/** A peer that accepts TCP, answers `STARTTLS` with `GO`, and otherwise never says a word. */
function silentPeer(): Promise<RawServer> {
  return rawServer((socket) => {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      if (chunk === 'STARTTLS\n') socket.write('GO\n');
    });
  });
}

/**
 * Runs `route` against a silent peer: it rejects with the handshake timeout, and the client
 * lets go of its socket at once while the peer still holds its own (the peer, in this process,
 * keeps one socket open: baseline + 1), and the peer then sees the end of the connection.
 */
async function timesOutAndLetsGo(route: SilentRoute): Promise<void> {
  const peer = await silentPeer();
  try {
    const baseline = openSockets();
    const error = (await rejection(route(peer.port))) as { code?: unknown };
    assert.is(error.code, 'ETIMEDOUT', String(error));
    const socket = await within(peer.accepted());
    assert.not.ok(socket.destroyed, 'the peer still holds its end');
    assert.is(await socketsBackTo(baseline + 1, 5000), baseline + 1, "the client's socket is closed within 5 s, before the peer lets go");
    await within(new Promise((resolve) => {
      if (socket.readableEnded || socket.destroyed) resolve(undefined);
      socket.once('end', resolve);
      socket.once('close', resolve);
      socket.resume();
    }), 5000, 'the peer seeing the client close its connection');
  } finally {
    await peer.close();
  }
}

silent('an abort while the server never answers the handshake rejects with its reason and closes the socket at once', async () => {
  const watch = watchUnhandled();
  const aborted = async (): Promise<void> => {
    const peer = await silentPeer();
    try {
      const baseline = openSockets();
      const controller = new AbortController();
      const reason = new Error('given up');
      const connecting = openConnection('127.0.0.1', peer.port, { ssl: { ca: certs.ca }, sslHandshakeTimeout: HANDSHAKE_TIMEOUT, signal: controller.signal });
      const socket = await within(peer.accepted());
      await sleep(100);
      controller.abort(reason);
      assert.is(await rejection(connecting), reason);
      // The handshake timeout is 60 s: only the abort can have closed it.
      assert.is(await socketsBackTo(baseline + 1, 5000), baseline + 1, "the client's socket is closed within 5 s");
      assert.not.ok(socket.destroyed, 'the peer still holds its end');
    } finally {
      await peer.close();
    }
  };
  try {
    await afterFirstUse(aborted);
    await aborted();
  } finally {
    await watch.stop();
  }
});

for (const [route, connect] of Object.entries(silentRoutes)) {
  silent(`${route}: a server that never answers the handshake is let go at sslHandshakeTimeout, its socket closed`, async () => {
    const watch = watchUnhandled();
    try {
      // Once to take what a runtime allocates on a first use (Deno: node:net, its TLS), then counted.
      await afterFirstUse(() => timesOutAndLetsGo(connect));
      await timesOutAndLetsGo(connect);
    } finally {
      await watch.stop();
    }
  });
}

hostile.run();
silent.run();
