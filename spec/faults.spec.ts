/**
 * Faults a connection can suffer, each injected on purpose over loopback: resets during a
 * read, a write and a `drain()`; a half-close while we write; a server that closes or aborts
 * its clients mid-message; client handlers that throw, never return or return at once;
 * connections refused; a name that cannot resolve; and an `AbortSignal` fired at every await
 * point of every read. Each test checks what the caller sees (the error and its code), that
 * the bytes left are exactly right, that nothing goes unhandled, and that every file
 * descriptor is given back. A reset during a TLS handshake is tried from both sides.
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { spawnSync } from 'node:child_process';
import { connect, createServer, type Socket as NetSocket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IncompleteReadError,
  NodeSocket,
  openConnection as openNodeConnection,
  socketpair,
  StreamReader,
  StreamReaderProtocol,
  type ClientConnectedCallback,
  type ReadOptions,
  type Server,
  type StreamWriter,
  type Transport,
} from '../lib/runtime/node.ts';
import { collectGarbage } from './_gc.ts';
import { leakFree } from './_leaks.ts';
import { openConnection, openUnixConnection, runtime, startServer, startUnixServer } from './_runtime.ts';
import { CA, CLIENT, SERVER } from './_tls.ts';
import { sources, type Source } from './_reader-sources.ts';
import {
  isPending,
  rawServer,
  rejection,
  sleep,
  tempDir,
  text,
  until,
  within,
} from './_loopback.ts';

type ErrnoError = NodeJS.ErrnoException;

/** What a broken connection may report, depending on which side of the reset the kernel saw first. */
const CONNECTION_ERRORS = ['ECONNRESET', 'EPIPE', 'ECONNABORTED'];

function codeOf(error: unknown): string {
  return String((error as ErrnoError | null)?.code);
}

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function shutdown(server: Server): Promise<void> {
  server.close();
  server.abortClients();
  await within(server.waitClosed(), 5000, 'the server closing');
}

function rawClient(port: number): Promise<NetSocket> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects what a server's onError hook hears. */
function errorLog() {
  const errors: unknown[] = [];
  return { errors, onError: (error: unknown) => void errors.push(error) };
}

/** `size` bytes of a repeating, position-dependent pattern, so a lost or moved byte shows. */
function pattern(size: number, seed = 0): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return data;
}

function sameBytes(actual: Uint8Array, expected: Uint8Array): boolean {
  return actual.length === expected.length && Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected);
}

type Read = [name: string, read: (reader: StreamReader) => Promise<Uint8Array>];

const READS: Read[] = [
  ['read(n)', (reader) => reader.read(100)],
  ['read()', (reader) => reader.read()],
  ['readline()', (reader) => reader.readline()],
  ['readexactly(n)', (reader) => reader.readexactly(100)],
  ['readuntil([...])', (reader) => reader.readuntil(['\r\n', '\n\n'])],
];


const reset = suite('Faults: the peer resets the connection');

for (const [name, read] of READS) {
  reset(`during a waiting ${name} of a client: it rejects with ECONNRESET, so do every later read and drain()`, () =>
    leakFree(async () => {
      const peer = await rawServer();
      try {
        const [reader, writer] = await openConnection('127.0.0.1', peer.port);
        const socket = await within(peer.accepted());
        // read(n) returns what is buffered: only it gets no bytes before the reset.
        if (name !== 'read(n)') socket.write('partial');
        const pending = read(reader);
        pending.catch(() => {});
        // read() takes the bytes as they come; the others leave them buffered while they wait.
        if (name === 'read()') await sleep(20);
        else if (name !== 'read(n)') await until(() => String(reader).includes('7 bytes'));
        assert.ok(await isPending(pending), 'the read waits for more');
        socket.resetAndDestroy();
        const error = await rejection(pending);
        assert.is(codeOf(error), 'ECONNRESET', String(error));
        assert.is(reader.exception(), error, 'the reader stores the error');
        assert.is(await rejection(reader.readexactly(1)), error);
        assert.is(await rejection(reader.read()), error, 'even with bytes buffered');
        assert.is(await rejection(writer.drain()), error);
        writer.write('dropped, as CPython drops writes on a lost connection');
        assert.ok(writer.isClosing());
        assert.is(await rejection(writer.waitClosed()), error);
        writer.close();
      } finally {
        await peer.close();
      }
    }),
  );
}

reset('during a waiting read of a server handler: the handler sees ECONNRESET and the server goes on', () =>
  leakFree(async () => {
    const outcomes: unknown[] = [];
    const log = errorLog();
    const server = await startServer(async (reader, writer) => {
      try {
        outcomes.push(await reader.readexactly(1000));
      } catch (error) {
        outcomes.push(error);
      } finally {
        writer.close();
      }
    }, '127.0.0.1', 0, { onError: log.onError });
    try {
      const client = await rawClient(portOf(server));
      client.write(pattern(500));
      await sleep(20);
      client.resetAndDestroy();
      await until(() => outcomes.length === 1);
      assert.is(codeOf(outcomes[0]), 'ECONNRESET', String(outcomes[0]));
      // The next client is served as if nothing happened.
      const next = await rawClient(portOf(server));
      next.write(pattern(1000));
      await until(() => outcomes.length === 2);
      assert.ok(sameBytes(outcomes[1] as Uint8Array, pattern(1000)));
      next.destroy();
      assert.equal(log.errors, []);
    } finally {
      await shutdown(server);
    }
  }),
);

