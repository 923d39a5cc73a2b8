/**
 * Bun only (the Bun suite of spec/_run.ts runs this folder): the adapter over
 * `Bun.listen`/`Bun.connect` (`lib/runtime/bun/`), client and server both on it, and against
 * Bun's own sockets as the peer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openConnection } from '../../lib/runtime/bun/connect.ts';
import { startServer } from '../../lib/runtime/bun/listen.ts';
import { BunSocket, type BunSocketSlot } from '../../lib/runtime/bun/socket.ts';
import { bunNamespace, type BunNativeSocket, type BunSocketHandlers } from '../../lib/runtime/bun/namespace.ts';
import type { Server, StreamReader, StreamWriter } from '../../lib/index.ts';
import type { Protocol, Transport } from '../../lib/transport.ts';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { bytes, rawServer, rejection, sleep, text, until, within } from '../_loopback.ts';
import { leakFree } from '../_leaks.ts';
import { CA, SERVER } from '../_tls.ts';
import { pattern, rawBunServer } from './_bun-peers.ts';

type Handler = (reader: StreamReader, writer: StreamWriter) => Promise<void>;

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A server on the adapter running `handler` for each client, closed (with its clients) after `body`. */
async function withServer(handler: Handler, body: (port: number) => Promise<void>, options = {}): Promise<void> {
  await leakFree(async () => {
    const server = await startServer((reader, writer) => handler(reader, writer), '127.0.0.1', 0, options);
    try {
      await body(portOf(server));
    } finally {
      server.close();
      server.closeClients();
      await within(server.waitClosed(), 5000, 'the server closing');
    }
  });
}

const flows = suite('The Bun adapter: client and server both on it');

flows('an echo and a line round trip', async () => {
  await withServer(
    async (reader, writer) => {
      for (let line = await reader.readline(); line.length > 0; line = await reader.readline()) {
        writer.write(line);
        await writer.drain();
      }
      writer.close();
    },
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      for (const line of ['ping\n', 'a longer line, twice\n', 'ping\n']) {
        writer.write(line);
        assert.is(text(await within(reader.readline())), line);
      }
      assert.instance(writer.transport, BunSocket);
      assert.equal(writer.getExtraInfo('peername'), ['127.0.0.1', port]);
      writer.close();
      await writer.waitClosed();
    },
  );
});

flows('EOF both ways, with a half-close: the server answers after the client wrote EOF', async () => {
  await withServer(
    async (reader, writer) => {
      const request = await reader.read();
      assert.ok(reader.atEof(), 'the client half-closed');
      writer.write(bytes(`got ${text(request)} and EOF`));
      writer.close();
    },
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      writer.write('hello');
      writer.writeEof();
      assert.is(text(await within(reader.read())), 'got hello and EOF');
      assert.is((await within(reader.read())).length, 0, 'then the server closed: EOF');
      writer.close();
      await writer.waitClosed();
    },
  );
});

flows('a write larger than the socket takes at once arrives intact, though the caller reuses its buffer at once, and drain() waits for it', async () => {
  const size = 16 * 1024 * 1024;
  const sent = pattern(size);
  let received: Uint8Array | null = null;
  await withServer(
    async (reader, writer) => {
      // A slow reader: its buffer fills and it pauses the socket, then resumes as it reads.
      await sleep(100);
      received = await reader.readexactly(size);
      writer.write('done');
      writer.close();
    },
    async (port) => {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      const buffer = sent.slice();
      writer.write(buffer);
      // The kernel took part of it; the writer must have copied the rest before returning.
      buffer.fill(0);
      const drained = writer.drain();
      assert.ok(await Promise.race([drained.then(() => false), sleep(50).then(() => true)]), 'drain() waits while the kernel holds it back');
      await within(drained, 10000);
      assert.is(text(await within(reader.read())), 'done');
      assert.ok(received !== null && received.length === size);
      assert.ok(Buffer.compare(received!, sent) === 0, 'every byte intact, in order');
      writer.close();
      await writer.waitClosed();
    },
  );
});

