/**
 * The connection functions through the public API only, so that the same file runs under
 * Node, Deno and Bun, each with its own adapter (see `_runtime.ts`). Both ends are this
 * library's: a `startServer()` server and an `openConnection()` client.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { connectSocket, openConnection, openUnixConnection, runtime, startServer, startUnixServer } from './_runtime.ts';
import { bytes, rejection, sleep, text, within } from './_loopback.ts';
import { openSockets } from './_leaks.ts';

type Address = [string, number];

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as Address)[1];
}

/** Echoes line by line until EOF, then says `bye` after the EOF (so it needs half-close) and closes. */
async function echoThenBye(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    writer.write(line);
    await writer.drain();
  }
  writer.write('bye\n');
  writer.close();
  await writer.waitClosed();
}

async function closeAll(writer: StreamWriter, server: Server): Promise<void> {
  writer.close();
  await within(writer.waitClosed()).catch(() => {});
  server.close();
  await within(server.waitClosed());
}

const tcp = suite(`openConnection and startServer over TCP (${runtime})`);

tcp('exchange lines with the server', async () => {
  const server = await startServer(echoThenBye, '127.0.0.1', 0);
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    writer.write('hello\n');
    assert.is(text(await within(reader.readline())), 'hello\n');
    writer.writelines(['a\n', 'b\n']);
    assert.is(text(await within(reader.readexactly(4))), 'a\nb\n');
  } finally {
    await closeAll(writer, server);
  }
});

tcp('half-close: writeEof() lets the peer read to EOF and still answer', async () => {
  const server = await startServer(echoThenBye, '127.0.0.1', 0);
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    assert.ok(writer.canWriteEof());
    writer.write('last\n');
    writer.writeEof();
    assert.is(text(await within(reader.read())), 'last\nbye\n');
    assert.ok(reader.atEof());
  } finally {
    await closeAll(writer, server);
  }
});

tcp('a server reply after the client closed its side reaches the client (server reads to EOF first)', async () => {
  const server = await startServer(async (reader, writer) => {
    const all = await reader.read();
    writer.write(`got ${all.byteLength}`);
    writer.close();
  }, '127.0.0.1', 0);
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    writer.write(new Uint8Array(100_000));
    writer.writeEof();
    assert.is(text(await within(reader.read())), 'got 100000');
  } finally {
    await closeAll(writer, server);
  }
});

tcp('moves 4 MiB each way with drain(), every byte in order', async () => {
  const server = await startServer(async (reader, writer) => {
    for (;;) {
      const chunk = await reader.read(65536);
      if (chunk.byteLength === 0) break;
      writer.write(chunk);
      await writer.drain();
    }
    writer.close();
  }, '127.0.0.1', 0);
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    const data = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 1) data[i] = (i * 7 + (i >> 12)) & 0xff;
    const received = (async () => {
      const all = await reader.readexactly(data.length);
      return all;
    })();
    for (let offset = 0; offset < data.length; offset += 256 * 1024) {
      writer.write(data.subarray(offset, offset + 256 * 1024));
      await within(writer.drain());
    }
    writer.writeEof();
    const all = await within(received, 20000);
    assert.is(all.byteLength, data.length);
    let same = true;
    for (let i = 0; i < data.length; i += 1) if (all[i] !== data[i]) same = false;
    assert.ok(same, 'the echoed bytes equal the sent ones');
    assert.is((await within(reader.read())).byteLength, 0);
  } finally {
    await closeAll(writer, server);
  }
});

tcp('getExtraInfo gives peername and sockname as [host, port]', async () => {
  const server = await startServer(echoThenBye, '127.0.0.1', 0);
  const [, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    const peer = writer.getExtraInfo('peername') as Address;
    const own = writer.getExtraInfo('sockname') as Address;
    assert.equal(peer, ['127.0.0.1', portOf(server)]);
    assert.is(own[0], '127.0.0.1');
    assert.ok(own[1] > 0);
    assert.ok(writer.getExtraInfo('socket') !== undefined);
    assert.is(writer.getExtraInfo('nothing', 'default'), 'default');
  } finally {
    await closeAll(writer, server);
  }
});