reset('during a read in pull mode (a socket\'s readable given as sock): the read rejects with ECONNRESET', () =>
  leakFree(async () => {
    const peer = await rawServer();
    const socket = new NodeSocket(connect({ port: peer.port, host: '127.0.0.1' }));
    try {
      await socket.opened;
      const [reader, writer] = await openConnection(null, null, { sock: { readable: socket.readable, writable: socket.writable } });
      const raw = await within(peer.accepted());
      raw.write('abc');
      assert.is(text(await within(reader.readexactly(3))), 'abc');
      const pending = reader.readline();
      pending.catch(() => {});
      raw.write('no newline yet');
      assert.ok(await isPending(pending));
      raw.resetAndDestroy();
      const error = await rejection(pending);
      assert.is(codeOf(error), 'ECONNRESET', String(error));
      assert.is(await rejection(reader.read()), error);
      assert.ok(CONNECTION_ERRORS.includes(codeOf(await rejection(writer.drain()))));
      writer.close();
    } finally {
      await socket.close().catch(() => {});
      await peer.close();
    }
  }),
);

reset('during a stream of writes: the write/drain loop ends with a connection error, nothing hangs', () =>
  leakFree(async () => {
    let received = 0;
    const peer = await rawServer((socket) => {
      socket.on('data', (chunk: Uint8Array) => {
        received += chunk.length;
        if (received > 256 * 1024) socket.resetAndDestroy();
      });
    });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', peer.port);
      const chunk = pattern(16 * 1024);
      let written = 0;
      const error = await within((async () => {
        for (;;) {
          writer.write(chunk);
          written += chunk.length;
          try {
            await writer.drain();
          } catch (caught) {
            return caught;
          }
        }
      })(), 5000, 'the write/drain loop');
      assert.ok(CONNECTION_ERRORS.includes(codeOf(error)), String(error));
      assert.ok(written > 256 * 1024, 'the peer had read some before it reset');
      assert.is(await rejection(reader.read()), reader.exception());
      writer.close();
      assert.ok(CONNECTION_ERRORS.includes(codeOf(await rejection(writer.waitClosed()))));
    } finally {
      await peer.close();
    }
  }),
);

reset('during drain(): the pending drain() and every drain() after it reject, at once', () =>
  leakFree(async () => {
    const peer = await rawServer((socket) => socket.pause());
    try {
      const [, writer] = await openConnection('127.0.0.1', peer.port);
      const socket = await within(peer.accepted());
      // Far more than the socket buffers and the writable's 64 KiB hold: drain() must wait.
      const chunk = pattern(64 * 1024);
      for (let i = 0; i < 256; i++) writer.write(chunk);
      const draining = writer.drain();
      const second = writer.drain();
      draining.catch(() => {});
      second.catch(() => {});
      assert.ok(await isPending(draining, 50), 'drain() waits while the peer does not read');
      socket.resetAndDestroy();
      const error = await rejection(draining, 2000);
      assert.ok(CONNECTION_ERRORS.includes(codeOf(error)), String(error));
      assert.is(await rejection(second, 2000), error, 'every waiting drain() rejects with the same error');
      assert.ok(CONNECTION_ERRORS.includes(codeOf(await rejection(writer.drain()))));
      writer.close();
    } finally {
      await peer.close();
    }
  }),
);

reset.run();

const tlsReset = suite('Faults: the peer resets during a TLS handshake');

/** The first flight the peer sends on a new connection, read by a raw server: a client's ClientHello. */
async function firstFlight(): Promise<Buffer> {
  const capture = await rawServer();
  try {
    const client = tlsConnect({ host: '127.0.0.1', port: capture.port, servername: 'localhost', ca: CA });
    client.on('error', () => {});
    const peer = await within(capture.accepted());
    const hello = await within(new Promise<Buffer>((resolve) => peer.once('data', resolve)), 5000, 'the ClientHello');
    client.destroy();
    return hello;
  } finally {
    await capture.close();
  }
}

tlsReset('a server that resets after the ClientHello: openConnection rejects with ECONNRESET, at once', () =>
  leakFree(async () => {
    let heard = 0;
    const peer = await rawServer((socket) => {
      socket.once('data', (hello: Buffer) => {
        heard = hello.length;
        socket.resetAndDestroy();
      });
    });
    try {
      const error = await rejection(openConnection('127.0.0.1', peer.port, { ssl: CLIENT }), 5000);
      assert.ok(heard > 0, 'the server read a ClientHello before it reset');
      assert.is(codeOf(error), 'ECONNRESET', String(error));
      assert.ok(error instanceof Error);
    } finally {
      await peer.close();
    }
  }),
);