flows('bytes that arrive before the server serves wait for the callback', async () => {
  let server: Server | null = null;
  await leakFree(async () => {
    const lines: string[] = [];
    server = await startServer(async (reader, writer) => {
      lines.push(text(await reader.readline()));
      writer.close();
    }, '127.0.0.1', 0, { startServing: false });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('early\n');
      writer.writeEof();
      await sleep(50);
      await server.startServing();
      assert.is((await within(reader.read())).length, 0, 'the server closed after reading');
      assert.equal(lines, ['early\n']);
      writer.close();
      await writer.waitClosed();
    } finally {
      server.close();
      await server.waitClosed();
    }
  });
});

flows('many bytes before the server serves: it stops reading at the high-water mark until served, then reads them all', async () => {
  const size = 16 * 1024 * 1024;
  const sent = pattern(size);
  let server: Server | null = null;
  await leakFree(async () => {
    let received: Uint8Array | null = null;
    server = await startServer(async (reader, writer) => {
      received = await reader.readexactly(size);
      writer.close();
    }, '127.0.0.1', 0, { startServing: false });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write(sent);
      const drained = writer.drain();
      await sleep(100);
      assert.ok(await Promise.race([drained.then(() => false), sleep(50).then(() => true)]), 'the unserved socket keeps no more than the kernel holds: the client waits');
      await server.startServing();
      await within(drained, 10000);
      assert.is((await within(reader.read(), 10000)).length, 0, 'the server closed after reading');
      assert.ok(received !== null && Buffer.compare(received, sent) === 0, 'every byte intact, in order');
      writer.close();
      await writer.waitClosed();
    } finally {
      server.close();
      server.closeClients();
      await within(server.waitClosed());
    }
  });
});

flows.run();

const peers = suite("The Bun adapter against Bun's own sockets");

peers('a peer that vanishes (reset): reads fail with ECONNRESET, drain() too', async () => {
  await leakFree(async () => {
    let peer: BunNativeSocket | null = null;
    const raw = rawBunServer((socket) => void (peer = socket));
    try {
      const [reader, writer] = await openConnection('127.0.0.1', raw.port);
      const reading = reader.read();
      await sleep(20);
      peer!.terminate();
      const error = (await rejection(reading)) as { code?: string };
      assert.is(error.code, 'ECONNRESET');
      assert.is(((await rejection(writer.drain())) as { code?: string }).code, 'ECONNRESET');
      writer.close();
      assert.is(((await rejection(writer.waitClosed())) as { code?: string }).code, 'ECONNRESET');
    } finally {
      raw.stop();
    }
  });
});

peers('a peer that ends cleanly: EOF, and our side stays open until the writer closes (half-close)', async () => {
  await leakFree(async () => {
    const heard: string[] = [];
    const raw = bunNamespace().listen<unknown>({
      hostname: '127.0.0.1',
      port: 0,
      allowHalfOpen: true,
      socket: {
        binaryType: 'uint8array',
        open(socket) {
          socket.write(bytes('bye\n'));
          socket.shutdown();
        },
        data: (_, data) => void heard.push(text(data)),
        close: () => void heard.push('closed'),
      },
    });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', raw.port);
      assert.is(text(await within(reader.readline())), 'bye\n');
      assert.is((await within(reader.read())).length, 0);
      writer.write('still heard after your EOF');
      writer.close();
      await within(writer.waitClosed());
      await sleep(20);
      assert.equal(heard, ['still heard after your EOF', 'closed']);
    } finally {
      raw.stop(true);
    }
  });
});

peers('a refused connection rejects with ECONNREFUSED', async () => {
  const raw = rawBunServer(() => {});
  const port = raw.port;
  raw.stop();
  assert.is(((await rejection(openConnection('127.0.0.1', port))) as { code?: string }).code, 'ECONNREFUSED');
});

peers.run();

const pins = suite('Bun behaviours the adapter relies on (each fails if Bun changes it)');

/** Handlers that note `end` and `close` (with the error's code) in `log`, and keep the bytes in `chunks`. */
function recording(log: string[], chunks: Uint8Array[] = []): BunSocketHandlers<unknown> {
  return {
    binaryType: 'uint8array',
    data: (_, data) => void chunks.push(data),
    end: () => void log.push('end'),
    close: (_, error) => void log.push(error === undefined ? 'close' : `close ${(error as { code?: string }).code}`),
  };
}