/** The class of the adapter's sockets on this runtime, as their `toString()` names it. */
const SOCKET_CLASS = { node: 'NodeSocket', deno: 'DenoSocket', bun: 'BunSocket' }[runtime];

tcp("a socket's toString() names its class and both ends, and says closed once closed (warnings print it)", async () => {
  let serverSide = '';
  const server = await startServer(async (reader, writer) => {
    serverSide = String(writer.transport);
    await echoThenBye(reader, writer);
  }, '127.0.0.1', 0);
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    const [, ownPort] = writer.getExtraInfo('sockname') as Address;
    assert.is(String(writer.transport), `<${SOCKET_CLASS} 127.0.0.1:${ownPort} -> 127.0.0.1:${portOf(server)}>`);
    writer.write('hello\n');
    await within(reader.readline());
    assert.is(serverSide, `<${SOCKET_CLASS} 127.0.0.1:${portOf(server)} -> 127.0.0.1:${ownPort}>`);
    writer.close();
    await within(writer.waitClosed());
    assert.is(String(writer.transport), `<${SOCKET_CLASS} 127.0.0.1:${ownPort} -> 127.0.0.1:${portOf(server)} closed>`);
  } finally {
    await closeAll(writer, server);
  }
});

tcp('a refused connection rejects with the code ECONNREFUSED', async () => {
  const server = await startServer(() => {}, '127.0.0.1', 0);
  const port = portOf(server);
  server.close();
  await within(server.waitClosed());
  // Deno frees the listening socket once its pending accept() is cancelled, a moment later.
  await sleep(20);
  const error = (await rejection(openConnection('127.0.0.1', port))) as { code?: unknown };
  assert.is(error.code, 'ECONNREFUSED');
});

tcp('an aborted signal rejects with its reason before connecting', async () => {
  const reason = new Error('stop');
  const error = await rejection(openConnection('127.0.0.1', 1, { signal: AbortSignal.abort(reason) }));
  assert.is(error, reason);
});

tcp.run();

const lifecycle = suite(`Server lifecycle (${runtime})`);