tlsReset('a client that resets mid-handshake: dropped silently, no callback, the server goes on serving', () =>
  leakFree(async () => {
    const hello = await firstFlight();
    const log = errorLog();
    let calls = 0;
    const server = await startServer(async (reader, writer) => {
      calls += 1;
      writer.write(await reader.readline());
      writer.close();
      await writer.waitClosed();
    }, '127.0.0.1', 0, { ssl: SERVER, onError: log.onError });
    try {
      for (let round = 0; round < 3; round += 1) {
        const client = await rawClient(portOf(server));
        client.write(hello);
        // The server's flight (ServerHello ... Finished) comes back: it now waits for ours.
        await within(new Promise((resolve) => client.once('data', resolve)), 5000, 'the ServerHello');
        client.resetAndDestroy();
      }
      // Every reset connection is given back before the next client, which is served.
      const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { ssl: CLIENT }));
      writer.write('still serving\n');
      assert.is(text(await within(reader.readline())), 'still serving\n');
      writer.close();
      await writer.waitClosed().catch(() => {});
      assert.is(calls, 1, 'only the completed handshake reached the callback');
      assert.equal(log.errors, [], 'a failed handshake is not reported as fatal');
    } finally {
      await shutdown(server);
    }
  }),
);

tlsReset.run();


const halfClose = suite('Faults: the peer half-closes');

halfClose('while we write: our reader sees EOF, and every byte we write after it still arrives', () =>
  leakFree(async () => {
    const total = 4 * 1024 * 1024;
    const chunks: Uint8Array[] = [];
    let ended = false;
    const peer = await rawServer((socket) => {
      socket.write('bye\n');
      socket.end();
      socket.on('data', (chunk: Uint8Array) => void chunks.push(chunk));
      socket.on('end', () => (ended = true));
    });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', peer.port);
      const sent = pattern(total, 7);
      for (let at = 0; at < total; at += 64 * 1024) {
        writer.write(sent.subarray(at, at + 64 * 1024));
        await within(writer.drain());
        if (at === 0) {
          assert.is(text(await within(reader.readline())), 'bye\n');
          assert.is((await within(reader.read())).length, 0, 'EOF');
          assert.ok(reader.atEof());
        }
      }
      writer.close();
      await within(writer.waitClosed());
      await until(() => ended);
      assert.ok(sameBytes(Buffer.concat(chunks), sent), 'the peer got all 4 MiB, in order');
      assert.is(reader.exception(), null, 'a half-close is not an error');
    } finally {
      await peer.close();
    }
  }),
);

halfClose('a server handler can answer after its client half-closed, and the client reads the answer', () =>
  leakFree(async () => {
    const server = await startServer(async (reader, writer) => {
      const request = await reader.read();
      assert.ok(reader.atEof());
      for (let i = 0; i < 64; i++) {
        writer.write(pattern(16 * 1024, request.length + i));
        await writer.drain();
      }
      writer.close();
    }, '127.0.0.1', 0);
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('the whole request');
      writer.writeEof();
      const answer = await within(reader.read());
      const expected = Buffer.concat(Array.from({ length: 64 }, (_, i) => pattern(16 * 1024, 17 + i)));
      assert.ok(sameBytes(answer, expected), 'the 1 MiB answer came whole');
      writer.close();
      await within(writer.waitClosed());
    } finally {
      await shutdown(server);
    }
  }),
);

halfClose.run();


const closing = suite('Faults: the server closes with clients mid-message');

/** Echoes line by line, and records how each handler ended. */
function lineEcho(ends: unknown[]): ClientConnectedCallback {
  return async (reader, writer) => {
    try {
      for await (const line of reader) {
        writer.write(line);
        await writer.drain();
      }
      ends.push('eof');
    } catch (error) {
      ends.push(error);
    } finally {
      writer.close();
    }
  };
}

closing('close(): clients mid-message finish their message and get the answer; new ones are refused', () =>
  leakFree(async () => {
    const ends: unknown[] = [];
    const server = await startServer(lineEcho(ends), '127.0.0.1', 0);
    const port = portOf(server);
    try {
      const [reader, writer] = await openConnection('127.0.0.1', port);
      writer.write('hel');
      await writer.drain();
      await sleep(10);
      server.close();
      // Deno closes a listener whose accept() is pending a moment later, and resets what
      // connects in between (Deno.listen() alone does the same): turned away all the same.
      assert.is(codeOf(await rejection(openConnection('127.0.0.1', port))), runtime === 'deno' ? 'ECONNRESET' : 'ECONNREFUSED');
      const closed = server.waitClosed();
      assert.ok(await isPending(closed), 'waitClosed() waits for the client');
      writer.write('lo\n');
      assert.is(text(await within(reader.readline())), 'hello\n');
      writer.close();
      await within(closed, 5000, 'waitClosed');
      assert.equal(ends, ['eof']);
    } finally {
      await shutdown(server);
    }
  }),
);

closing('closeClients(): what the server queued still arrives, then EOF; the handler gets the partial line', () =>
  leakFree(async () => {
    const partials: string[] = [];
    const greeting = pattern(2 * 1024 * 1024, 3);
    const server = await startServer(async (reader, writer) => {
      writer.write(greeting);
      partials.push(text(await reader.readline()));
      writer.close();
    }, '127.0.0.1', 0);
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('mid-mess');
      await writer.drain();
      await sleep(20);
      server.closeClients();
      const received = await within(reader.read());
      assert.ok(sameBytes(received, greeting), `all ${greeting.length} queued bytes arrived before EOF (got ${received.length})`);
      await until(() => partials.length === 1);
      assert.equal(partials, ['mid-mess'], 'the handler read the unterminated line at EOF');
      writer.close();
      server.close();
      await within(server.waitClosed());
    } finally {
      await shutdown(server);
    }
  }),
);