interface RawPair {
  client: BunNativeSocket;
  server: BunNativeSocket;
  clientLog: string[];
  serverLog: string[];
  /** What the server received, chunk by chunk. */
  serverChunks: Uint8Array[];
  port: number;
  /** Closes both ends and the listener. */
  stop(): void;
}

/** A `Bun.connect` client and the `Bun.listen` socket it is connected to, both with `allowHalfOpen`. */
async function rawPair(onServerOpen: (socket: BunNativeSocket) => void = () => {}): Promise<RawPair> {
  const clientLog: string[] = [];
  const serverLog: string[] = [];
  const serverChunks: Uint8Array[] = [];
  let accepted!: (socket: BunNativeSocket) => void;
  const serverSide = new Promise<BunNativeSocket>((resolve) => (accepted = resolve));
  const open = (socket: BunNativeSocket): void => {
    onServerOpen(socket);
    accepted(socket);
  };
  const listener = bunNamespace().listen({ hostname: '127.0.0.1', port: 0, allowHalfOpen: true, socket: { ...recording(serverLog, serverChunks), open } });
  const client = await bunNamespace().connect({ hostname: '127.0.0.1', port: listener.port, allowHalfOpen: true, socket: recording(clientLog) });
  const server = await within(serverSide);
  return {
    client, server, clientLog, serverLog, serverChunks, port: listener.port,
    stop() {
      client.end();
      server.end();
      listener.stop(true);
    },
  };
}

function byteCount(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
}

pins('after our shutdown(), the peer\'s FIN comes as close, with no end', () =>
  leakFree(async () => {
    const pair = await rawPair();
    try {
      pair.client.shutdown();
      await until(() => pair.serverLog.includes('end'));
      pair.server.shutdown();
      await until(() => pair.clientLog.length > 0);
      await sleep(20);
      assert.equal(pair.clientLog, ['close'], 'BunSocket settles a half-closed connection at close (#closedNow), never waiting for an end');
    } finally {
      pair.stop();
    }
  }),
);

pins('after the peer\'s FIN, our shutdown() closes the connection (both ends)', () =>
  leakFree(async () => {
    const pair = await rawPair();
    try {
      pair.server.shutdown();
      await until(() => pair.clientLog.includes('end'));
      assert.equal(pair.clientLog, ['end'], 'allowHalfOpen: the peer\'s FIN leaves our side open');
      pair.client.shutdown();
      await until(() => pair.clientLog.includes('close') && pair.serverLog.includes('close'));
      assert.equal(pair.clientLog, ['end', 'close'], 'BunSocket ends its side after the peer\'s with shutdown() alone');
      assert.equal(pair.serverLog, ['close']);
    } finally {
      pair.stop();
    }
  }),
);

pins('write() keeps nothing: a large write is partial, returns what the kernel took, and only that arrives', () =>
  leakFree(async () => {
    // The server reads nothing at first, so the kernel's buffers fill.
    const pair = await rawPair((socket) => socket.pause());
    try {
      const data = pattern(16 * 1024 * 1024);
      const taken = pair.client.write(data);
      assert.ok(taken > 0 && taken < data.byteLength, `a partial write (${taken} of ${data.byteLength})`);
      const more = pair.client.write(data.subarray(taken));
      assert.ok(more >= 0 && taken + more < data.byteLength, `a full socket takes little or nothing more (${more})`);
      pair.server.resume();
      await until(() => byteCount(pair.serverChunks) >= taken + more, 10000);
      await sleep(100);
      const received = Buffer.concat(pair.serverChunks);
      assert.is(received.byteLength, taken + more, 'nothing Bun did not report arrives later: BunSocket must keep the rest (#unsent)');
      assert.ok(Buffer.compare(received, data.subarray(0, taken + more)) === 0);
    } finally {
      pair.stop();
    }
  }),
);

