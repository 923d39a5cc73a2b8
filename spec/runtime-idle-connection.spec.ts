/**
 * What an idle connection does not hold until it is used (issue 14, point 5), under Node, Deno
 * and Bun. It holds no `ReadableStream`: Node's and Bun's sockets deliver to the reader's
 * protocol, and the reader of a Deno socket reads the connection itself, its stream made only
 * to learn how reading ended, or when someone asks for it (locked then). It holds no
 * `WritableStream`: the connection
 * functions' writer claims its socket's writable and makes it only when a write does not fit
 * in the socket (on Deno, which writes through the stream, at the first write) or never, when
 * the connection closes with everything sent. Meanwhile the socket's `writable` is locked.
 * The streams are counted by replacing the global `ReadableStream` or `WritableStream`, which the sockets use.
 * A socket makes its `closed` promise only when asked for (counted by watching the getter of
 * `ClosedSignal`, where both socket classes keep it), and its addresses outlive the close.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter, Transport } from '../lib/index.ts';
import { ClosedSignal } from '../lib/runtime/_closed-signal.ts';
import { rawServer, rejection, text, until, watchUnhandled, within } from './_loopback.ts';
import { connectSocket, openConnection, runtime, startServer } from './_runtime.ts';

const HOST = '127.0.0.1';
const idle = suite(`An idle connection (${runtime})`);

function deferredText(): { promise: Promise<string>; resolve(value: string): void } {
  let resolve!: (value: string) => void;
  const promise = new Promise<string>((onResolve) => (resolve = onResolve));
  return { promise, resolve };
}

/** Counts the streams of the global `kind` made while `body` runs (the sockets make theirs with the global). */
async function countingStreams<T>(kind: 'ReadableStream' | 'WritableStream', body: () => Promise<T>): Promise<{ result: T; made: number }> {
  const original = globalThis[kind] as new (...args: unknown[]) => object;
  let made = 0;
  (globalThis as Record<string, unknown>)[kind] = class extends original {
    constructor(...args: unknown[]) {
      super(...args);
      made += 1;
    }
  };
  try {
    return { result: await body(), made };
  } finally {
    (globalThis as Record<string, unknown>)[kind] = original;
  }
}

/** Counts the `WritableStream`s made while `body` runs. */
const countingWritableStreams = <T>(body: () => Promise<T>) => countingStreams('WritableStream', body);

/** A connection pair of `openConnection()` and `startServer()`: the reader and writer of each end. */
async function connectionPair(): Promise<{ server: Server; reader: StreamReader; writer: StreamWriter; serverReader: StreamReader; serverWriter: StreamWriter }> {
  let served: [StreamReader, StreamWriter] | null = null;
  const server = await startServer((reader, writer) => void (served = [reader, writer]), HOST, 0);
  const [host, port] = server.sockets[0]!.getsockname() as [string, number];
  const [reader, writer] = await openConnection(host, port);
  await until(() => served !== null);
  const [serverReader, serverWriter] = served!;
  return { server, reader, writer, serverReader, serverWriter };
}

/** Closes what `connectionPair()` opened. */
async function closePair({ server, writer, serverWriter }: Awaited<ReturnType<typeof connectionPair>>): Promise<void> {
  writer.close();
  serverWriter.close();
  await writer.waitClosed().catch(() => {});
  server.close();
  await server.waitClosed();
}

idle('an idle connection of openConnection() and startServer() makes no ReadableStream, nor does reading what arrives', async () => {
  const { result: pair, made } = await countingStreams('ReadableStream', connectionPair);
  try {
    assert.is(made, 0);
    const { made: whenRead } = await countingStreams('ReadableStream', async () => {
      pair.serverWriter.write('ping\n');
      assert.is(text(await within(pair.reader.readline())), 'ping\n');
      pair.writer.write('pong\n');
      assert.is(text(await within(pair.serverReader.readline())), 'pong\n');
    });
    assert.is(whenRead, 0, "the reader reads the socket's bytes without a stream");
  } finally {
    await closePair(pair);
  }
});