closing('abortClients(): clients are cut off at once, what was queued is dropped, handlers and waitClosed end', () =>
  leakFree(async () => {
    const ends: unknown[] = [];
    let started = 0;
    const big = pattern(32 * 1024 * 1024, 5);
    const server = await startServer(async (reader, writer) => {
      writer.write(big);
      started += 1;
      try {
        await writer.drain();
        ends.push(await reader.readexactly(1_000_000));
      } catch (error) {
        ends.push(error);
      }
    }, '127.0.0.1', 0);
    try {
      const clients = await Promise.all([1, 2, 3].map(() => openConnection('127.0.0.1', portOf(server))));
      for (const [, writer] of clients) writer.write('never read by the server: makes the abort a reset');
      // Every handler is mid-write (each copied its 32 MiB, which takes a while on a busy machine).
      await until(() => started === 3);
      await sleep(50);
      server.close();
      server.abortClients();
      await within(server.waitClosed(), 2000, 'waitClosed after abortClients');
      await until(() => ends.length === 3);
      for (const end of ends) {
        assert.ok(end instanceof IncompleteReadError || CONNECTION_ERRORS.includes(codeOf(end)) || codeOf(end) === 'ERR_SOCKET_CLOSED', String(end));
      }
      for (const [reader, writer] of clients) {
        let got = 0;
        let error: unknown = null;
        try {
          for (;;) {
            const chunk = await within(reader.read(1024 * 1024));
            if (chunk.length === 0) break;
            got += chunk.length;
          }
        } catch (caught) {
          error = caught;
        }
        assert.ok(got < big.length, `the client got ${got} of ${big.length} bytes: the rest was dropped`);
        assert.ok(error === null || CONNECTION_ERRORS.includes(codeOf(error)), String(error));
        writer.close();
      }
    } finally {
      await shutdown(server);
    }
  }),
);

closing('a Unix client that goes away mid-line is an EOF for its handler; the server goes on serving', () =>
  leakFree(async () => {
    const dir = tempDir();
    const ends: unknown[] = [];
    const server = await startUnixServer(lineEcho(ends), dir.path('s'));
    try {
      const raw = connect(dir.path('s'));
      raw.on('error', () => {});
      await new Promise((resolve) => raw.once('connect', resolve));
      raw.write('half a li');
      await sleep(10);
      raw.destroy();
      await until(() => ends.length === 1);
      assert.equal(ends, ['eof'], 'a Unix peer that goes away is an EOF');
      const [reader, writer] = await openUnixConnection(dir.path('s'));
      writer.write('still here\n');
      assert.is(text(await within(reader.readline())), 'still here\n');
      writer.close();
    } finally {
      await shutdown(server);
      dir.remove();
    }
  }),
);

closing.run();


const handlers = suite('Faults: client handlers that misbehave');

async function handlerServer(callback: ClientConnectedCallback, onError?: (error: unknown) => void): Promise<Server> {
  return startServer(callback, '127.0.0.1', 0, onError === undefined ? {} : { onError });
}

/** Opens a client, sends `request`, and returns everything it reads until EOF (or the error). */
async function visit(server: Server, request: string): Promise<{ data: string; error: unknown }> {
  const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
  try {
    writer.write(request);
    await writer.drain();
    return { data: text(await within(reader.read())), error: null };
  } catch (error) {
    return { data: '', error };
  } finally {
    writer.close();
    await writer.waitClosed().catch(() => {});
  }
}

handlers('a plain handler that throws: reported, its client closed, the next client served', () =>
  leakFree(async () => {
    const log = errorLog();
    const boom = new TypeError('handler bug');
    let calls = 0;
    const server = await handlerServer((_reader, writer) => {
      calls += 1;
      if (calls === 1) throw boom;
      writer.write('served\n');
      writer.close();
    }, log.onError);
    try {
      assert.equal(await visit(server, 'x'), { data: '', error: null });
      assert.equal(log.errors, [boom]);
      assert.equal(await visit(server, 'y'), { data: 'served\n', error: null });
    } finally {
      await shutdown(server);
    }
  }),
);

handlers('an async handler that throws mid-message: reported, its client closed, the server goes on', () =>
  leakFree(async () => {
    const log = errorLog();
    const server = await handlerServer(async (reader, writer) => {
      const head = text(await reader.readexactly(3));
      if (head === 'bad') throw new RangeError(`cannot handle '${head}'`);
      writer.write(`ok ${head}\n`);
      writer.close();
    }, log.onError);
    try {
      assert.equal(await visit(server, 'bad request, half sent'), { data: '', error: null });
      assert.is(log.errors.length, 1);
      assert.match(String(log.errors[0]), /cannot handle 'bad'/);
      assert.equal(await visit(server, 'good'), { data: 'ok goo\n', error: null });
    } finally {
      await shutdown(server);
    }
  }),
);