pins('the addresses are gone once closed, even inside the close handler (the peer\'s port even when read before)', () =>
  leakFree(async () => {
    const listener = bunNamespace().listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
    try {
      for (const readWhileOpen of [false, true]) {
        let inClose: unknown[] | null = null;
        const client = await bunNamespace().connect({
          hostname: '127.0.0.1',
          port: listener.port,
          socket: {
            data() {},
            close: (socket) => void (inClose = [socket.remoteAddress, socket.remotePort, socket.localAddress, socket.localPort]),
          },
        });
        if (readWhileOpen) assert.equal([client.remoteAddress, client.remotePort], ['127.0.0.1', listener.port], 'known while open');
        client.end();
        await until(() => inClose !== null);
        // Bun caches an address once read (not the peer's port): BunSocket reads all four in its constructor.
        if (readWhileOpen) assert.is(inClose![1], undefined, 'the peer\'s port is gone, though read while open');
        else assert.equal(inClose, [undefined, undefined, undefined, undefined], 'all gone, unless noted before the close');
        if (!readWhileOpen) assert.equal([client.remoteAddress, client.remotePort, client.localAddress, client.localPort], [undefined, undefined, undefined, undefined]);
      }
    } finally {
      listener.stop(true);
    }
  }),
);

pins('each data chunk is a plain Uint8Array over an ArrayBuffer of its own, never reused', () =>
  leakFree(async () => {
    const pair = await rawPair();
    try {
      const data = pattern(4 * 1024 * 1024);
      const [, writer] = await openConnection('127.0.0.1', pair.port);
      writer.write(data);
      writer.close();
      await within(writer.waitClosed(), 10000);
      await until(() => byteCount(pair.serverChunks) === data.byteLength, 10000);
      const chunks = pair.serverChunks;
      assert.ok(chunks.length > 1, `several chunks (${chunks.length})`);
      for (const chunk of chunks) {
        assert.is(Object.getPrototypeOf(chunk), Uint8Array.prototype, 'not a Buffer');
        assert.ok(chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength, 'the whole buffer: the reader and readable adopt it');
      }
      assert.is(new Set(chunks.map((chunk) => chunk.buffer)).size, chunks.length, 'a buffer each');
      assert.ok(Buffer.compare(Buffer.concat(chunks), data) === 0, 'none overwritten by a later read');
    } finally {
      pair.stop();
    }
  }),
);

pins.run();

const upgrade = suite("BunSocket.startTls() over Bun's node:tls");

const MARKER = 'STARTTLS\n';

/**
 * A STARTTLS server on `node:net` that records the wire: it reads nothing for 100 ms (so that
 * the client's kernel fills and its socket keeps bytes unsent), takes plain bytes up to
 * `MARKER`, then runs TLS over the rest, answering `HELLO-OVER-TLS` and taking what comes.
 */
async function wireRecordingServer() {
  const wire: Uint8Array[] = [];
  let secureText = '';
  let rawEnded = false;
  let tlsEnded!: () => void;
  const tlsEnd = new Promise<void>((resolve) => (tlsEnded = resolve));
  const raw = await rawServer((socket) => {
    socket.pause();
    setTimeout(() => socket.resume(), 100);
    let plain: Buffer | null = Buffer.alloc(0);
    const under = new Duplex({
      read() {},
      write: (chunk, _encoding, callback) => void socket.write(chunk, callback),
      final: (callback) => void socket.end(callback),
    });
    socket.on('data', (chunk: Buffer) => {
      wire.push(chunk);
      if (plain === null) {
        under.push(chunk);
        return;
      }
      plain = Buffer.concat([plain, chunk]);
      const at = plain.indexOf(MARKER);
      if (at < 0) return;
      const rest = plain.subarray(at + MARKER.length);
      plain = null;
      const secure = new TLSSocket(under, { isServer: true, cert: SERVER.cert as string, key: SERVER.key as string });
      secure.on('secure', () => secure.write('HELLO-OVER-TLS'));
      secure.on('data', (data: Buffer) => (secureText += data.toString()));
      secure.on('end', () => {
        secure.end();
        tlsEnded();
      });
      secure.on('error', () => {});
      if (rest.byteLength > 0) under.push(rest);
    });
    socket.on('end', () => {
      rawEnded = true;
      under.push(null);
    });
  });
  return {
    port: raw.port,
    /** Everything the client sent, as one buffer. */
    wire: () => Buffer.concat(wire),
    secureText: () => secureText,
    rawEnded: () => rawEnded,
    tlsEnd,
    close: () => raw.close(),
  };
}

type RecordingServer = Awaited<ReturnType<typeof wireRecordingServer>>;