lifecycle('close() stops listening, waitClosed() waits for the clients, closeClients() ends them', async () => {
  let connected!: () => void;
  const clientIn = new Promise<void>((resolve) => (connected = resolve));
  const server = await startServer(async (reader) => {
    connected();
    await reader.read();
  }, '127.0.0.1', 0);
  const port = portOf(server);
  const [reader, writer] = await within(openConnection('127.0.0.1', port));
  try {
    await within(clientIn);
    server.close();
    assert.is(server.sockets.length, 0);
    let waited = false;
    const waiting = server.waitClosed().then(() => (waited = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.not.ok(waited, 'waitClosed() waits while a client is connected');
    await rejection(openConnection('127.0.0.1', port));
    server.closeClients();
    await within(waiting);
    assert.is((await within(reader.read())).byteLength, 0);
  } finally {
    writer.close();
    await within(writer.waitClosed()).catch(() => {});
  }
});

lifecycle('startServing: false holds clients until startServing()', async () => {
  const server = await startServer(async (reader, writer) => {
    writer.write(await reader.readline());
    writer.close();
  }, '127.0.0.1', 0, { startServing: false });
  assert.not.ok(server.isServing());
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    writer.write('held\n');
    await server.startServing();
    assert.ok(server.isServing());
    assert.is(text(await within(reader.readline())), 'held\n');
  } finally {
    await closeAll(writer, server);
  }
});

lifecycle('startServing: false: a client that sent its EOF alone while held reads as EOF once served, and the server closes', async () => {
  let served = '';
  const server = await startServer(async (reader, writer) => {
    served = `read ${(await within(reader.read())).byteLength} bytes, atEof ${reader.atEof()}`;
    writer.close();
  }, '127.0.0.1', 0, { startServing: false });
  const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
  try {
    writer.writeEof();
    await sleep(100);
    await server.startServing();
    assert.is((await within(reader.read())).byteLength, 0, 'the server closed');
    assert.is(served, 'read 0 bytes, atEof true');
  } finally {
    await closeAll(writer, server);
  }
});

for (const end of ['closeClients', 'abortClients'] as const) {
  lifecycle(`startServing: false: ${end}() closes the clients held too, which are never served`, async () => {
    let served = 0;
    const server = await startServer((_reader, writer) => {
      served += 1;
      writer.write('served\n');
      writer.close();
    }, '127.0.0.1', 0, { startServing: false });
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    try {
      await sleep(100);
      server[end]();
      assert.is((await within(reader.read())).byteLength, 0, 'closed by the server');
      await server.startServing();
      await sleep(100);
      assert.is(served, 0);
    } finally {
      await closeAll(writer, server);
    }
  });
}

lifecycle('a client callback that throws closes that client and the server goes on', async () => {
  const errors: unknown[] = [];
  const server = await startServer(async (reader, writer) => {
    const line = text(await reader.readline());
    if (line === 'boom\n') throw new Error('boom');
    writer.write(line);
    writer.close();
  }, '127.0.0.1', 0, { onError: (error) => void errors.push(error) });
  try {
    const [badReader, badWriter] = await within(openConnection('127.0.0.1', portOf(server)));
    badWriter.write('boom\n');
    assert.is((await within(badReader.read())).byteLength, 0);
    badWriter.close();
    const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server)));
    writer.write('fine\n');
    assert.is(text(await within(reader.readline())), 'fine\n');
    writer.close();
    assert.is(errors.length, 1);
    assert.is((errors[0] as Error).message, 'boom');
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

lifecycle.run();

const unix = suite(`openUnixConnection and startUnixServer (${runtime})`);

/**
 * The client's side of `echoThenBye()`: `line` echoed, then our EOF and the server's `bye`,
 * read before closing (closing first would break the server's pipe), then the close.
 */
async function echoedThenBye(reader: StreamReader, writer: StreamWriter, line: string): Promise<void> {
  writer.write(line);
  assert.is(text(await within(reader.readline())), line);
  writer.writeEof();
  assert.is(text(await within(reader.read())), 'bye\n');
  writer.close();
  await within(writer.waitClosed()).catch(() => {});
}

unix('exchange lines and half-close over a Unix socket; the path is the sockname', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'asyncio-streams-runtime-'));
  const path = join(directory, 'echo.sock');
  const server = await startUnixServer(echoThenBye, path);
  try {
    assert.is(server.sockets[0]!.getsockname(), path);
    const [reader, writer] = await within(openUnixConnection(path));
    assert.is(writer.getExtraInfo('peername'), path);
    await echoedThenBye(reader, writer, 'unix\n');
  } finally {
    server.close();
    await within(server.waitClosed());
    rmSync(directory, { recursive: true, force: true });
  }
});