handlers('without onError, the error goes to console.error with CPython\'s message, not to the process', () =>
  leakFree(async () => {
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    let server: Server | null = null;
    try {
      server = await handlerServer(async () => {
        throw new Error('unreported?');
      });
      assert.equal(await visit(server, 'x'), { data: '', error: null });
    } finally {
      console.error = original;
      if (server !== null) await shutdown(server);
    }
    assert.is(logged.length, 1);
    assert.is(logged[0]![0], 'Unhandled exception in client_connected_cb');
    assert.match(String(logged[0]![1]), /unreported\?/);
  }),
);

handlers('a handler that never returns: waitClosed() waits for its client, abortClients() ends it', () =>
  leakFree(async () => {
    let handlers = 0;
    const server = await handlerServer(() => {
      handlers += 1;
      return new Promise<void>(() => {});
    });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('anyone there?');
      // The client is connected once the kernel accepted it; the server may not have yet (on
      // Bun its accept comes a turn later), and a close before it drops the connection.
      await within(until(() => handlers === 1));
      server.close();
      const closed = server.waitClosed();
      // The callback drops its reader and writer, but it is still running, which keeps them
      // (CPython's protocol holds its task and writer): collections close nothing.
      for (let i = 0; i < 5; i += 1) {
        collectGarbage();
        await sleep(10);
      }
      assert.ok(await isPending(closed, 50), 'the client is still connected');
      const read = reader.read();
      assert.ok(await isPending(read), 'no answer, no EOF');
      server.abortClients();
      await within(closed, 2000, 'waitClosed after abortClients');
      const end = await within(read.then((data) => data.length, (error: unknown) => codeOf(error)));
      assert.ok(end === 0 || CONNECTION_ERRORS.includes(String(end)), `the client sees EOF or a reset, got ${String(end)}`);
      writer.close();
    } finally {
      await shutdown(server);
    }
  }),
);

/** A transport named `name` that counts its closes and is never lost on its own. */
function countingTransport(name: string): { transport: Transport; closes(): number } {
  let closes = 0;
  const transport: Transport & { toString(): string } = {
    writable: new WritableStream<Uint8Array>(),
    closed: new Promise<void>(() => {}),
    close: async () => void (closes += 1),
    pauseReading: () => {},
    resumeReading: () => {},
    toString: () => name,
  };
  return { transport, closes: () => closes };
}

/** Collects garbage until `done()` holds (finalizers run in later turns), at least `rounds` times. */
async function collectUntil(done: () => boolean, rounds: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; (i < rounds || !done()) && Date.now() < deadline; i += 1) {
    collectGarbage();
    await sleep(10);
  }
}

handlers('a StreamReaderProtocol keeps the writer of a callback still running through collections, not once it returned', async () => {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  try {
    // Nothing can settle this callback's promise, so nothing but the protocol holds its writer.
    const running = countingTransport('<still running>');
    const kept = new StreamReaderProtocol(new StreamReader(), () => new Promise<void>(() => {}));
    kept.connectionMade(running.transport);
    const returned = countingTransport('<returned>');
    const abandoned = new StreamReaderProtocol(new StreamReader(), async () => {});
    abandoned.connectionMade(returned.transport);
    await collectUntil(() => returned.closes() === 1, 5);
    assert.ok(kept.writer !== null, 'the running callback\'s writer was collected');
    assert.is(running.closes(), 0);
    // A callback that returned and dropped its writer unclosed abandoned it: collected and closed.
    assert.is(abandoned.writer, null);
    assert.is(returned.closes(), 1);
    // Only these two writers' warnings: another spec's abandoned writer may be collected meanwhile.
    const about = (name: string) => warnings.filter((warning) => warning.startsWith(`unclosed <StreamWriter transport=${name}>`)).length;
    assert.is(about('<returned>'), 1, warnings.join('\n'));
    assert.is(about('<still running>'), 0, warnings.join('\n'));
    // Its connection ends: a connection lost is no writer abandoned, and nothing warns later.
    kept.connectionLost(null);
  } finally {
    console.warn = original;
  }
});

handlers('a handler that returns at once without closing: the connection stays open until closeClients()', () =>
  leakFree(async () => {
    const seen: StreamWriter[] = [];
    const server = await handlerServer((_reader, writer) => {
      seen.push(writer);
    });
    try {
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write('hello?');
      await writer.drain();
      await until(() => seen.length === 1);
      const read = reader.read();
      assert.ok(await isPending(read), 'the connection stays open: no EOF');
      assert.not.ok(seen[0]!.isClosing());
      server.closeClients();
      assert.is((await within(read)).length, 0, 'EOF once the server closes its clients');
      writer.close();
      server.close();
      await within(server.waitClosed());
    } finally {
      await shutdown(server);
    }
  }),
);

handlers('a handler that closes and returns at once: the client reads EOF, nothing is reported', () =>
  leakFree(async () => {
    const log = errorLog();
    const server = await handlerServer(async (_reader, writer) => {
      writer.close();
    }, log.onError);
    try {
      for (let i = 0; i < 20; i++) assert.equal(await visit(server, `client ${i}`), { data: '', error: null });
      assert.equal(log.errors, []);
    } finally {
      await shutdown(server);
    }
  }),
);

handlers.run();


const connecting = suite('Faults: connecting fails');