idle('asked for while the reader owns it, the socket\'s readable is locked, and the reader still reads to EOF', async () => {
  const pair = await connectionPair();
  try {
    const socket = pair.writer.transport as Transport;
    const readable = socket.readable!;
    assert.is(socket.readable, readable, 'the same stream every time');
    assert.is(readable.locked, true);
    assert.throws(() => readable.getReader(), TypeError);
    pair.serverWriter.write('after\n');
    assert.is(text(await within(pair.reader.readline())), 'after\n');
    pair.serverWriter.close();
    assert.is(text(await within(pair.reader.read())), '', 'EOF');
    assert.ok(pair.reader.atEof());
    assert.is(socket.readable, readable);
    assert.is(readable.locked, true, 'still the reader\'s');
  } finally {
    await closePair(pair);
  }
});

idle('an idle connection of openConnection() and startServer() makes no WritableStream; writing makes one where needed', async () => {
  let serverWriter: StreamWriter | null = null;
  const { result, made } = await countingWritableStreams(async () => {
    const server = await startServer(async (reader, writer) => {
      serverWriter = writer;
      while ((await reader.read(65536)).length > 0); // takes everything, as an idle peer would
    }, HOST, 0);
    const [host, port] = server.sockets[0]!.getsockname() as [string, number];
    const [, writer] = await openConnection(host, port);
    await until(() => serverWriter !== null);
    return { server, writer };
  });
  const { server, writer } = result;
  try {
    assert.is(made, 0);
    const { made: whenSmall } = await countingWritableStreams(async () => {
      writer.write('small writes go straight to the socket\n');
      await writer.drain();
    });
    assert.is(whenSmall, 0, "every runtime's socket takes small writes directly (tryWrite)");
    const { made: whenFull } = await countingWritableStreams(async () => {
      // More than the socket takes at once: Bun's hands a write straight to the kernel, which took 4 MB of one here.
      writer.write(new Uint8Array(16 << 20));
      await within(writer.drain());
    });
    assert.is(whenSmall + whenFull, 1);
  } finally {
    writer.close();
    serverWriter!.close();
    await writer.waitClosed().catch(() => {});
    server.close();
    await server.waitClosed();
  }
});

idle('closing a connection makes no WritableStream, and the peer gets every byte, then EOF', async () => {
  const received = deferredText();
  const server = await startServer(async (reader, writer) => {
    received.resolve(text(await reader.read()) + text(await reader.read()));
    writer.close();
  }, HOST, 0);
  const [host, port] = server.sockets[0]!.getsockname() as [string, number];
  try {
    const { made } = await countingWritableStreams(async () => {
      const [, writer] = await openConnection(host, port);
      writer.write('last words');
      writer.close();
      await within(writer.waitClosed());
    });
    assert.is(made, 0);
    assert.is(await within(received.promise), 'last words'); // the second read() was EOF
    const { made: silent } = await countingWritableStreams(async () => {
      const [, writer] = await openConnection(host, port);
      writer.close();
      await within(writer.waitClosed());
    });
    assert.is(silent, 0);
  } finally {
    server.close();
    await server.waitClosed();
  }
});

idle('while a StreamWriter owns the socket, its writable is locked, and the writer still writes', async () => {
  const server = await startServer(async (reader, writer) => {
    writer.write(await reader.readline());
    await writer.drain();
    writer.close();
  }, HOST, 0);
  const [host, port] = server.sockets[0]!.getsockname() as [string, number];
  const [reader, writer] = await openConnection(host, port);
  try {
    const socket = writer.transport as Transport;
    assert.is(socket.writable.locked, true);
    assert.throws(() => socket.writable.getWriter(), TypeError);
    writer.write('echo\n');
    await writer.drain();
    assert.is(text(await within(reader.readline())), 'echo\n');
  } finally {
    writer.close();
    await writer.waitClosed().catch(() => {});
    server.close();
    await server.waitClosed();
  }
});