unix('a Linux abstract name (a leading NUL) is listened on and connected to, as CPython does: no file is made', async () => {
  const name = `\0asyncio-streams-${runtime}-${Math.random().toString(36).slice(2)}`;
  const server = await startUnixServer(echoThenBye, name);
  try {
    assert.is(server.sockets[0]!.getsockname(), name);
    const [reader, writer] = await within(openUnixConnection(name));
    await echoedThenBye(reader, writer, 'abstract\n');
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

unix("a server's writes to a client that closed at once fail, and waitClosed() rejects with that error (it resolved on Bun)", async () => {
  const directory = mkdtempSync(join(tmpdir(), 'asyncio-streams-runtime-'));
  let outcome: Promise<string> | undefined;
  const server = await startUnixServer(async (reader, writer) => {
    await reader.read();
    const chunk = new Uint8Array(65536);
    for (let i = 0; i < 4; i++) {
      writer.write(chunk);
      await writer.drain().catch(() => {});
    }
    outcome = writer.waitClosed().then(() => 'resolved', (error: { code?: string }) => `rejected ${error.code}`);
  }, join(directory, 'vanish.sock'));
  try {
    const [, writer] = await within(openUnixConnection(join(directory, 'vanish.sock')));
    writer.close();
    await within(writer.waitClosed()).catch(() => {});
    await within((async () => {
      while (outcome === undefined) await sleep(10);
    })());
    assert.match(await within(outcome!), /^rejected (EPIPE|ECONNRESET)$/);
  } finally {
    server.close();
    await within(server.waitClosed());
    rmSync(directory, { recursive: true, force: true });
  }
});

unix('a path with no server rejects with the code ENOENT', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'asyncio-streams-runtime-'));
  try {
    const error = (await rejection(openUnixConnection(join(directory, 'none.sock')))) as { code?: unknown };
    assert.is(error.code, 'ENOENT');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

unix.run();

const sockets = suite(`the adapter's socket (${runtime})`);

sockets('its readable is a byte stream: a BYOB read fills the given view; closing writable half-closes', async () => {
  const server = await startServer(echoThenBye, '127.0.0.1', 0);
  const socket = await within(connectSocket('127.0.0.1', portOf(server)));
  try {
    const writer = socket.writable.getWriter();
    await writer.write(bytes('view\n'));
    const reader = socket.readable.getReader({ mode: 'byob' });
    const buffer = new Uint8Array(64);
    const { value } = await within(reader.read(buffer));
    assert.is(text(value!), 'view\n');
    assert.is(value!.buffer.byteLength, 64, 'read into the given buffer');
    await within(writer.close());
    let rest = '';
    for (;;) {
      const result = await within(reader.read(new Uint8Array(64)));
      if (result.done) break;
      rest += text(result.value);
    }
    assert.is(rest, 'bye\n', 'the server saw EOF and its answer still arrived');
  } finally {
    await socket.close();
    server.close();
    await within(server.waitClosed());
  }
});

sockets.run();

const pairs = suite(`openConnection({ sock }) over a pair of streams (${runtime})`);

pairs('reads and writes any { readable, writable } pair', async () => {
  const written: string[] = [];
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes('one\ntwo\n'));
      controller.close();
    },
  });
  const writable = new WritableStream<Uint8Array>({ write: (chunk) => void written.push(text(chunk)) });
  const [reader, writer] = await openConnection(null, null, { sock: { readable, writable } });
  assert.is(text(await reader.readline()), 'one\n');
  assert.is(text(await reader.readline()), 'two\n');
  assert.ok(reader.atEof() || (await reader.read()).byteLength === 0);
  writer.write('out');
  writer.close();
  await within(writer.waitClosed());
  assert.equal(written, ['out']);
});

pairs.run();

const release = suite(`A closed server gives its ports back (${runtime})`);

release('after close() and waitClosed(), the port is free: a new server listens on it at once', async () => {
  // Deno closes a listener with an accept pending a turn after close(): waitClosed() waits for it.
  const first = await startServer(() => {}, '127.0.0.1', 0);
  const port = portOf(first);
  first.close();
  await within(first.waitClosed());
  const second = await startServer(() => {}, '127.0.0.1', port);
  assert.is(portOf(second), port);
  second.close();
  await within(second.waitClosed());
});

release("after close() and waitClosed(), a Unix server's listening socket is closed too", async () => {
  const directory = mkdtempSync(join(tmpdir(), 'asyncio-streams-runtime-'));
  try {
    const before = openSockets();
    const server = await startUnixServer(() => {}, join(directory, 'release.sock'));
    assert.is(openSockets(), before + 1);
    server.close();
    await within(server.waitClosed());
    assert.is(openSockets(), before, 'no listening socket left once waitClosed() resolved');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

release('a start that fails on a later host leaves the ports it took free when it rejects', async () => {
  const blocker = await startServer(() => {}, '127.0.0.1', 0);
  const port = portOf(blocker);
  try {
    // ::1 is taken first, then 127.0.0.1 fails: ::1 must be free again once the start rejects.
    const error = (await rejection(startServer(() => {}, ['::1', '127.0.0.1'], port))) as { code?: string };
    assert.is(error.code, 'EADDRINUSE');
    const again = await startServer(() => {}, '::1', port);
    again.close();
    await within(again.waitClosed());
  } finally {
    blocker.close();
    await within(blocker.waitClosed());
  }
});

release('a host given twice is listened on once', async () => {
  const server = await startServer(() => {}, ['127.0.0.1', '127.0.0.1'], 0);
  try {
    assert.is(server.sockets.length, 1);
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

release.run();