/** A port nobody listens on: one the kernel just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

connecting('connection refused (TCP): rejects with ECONNREFUSED, many times over, leaking nothing', () =>
  leakFree(async () => {
    const port = await closedPort();
    for (let i = 0; i < 50; i++) {
      const error = (await rejection(openConnection('127.0.0.1', port))) as ErrnoError;
      assert.is(error.code, 'ECONNREFUSED');
      // The runtime's own error: Deno's does not name the address.
      assert.match(error.message, runtime === 'deno' ? /^Connection refused/ : new RegExp(`127\\.0\\.0\\.1:${port}`));
    }
  }),
);

connecting('connection refused (Unix): a socket file nobody listens on rejects with ECONNREFUSED', () =>
  leakFree(async () => {
    const dir = tempDir();
    try {
      const stale = dir.path('stale');
      const crash = `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`;
      spawnSync(process.execPath, ['-e', crash]);
      const error = (await rejection(openUnixConnection(stale))) as ErrnoError;
      assert.is(error.code, 'ECONNREFUSED');
      const missing = (await rejection(openUnixConnection(dir.path('missing')))) as ErrnoError;
      assert.is(missing.code, 'ENOENT');
    } finally {
      dir.remove();
    }
  }),
);

/**
 * Answers names under `.invalid` (RFC 6761 §6.4: they never resolve) with ENOTFOUND at once,
 * without asking a DNS server, so the test needs no network; every other name goes to the
 * real resolver. Covers `dns.lookup` (what `net.connect` uses) and `dns/promises` (`startServer`).
 */
async function withInvalidTldRefused(body: () => Promise<void>): Promise<void> {
  const lookup = dns.lookup;
  const lookupPromise = dns.promises.lookup;
  const notFound = (hostname: string): ErrnoError =>
    Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
  const isInvalid = (hostname: unknown): boolean => typeof hostname === 'string' && /\.invalid\.?$/i.test(hostname);
  dns.lookup = function (this: unknown, hostname: string, ...rest: unknown[]) {
    if (!isInvalid(hostname)) return (lookup as (...args: unknown[]) => unknown).call(this, hostname, ...rest);
    const callback = rest[rest.length - 1] as (error: ErrnoError) => void;
    process.nextTick(callback, notFound(hostname));
    return undefined;
  } as typeof dns.lookup;
  dns.promises.lookup = (async (hostname: string, ...rest: unknown[]) => {
    if (isInvalid(hostname)) throw notFound(hostname);
    return (lookupPromise as (...args: unknown[]) => unknown)(hostname, ...rest);
  }) as typeof dns.promises.lookup;
  syncBuiltinESMExports();
  try {
    await body();
  } finally {
    dns.lookup = lookup;
    dns.promises.lookup = lookupPromise;
    syncBuiltinESMExports();
  }
}

connecting('a name that cannot resolve: openConnection and startServer reject with the lookup error (ENOTFOUND; on Deno, its own)', () =>
  leakFree(() =>
    withInvalidTldRefused(async () => {
      const error = (await rejection(openConnection('no-such-host.invalid', 80))) as ErrnoError & { hostname?: string };
      const serverError = (await rejection(startServer(() => {}, 'no-such-host.invalid', 0))) as ErrnoError;
      if (runtime === 'deno') {
        // Deno looks names up itself, past node:dns and so past the injection (`.invalid`
        // fails all the same), and its error has no code.
        for (const failed of [error, serverError]) {
          assert.match(failed.message, /^failed to lookup address information/);
          assert.is(failed.code, undefined);
        }
      } else {
        assert.is(error.code, 'ENOTFOUND');
        assert.is(error.hostname, 'no-such-host.invalid');
        assert.is(serverError.code, 'ENOTFOUND');
      }
      // Ordinary names still resolve (localhost, then nobody listens): only the failure was injected.
      const refused = (await rejection(openConnection('localhost', await closedPort()))) as ErrnoError;
      assert.is(refused.code, 'ECONNREFUSED');
    }),
  ),
);

connecting('a signal aborted before connecting rejects with its reason and opens nothing', () =>
  leakFree(async () => {
    const port = await closedPort();
    const controller = new AbortController();
    const reason = new Error('gave up');
    controller.abort(reason);
    assert.is(await rejection(openConnection('127.0.0.1', port, { signal: controller.signal })), reason);
  }),
);

connecting.run();



// ---------------------------------------------------------------------------------------------

/**
 * An abort at every await point of every read: each case is a list of reads sharing one
 * signal, over bytes that arrive a few microtasks apart. The case runs once without an abort
 * (the reference), then once for every k with the signal aborted k microtasks after the start,
 * for k from 0 until the reads are done before the abort. Whatever k is, the reads that
 * finished must give the reference's results, the read that was running must reject with the
 * signal's reason, and the bytes left must be exactly the reference's bytes left before that read.
 */
const aborts = suite('Faults: an abort at every await point of every read');

type Outcome = { value: string } | { error: string } | { aborted: true };

interface AbortCase {
  name: string;
  chunks: string[];
  limit?: number;
  reads: Array<[name: string, read: (reader: StreamReader, options: ReadOptions) => Promise<Uint8Array>]>;
  /** Whether every result is the same however the bytes are split (then it can run over a real socket). */
  anySplit: boolean;
}