/** Counts the times a socket's `closed` promise is asked for while `body` runs (the first one makes it). */
async function countingClosedAsks<T>(body: (asks: () => number) => Promise<T>): Promise<T> {
  const getter = Object.getOwnPropertyDescriptor(ClosedSignal.prototype, 'promise')!;
  let asks = 0;
  Object.defineProperty(ClosedSignal.prototype, 'promise', {
    ...getter,
    get(this: ClosedSignal) {
      asks += 1;
      return getter.get!.call(this);
    },
  });
  try {
    return await body(() => asks);
  } finally {
    Object.defineProperty(ClosedSignal.prototype, 'promise', getter);
  }
}

/** Resolves with what the socket's `_whenClosed()` watcher hears: null after a clean close, else the error. */
function whenClosed(socket: unknown): Promise<unknown> {
  return new Promise((resolve) => (socket as Transport)._whenClosed!(resolve));
}

idle('a socket makes its closed promise only when asked; made after a clean close, it is resolved', async () => {
  const server = await rawServer((peer) => void peer.end());
  try {
    await countingClosedAsks(async (asks) => {
      const socket = await connectSocket(server.host, server.port);
      const closing = whenClosed(socket);
      await socket.writable.close(); // a half-close: the peer has ended its side already
      await socket.readable.cancel();
      assert.is(await within(closing), null);
      assert.is(asks(), 0);
      await within((socket as unknown as Transport).closed);
      assert.is(asks(), 1);
    });
  } finally {
    await server.close();
  }
});

idle('the connections of openConnection() and startServer() make no closed promise while they live: their writers and the server are told of the close otherwise', async () => {
  await countingClosedAsks(async (asks) => {
    const server = await startServer(async (reader, writer) => {
      writer.write(await reader.readline());
      await writer.drain();
    }, HOST, 0);
    const [host, port] = server.sockets[0]!.getsockname() as [string, number];
    const [reader, writer] = await openConnection(host, port);
    try {
      writer.write('ping\n');
      assert.is(text(await within(reader.readline())), 'ping\n');
      assert.is(asks(), 0);
      server.closeClients();
      assert.is(text(await within(reader.read())), '', 'EOF once the server closed its client');
      server.close();
      await within(server.waitClosed()); // it knew its client was gone (closing asks for closed: close() returns it)
    } finally {
      writer.close();
      await writer.waitClosed().catch(() => {});
      server.close();
      server.closeClients();
      await server.waitClosed();
    }
  });
});

idle('made after the socket died of an error, closed rejects with it, and is never an unhandled rejection', async () => {
  const server = await rawServer();
  const unhandled = watchUnhandled();
  try {
    await countingClosedAsks(async (asks) => {
      const socket = await connectSocket(server.host, server.port);
      // A read pending, as a reader's would be (a Deno socket learns of the reset by reading).
      const reading = socket.readable.getReader().read().catch((error: unknown) => error);
      (await within(server.accepted())).resetAndDestroy();
      const died = (await within(whenClosed(socket))) as { code?: string };
      assert.is(died.code, 'ECONNRESET');
      assert.is(asks(), 0);
      const late = (socket as unknown as Transport).closed; // nobody handles it
      await unhandled.stop();
      assert.is(await rejection(late), died);
      assert.is(await reading, died);
    });
  } finally {
    await server.close();
  }
});

idle('peername and sockname still answer after the connection closed', async () => {
  const server = await startServer((_reader, writer) => writer.close(), HOST, 0);
  const [host, port] = server.sockets[0]!.getsockname() as [string, number];
  try {
    const [, writer] = await openConnection(host, port);
    const socket = writer.transport as Transport;
    const names = { peername: writer.getExtraInfo('peername'), sockname: writer.getExtraInfo('sockname') };
    assert.equal(names.peername, [host, port]);
    writer.close();
    await within(writer.waitClosed());
    await within(socket.closed);
    assert.equal({ peername: writer.getExtraInfo('peername'), sockname: writer.getExtraInfo('sockname') }, names);
  } finally {
    server.close();
    await server.waitClosed();
  }
});

idle.run();
