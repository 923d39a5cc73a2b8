/**
 * An idle connection holds no `WritableStream` (under Node, Deno and Bun): the connection
 * functions' writer claims its socket's writable and makes it only when a write does not fit
 * in the socket (on Deno, which writes through the stream, at the first write) or never, when
 * the connection closes with everything sent. Meanwhile the socket's `writable` is locked.
 * The streams are counted by replacing the global `WritableStream`, which the sockets use.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StreamWriter, Transport } from '../lib/index.ts';
import { text, until, within } from './_loopback.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';

const HOST = '127.0.0.1';
const idle = suite(`An idle connection (${runtime})`);

function deferredText(): { promise: Promise<string>; resolve(value: string): void } {
  let resolve!: (value: string) => void;
  const promise = new Promise<string>((onResolve) => (resolve = onResolve));
  return { promise, resolve };
}

/** Counts the `WritableStream`s made while `body` runs (the sockets make theirs with the global). */
async function countingWritableStreams<T>(body: () => Promise<T>): Promise<{ result: T; made: number }> {
  const original = globalThis.WritableStream;
  let made = 0;
  globalThis.WritableStream = class extends original<unknown> {
    constructor(...args: ConstructorParameters<typeof WritableStream>) {
      super(...args);
      made += 1;
    }
  } as typeof WritableStream;
  try {
    return { result: await body(), made };
  } finally {
    globalThis.WritableStream = original;
  }
}

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
      writer.write(new Uint8Array(4 << 20)); // more than the socket takes at once
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

idle.run();