const ABORT_CASES: AbortCase[] = [
  {
    name: 'lines',
    chunks: ['fir', 'st li', 'ne\nsec', 'ond\r', '\nthird', ' line\n', 'tail'],
    reads: [
      ['readline()', (reader, options) => reader.readline(options)],
      ['readuntil(\'\\r\\n\')', (reader, options) => reader.readuntil('\r\n', options)],
      ['readline()', (reader, options) => reader.readline(options)],
      ['read()', (reader, options) => reader.read(-1, options)],
    ],
    anySplit: true,
  },
  {
    name: 'exact sizes, the last one cut by EOF',
    chunks: ['ab', 'cdefg', 'h', 'ijklmnop', 'qrs', 'tuvwxyz'],
    reads: [
      ['readexactly(5)', (reader, options) => reader.readexactly(5, options)],
      ['readexactly(12)', (reader, options) => reader.readexactly(12, options)],
      ['readexactly(100)', (reader, options) => reader.readexactly(100, options)],
    ],
    anySplit: true,
  },
  {
    name: 'several separators',
    chunks: ['GET /', ' HTTP/1.0\r', '\nHost: x\n', '\nbody', ' END', 'after'],
    reads: [
      ['readuntil([\'\\r\\n\', \'\\n\\n\'])', (reader, options) => reader.readuntil(['\r\n', '\n\n'], options)],
      ['readuntil([\'\\r\\n\', \'\\n\\n\'])', (reader, options) => reader.readuntil(['\r\n', '\n\n'], options)],
      ['readuntil(\'END\')', (reader, options) => reader.readuntil('END', options)],
      ['readuntil(\'never\')', (reader, options) => reader.readuntil('never', options)],
    ],
    anySplit: true,
  },
  {
    name: 'lines over the limit',
    limit: 8,
    chunks: ['short\nthis line', ' is far too long', '\nok\nxxxxxxxxxxxx', 'xxxxx', 'x\nlast'],
    reads: [
      ['readline()', (reader, options) => reader.readline(options)],
      ['readline()', (reader, options) => reader.readline(options)],
      ['readline()', (reader, options) => reader.readline(options)],
      ['readuntil(\'\\n\')', (reader, options) => reader.readuntil('\n', options)],
      ['read()', (reader, options) => reader.read(-1, options)],
    ],
    anySplit: false,
  },
  {
    name: 'read(n) as bytes come',
    chunks: ['abc', 'defgh', 'ij', 'klmnopqrstuvwxyz'],
    reads: [
      ['read(4)', (reader, options) => reader.read(4, options)],
      ['read(4)', (reader, options) => reader.read(4, options)],
      ['read(100)', (reader, options) => reader.read(100, options)],
      ['read(0)', (reader, options) => reader.read(0, options)],
      ['read()', (reader, options) => reader.read(-1, options)],
    ],
    anySplit: false,
  },
  {
    name: 'everything until EOF',
    limit: 4,
    chunks: ['one ', 'two ', 'three ', 'four ', 'five'],
    reads: [['read()', (reader, options) => reader.read(-1, options)]],
    anySplit: true,
  },
];

/** Microtasks between two chunks: enough for a read to start waiting in between. */
const CHUNK_GAP = 4;
/** A run that takes more microtasks than this has hung. */
const MAX_MICROTASKS = 5000;

function noop(): void {}

/** Calls `fn` after `k` microtask turns (a chain of `k` promise reactions). */
function afterMicrotasks(k: number, fn: () => void): void {
  let chain = Promise.resolve();
  for (let i = 0; i < k; i++) chain = chain.then(noop);
  void chain.then(fn);
}

function describeOutcome(error: unknown): string {
  if (error instanceof IncompleteReadError) return `IncompleteReadError(${text(error.partial)}, ${error.expected})`;
  if (error instanceof Error) return `${error.name}: ${error.message}${error.cause instanceof Error ? ` (cause ${error.cause.name})` : ''}`;
  return String(error);
}

interface Run {
  outcomes: Outcome[];
  rest: string;
  /** Microtasks from the start until the last read settled. */
  microtasks: number;
}