/** `body` with a wire-recording server and a `BunSocket` connected to it, made to verify `localhost`; all closed after. */
async function withRecordingServer(body: (server: RecordingServer, socket: BunSocket, native: BunNativeSocket) => Promise<void>): Promise<void> {
  await leakFree(async () => {
    const server = await wireRecordingServer();
    try {
      // As the adapter's openConnection(): the socket is made as it opens, with the options in its data slot.
      const native = await bunNamespace().connect<BunSocketSlot>({
        hostname: '127.0.0.1', port: server.port, allowHalfOpen: true, socket: BunSocket.handlers, data: { serverHostname: 'localhost' },
      });
      await body(server, native.data as BunSocket, native);
    } finally {
      await server.close();
    }
  });
}

upgrade('bytes the kernel had not taken go out in the clear before TLS; after it, the protocol hears only plaintext and the wire carries none', async () => {
  await withRecordingServer(async (server, socket) => {
    const heard: string[] = [];
    let movedTo: Transport | null = null;
    const protocol: Protocol = {
      connectionMade() {},
      dataReceived: (data) => void heard.push(text(data)),
      eofReceived: () => true,
      connectionLost() {},
      _replaceTransport: (transport) => void (movedTo = transport),
    };
    socket.connectProtocol(protocol);
    // Written until the socket refuses: more than 32 KiB then wait unsent in it, not in the kernel.
    const chunk = new Uint8Array(32768).fill(0x78);
    let plainBytes = 0;
    while (socket.tryWrite(chunk)) plainBytes += chunk.byteLength;
    assert.ok(socket.tryWrite(bytes(MARKER)), 'the marker waits behind them');
    const secure = socket.startTls({ ssl: { ca: CA }, serverHostname: 'localhost' });
    await within(secure.opened);
    const writer = secure.writable.getWriter();
    await writer.write(bytes('SECRET-1234'));
    await writer.close();
    await within(server.tlsEnd);
    assert.is(server.secureText(), 'SECRET-1234', 'the server got it over TLS');
    // Bun's node:tls ends the Duplex under it after its close_notify (Deno's does not).
    await until(server.rawEnded);
    assert.equal(heard, ['HELLO-OVER-TLS'], 'the protocol moved to TLS, and no ciphertext reached it');
    assert.is(movedTo, secure);
    const wire = server.wire();
    assert.is(wire.indexOf(MARKER), plainBytes, 'every plain byte, in order, then the marker');
    assert.ok(wire.subarray(0, plainBytes).every((byte) => byte === 0x78));
    assert.is(wire.indexOf('SECRET'), -1, 'nothing written after startTls() went out in the clear');
    assert.is(wire.indexOf('HELLO'), -1);
    await within(socket.close());
    await within(secure.closed);
  });
});

upgrade('PEM text Bun cannot use throws before anything changes; after startTls(): writes refused, a second startTls() refused, closed settles with the TLS socket', async () => {
  await withRecordingServer(async (server, socket, native) => {
    assert.throws(() => socket.startTls({ ssl: { cert: 'not PEM', key: 'not PEM' }, serverSide: true }));
    assert.is(native.data, socket, 'the native socket is still the plain socket\'s');
    assert.ok(socket.tryWrite(bytes(MARKER)), 'and writes as before');
    const secure = socket.startTls({ ssl: { ca: CA } });
    assert.not.ok(socket.tryWrite(bytes('plain')), 'the plain socket takes no more bytes');
    assert.is(socket._sendNow(bytes('plain')), 0);
    assert.is(((await rejection(socket.writable.getWriter().write(bytes('plain')))) as { code?: string }).code, 'ERR_SOCKET_UPGRADED');
    assert.throws(() => socket.startTls({ ssl: { ca: CA } }), /only be called once/);
    await within(secure.opened);
    assert.not.ok(socket.canWriteEof(), 'it stands for the TLS connection now');
    assert.is(socket.getExtraInfo('ssl_object'), secure.getExtraInfo('ssl_object'));
    assert.is(socket.getExtraInfo('socket'), native);
    void secure.close();
    await within(socket.closed);
    assert.is(server.wire().indexOf('plain'), -1);
  });
});

upgrade.run();