interface Feed {
  reader: StreamReader;
  /** Starts delivering the chunks, then EOF; resolves once all is delivered. */
  start(chunks: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Runs `reads` on a fresh reader fed by `open`, the signal aborted after `abortAt` turns (or never). */
async function runReads(
  open: (limit: number | undefined) => Promise<Feed>,
  testCase: AbortCase,
  reads: AbortCase['reads'],
  abortAt: number | null,
  schedule: (k: number, fn: () => void) => void,
): Promise<Run> {
  const feed = await open(testCase.limit);
  try {
    const controller = new AbortController();
    const reason = new Error(`aborted after ${abortAt}`);
    let turns = 0;
    let running = true;
    const count = async (): Promise<void> => {
      while (running && turns < MAX_MICROTASKS) {
        await null;
        turns += 1;
      }
    };
    void count();
    if (abortAt !== null) schedule(abortAt, () => controller.abort(reason));
    const delivered = feed.start(testCase.chunks);
    const outcomes: Outcome[] = [];
    for (const [, read] of reads) {
      try {
        outcomes.push({ value: text(await within(read(feed.reader, { signal: controller.signal }), 2000, 'a read')) });
      } catch (error) {
        if (error === reason) {
          outcomes.push({ aborted: true });
          break;
        }
        outcomes.push({ error: describeOutcome(error) });
      }
    }
    running = false;
    const microtasks = turns;
    await within(delivered, 2000, 'the delivery');
    const rest = text(await within(feed.reader.read(), 2000, 'reading the rest'));
    assert.ok(feed.reader.atEof(), 'at EOF after reading the rest');
    return { outcomes, rest, microtasks };
  } finally {
    await feed.close();
  }
}

/** Every source of _reader-sources, the chunks fed `CHUNK_GAP` microtasks apart, then EOF. */
function harnessFeed(source: Source): (limit: number | undefined) => Promise<Feed> {
  return async (limit) => {
    const h = source.open(limit === undefined ? {} : { limit });
    return {
      reader: h.reader,
      start: (chunks) =>
        new Promise<void>((resolve) => {
          chunks.forEach((chunk, i) => afterMicrotasks((i + 1) * CHUNK_GAP, () => h.feed(chunk)));
          afterMicrotasks((chunks.length + 1) * CHUNK_GAP, () => {
            h.feedEof();
            resolve();
          });
        }),
      close: async () => {},
    };
  };
}

/** A real connection: the peer writes one chunk per macrotask turn, then half-closes. */
async function socketFeed(limit: number | undefined): Promise<Feed> {
  const [ours, theirs] = await socketpair();
  // A net.Socket pair: the Node adapter's, on every runtime.
  const [reader, writer] = await openNodeConnection(null, null, { sock: ours, limit });
  return {
    reader,
    start: async (chunks) => {
      for (const chunk of chunks) {
        await new Promise((resolve) => setImmediate(resolve));
        theirs.write(chunk);
      }
      await new Promise<void>((resolve) => theirs.end(resolve));
    },
    close: async () => {
      writer.close();
      await writer.waitClosed().catch(() => {});
      theirs.destroy();
    },
  };
}

function afterMacrotasks(k: number, fn: () => void): void {
  const step = (left: number): void => {
    if (left === 0) fn();
    else setImmediate(step, left - 1);
  };
  step(k);
}

let abortsFired = 0;
/** For each case and each read: whether an abort ever landed while that read was running. */
const abortedReads = new Set<string>();

async function fuzzAborts(
  label: string,
  open: (limit: number | undefined) => Promise<Feed>,
  testCase: AbortCase,
  schedule: (k: number, fn: () => void) => void,
  turnsOf: (reference: Run) => number,
): Promise<void> {
  const reference = await runReads(open, testCase, testCase.reads, null, schedule);
  assert.not.ok(reference.outcomes.some((outcome) => 'aborted' in outcome));
  const restBefore: string[] = [];
  for (let i = 0; i < testCase.reads.length; i++) {
    restBefore.push(i === 0 ? testCase.chunks.join('') : (await runReads(open, testCase, testCase.reads.slice(0, i), null, schedule)).rest);
  }
  const last = turnsOf(reference) + 3;
  for (let k = 0; k <= last; k++) {
    const run = await runReads(open, testCase, testCase.reads, k, schedule);
    abortsFired += 1;
    const at = `${label} ${testCase.name}, abort after ${k}`;
    const stopped = run.outcomes.findIndex((outcome) => 'aborted' in outcome);
    const finished = stopped === -1 ? run.outcomes : run.outcomes.slice(0, stopped);
    assert.equal(finished, reference.outcomes.slice(0, finished.length), `${at}: the reads before the abort give the reference's results`);
    if (stopped === -1) {
      assert.is(run.outcomes.length, reference.outcomes.length, at);
      assert.is(run.rest, reference.rest, `${at}: the bytes left`);
    } else {
      abortedReads.add(`${label} ${testCase.name} #${stopped}`);
      assert.is(run.rest, restBefore[stopped], `${at}: the aborted ${testCase.reads[stopped]![0]} (read ${stopped}) lost or took bytes`);
    }
  }
}

for (const source of sources) {
  for (const testCase of ABORT_CASES) {
    aborts(`${testCase.name}: ${testCase.reads.map(([name]) => name).join(', ')} [${source.name}]`, () =>
      fuzzAborts(source.name, harnessFeed(source), testCase, afterMicrotasks, (reference) => reference.microtasks),
    );
  }
}

for (const testCase of ABORT_CASES.filter((candidate) => candidate.anySplit)) {
  aborts(`${testCase.name} over a socket, aborted after k macrotask turns`, () =>
    leakFree(() => fuzzAborts('socket', socketFeed, testCase, afterMacrotasks, () => 3 * testCase.chunks.length + 6)),
  );
}

aborts('every read of every case was aborted while it waited, on every source', () => {
  for (const { name: source } of sources) {
    for (const testCase of ABORT_CASES) {
      testCase.reads.forEach(([name], index) => {
        // read(0) returns at once: nothing to abort but the start.
        if (name === 'read(0)') return;
        assert.ok(abortedReads.has(`${source} ${testCase.name} #${index}`), `${source} ${testCase.name}: ${name} (read ${index}) was never aborted`);
      });
    }
  }
  assert.ok(abortsFired > 1000, `${abortsFired} aborts fired`);
});

aborts.run();
