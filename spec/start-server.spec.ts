import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import {
  openConnection,
  openUnixConnection,
  Server,
  startServer,
  startUnixServer,
  type ClientConnectedCallback,
  type StreamReader,
  type StreamWriter,
} from '../lib/runtime/node.ts';
import {
  hasIpv6Loopback,
  isPending,
  rawServer,
  rejection,
  sleep,
  tempDir,
  text,
  tick,
  until,
  watchUnhandled,
  within,
} from './_loopback.ts';

type Address = [string, number];

function addressOf(server: Server, index = 0): Address {
  return server.sockets[index]!.getsockname() as Address;
}

/** CPython's echo handler of test 43: one line back, then close. */
async function handleClient(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const data = await reader.readline();
  writer.write(data);
  await writer.drain();
  writer.close();
  await writer.waitClosed();
}

/** CPython's client of test 43: one line out, the echo back. */
async function client(open: () => Promise<[StreamReader, StreamWriter]>): Promise<string> {
  const [reader, writer] = await open();
  writer.write('hello world!\n');
  const line = text(await within(reader.readline()));
  writer.close();
  await within(writer.waitClosed());
  return line;
}

/** Collects what the server's onError hook hears. */
function errorLog() {
  const messages: Array<{ error: unknown; message: string }> = [];
  return { messages, onError: (error: unknown, context: { message: string }) => void messages.push({ error, message: context.message }) };
}

async function shutdown(server: Server): Promise<void> {
  server.close();
  server.abortClients();
  await within(server.waitClosed(), 5000, 'the server closing');
}

function listeningNetServer(): Promise<NetServer> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const tcp = suite('startServer');

tcp('serves a coroutine handler on a listening socket given as sock (test 43, A)', async () => {
  const watch = watchUnhandled();
  const log = errorLog();
  const sock = await listeningNetServer();
  const server = await startServer(handleClient, null, null, { sock, onError: log.onError });
  try {
    const [host, port] = addressOf(server);
    assert.is(host, '127.0.0.1');
    assert.is(await client(() => openConnection(host, port)), 'hello world!\n');
  } finally {
    await shutdown(server);
    await watch.stop();
  }
  assert.is(sock.listening, false, 'the server owns the socket it was given');
  assert.equal(log.messages, []);
});

tcp('serves a plain callback that starts the coroutine itself (test 43, B)', async () => {
  const log = errorLog();
  const tasks: Promise<void>[] = [];
  const server = await startServer((reader, writer) => {
    tasks.push(handleClient(reader, writer));
  }, '127.0.0.1', 0, { onError: log.onError });
  try {
    const [host, port] = addressOf(server);
    assert.is(await client(() => openConnection(host, port)), 'hello world!\n');
    await within(Promise.all(tasks));
  } finally {
    await shutdown(server);
  }
  assert.equal(log.messages, []);
});

tcp('gives each client its own reader and writer, with the addresses', async () => {
  let seen: { peername: unknown; sockname: unknown; limit: number } | null = null;
  const server = await startServer((reader, writer) => {
    seen = { peername: writer.getExtraInfo('peername'), sockname: writer.getExtraInfo('sockname'), limit: reader.limit };
    writer.close();
  }, '127.0.0.1', 0, { limit: 1234 });
  try {
    const [reader, writer] = await openConnection(...addressOf(server));
    await within(reader.read());
    const local = writer.getExtraInfo('sockname');
    assert.equal(seen, { peername: local, sockname: addressOf(server), limit: 1234 });
    writer.close();
  } finally {
    await shutdown(server);
  }
});

tcp('serves 200 concurrent clients', async () => {
  const server = await startServer(async (reader, writer) => {
    for await (const line of reader) {
      writer.write(line);
      await writer.drain();
    }
    writer.close();
  }, '127.0.0.1', 0);
  try {
    const [host, port] = addressOf(server);
    const results = await within(Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const [reader, writer] = await openConnection(host, port);
      let echoed = '';
      for (let line = 0; line < 5; line++) {
        writer.write(`client ${i} line ${line}\n`);
        echoed += text(await reader.readline());
      }
      writer.writeEof();
      const rest = await reader.read();
      await writer.waitClosed();
      return echoed + text(rest);
    })), 20000, '200 clients');
    results.forEach((echoed, i) => {
      assert.is(echoed, Array.from({ length: 5 }, (_, line) => `client ${i} line ${line}\n`).join(''));
    });
  } finally {
    await shutdown(server);
  }
});

tcp('listens on every address a list of hosts gives, on one port', async () => {
  if (!(await hasIpv6Loopback())) return;
  const server = await startServer(handleClient, ['127.0.0.1', '::1'], 0);
  try {
    assert.is(server.sockets.length, 2);
    const [v4, v6] = [addressOf(server, 0), addressOf(server, 1)];
    assert.equal([v4[0], v6[0]], ['127.0.0.1', '::1']);
    assert.is(v4[1], v6[1]);
    assert.is(await client(() => openConnection('127.0.0.1', v4[1])), 'hello world!\n');
    assert.is(await client(() => openConnection('::1', v6[1])), 'hello world!\n');
  } finally {
    await shutdown(server);
  }
});

tcp('binds a host name to each address it resolves to, filtered by family', async () => {
  const server = await startServer(handleClient, 'localhost', 0, { family: 4 });
  try {
    assert.ok(server.sockets.length >= 1);
    for (const socket of server.sockets) assert.is((socket.getsockname() as Address)[0], '127.0.0.1');
  } finally {
    await shutdown(server);
  }
});

tcp('rejects with EADDRINUSE when the port is taken', async () => {
  const taken = await rawServer();
  try {
    const error = (await rejection(startServer(handleClient, '127.0.0.1', taken.port))) as NodeJS.ErrnoException;
    assert.is(error.code, 'EADDRINUSE');
  } finally {
    await taken.close();
  }
});

tcp('checks its arguments, and refuses what Node cannot do', async () => {
  const sock = await listeningNetServer();
  try {
    assert.match(((await rejection(startServer(handleClient))) as Error).message, /Neither host\/port nor sock/);
    assert.match(((await rejection(startServer(handleClient, '127.0.0.1', 0, { sock }))) as Error).message, /sock can not be specified/);
    assert.match(((await rejection(startServer(handleClient, '127.0.0.1', 0, { reuseAddress: false }))) as Error).message, /reuseAddress: false is not supported/);
    assert.instance(await rejection(startServer(handleClient, '127.0.0.1', 0, { backlog: -1 })), RangeError);
    assert.instance(await rejection(startServer(handleClient, '127.0.0.1', 0, { limit: -1 })), RangeError);
    assert.instance(await rejection(startServer(handleClient, '127.0.0.1', 0, { ssl: true as never })), TypeError);
    assert.instance(await rejection(startServer('nope' as never, '127.0.0.1', 0)), TypeError);
    assert.instance(await rejection(startServer(handleClient, null, null, { sock: createServer() })), TypeError);
  } finally {
    sock.close();
  }
});

tcp('accepts reuseAddress and a backlog', async () => {
  const server = await startServer(handleClient, '127.0.0.1', 0, { reuseAddress: true, backlog: 5 });
  try {
    assert.is(await client(() => openConnection(...addressOf(server))), 'hello world!\n');
  } finally {
    await shutdown(server);
  }
});

tcp.run();

const unix = suite('startUnixServer');

unix('serves a coroutine handler and a plain callback (test 44)', async () => {
  const dir = tempDir();
  try {
    for (const [name, callback] of [
      ['coroutine', handleClient],
      ['plain', (reader: StreamReader, writer: StreamWriter) => void handleClient(reader, writer)],
    ] as Array<[string, ClientConnectedCallback]>) {
      const log = errorLog();
      const path = dir.path(`${name}.sock`);
      const server = await startUnixServer(callback, path, { onError: log.onError });
      try {
        assert.is(server.sockets[0]!.getsockname(), path);
        assert.is(await client(() => openUnixConnection(path)), 'hello world!\n');
      } finally {
        await shutdown(server);
      }
      assert.equal(log.messages, []);
      assert.is(existsSync(path), false, 'the socket file is removed at close');
    }
  } finally {
    dir.remove();
  }
});

unix('gives the path as sockname and an empty peername', async () => {
  const dir = tempDir();
  let seen: unknown[] = [];
  const server = await startUnixServer((_reader, writer) => {
    seen = [writer.getExtraInfo('sockname'), writer.getExtraInfo('peername')];
    writer.close();
  }, dir.path('s'));
  try {
    const [reader, writer] = await openUnixConnection(dir.path('s'));
    await within(reader.read());
    assert.equal(seen, [dir.path('s'), '']);
    writer.close();
  } finally {
    await shutdown(server);
    dir.remove();
  }
});

unix('replaces a stale socket file, and leaves any other file alone', async () => {
  const dir = tempDir();
  try {
    // A socket file left behind by a process that died without closing its server.
    const crash = `require('net').createServer().listen(${JSON.stringify(dir.path('stale'))}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', crash]);
    assert.ok(existsSync(dir.path('stale')), 'the stale socket file is there');
    const server = await startUnixServer(handleClient, dir.path('stale'));
    try {
      assert.is(await client(() => openUnixConnection(dir.path('stale'))), 'hello world!\n');
    } finally {
      await shutdown(server);
    }
    writeFileSync(dir.path('regular'), 'data');
    const error = (await rejection(startUnixServer(handleClient, dir.path('regular')))) as NodeJS.ErrnoException;
    assert.is(error.code, 'EADDRINUSE');
  } finally {
    dir.remove();
  }
});

unix('checks its arguments', async () => {
  assert.match(((await rejection(startUnixServer(handleClient))) as Error).message, /path was not specified/);
});

unix.run();

const errors = suite('startServer client errors');

async function exchangeWithFailingHandler(callback: ClientConnectedCallback) {
  const log = errorLog();
  const server = await startServer(callback, '127.0.0.1', 0, { onError: log.onError });
  try {
    for (let round = 0; round < 2; round++) {
      const [reader, writer] = await openConnection(...addressOf(server));
      writer.write('test msg');
      await writer.drain();
      assert.is((await within(reader.read(), 5000, 'the failed client being closed')).length, 0, 'the client sees EOF');
      writer.close();
      await within(writer.waitClosed());
    }
  } finally {
    await shutdown(server);
  }
  return log.messages;
}

errors('an async handler that raises is reported, its client closed, and the server goes on (test 72)', async () => {
  const watch = watchUnhandled();
  const error = new Error('test');
  const messages = await exchangeWithFailingHandler(async (reader) => {
    await reader.read(8);
    throw error;
  });
  assert.equal(messages, [
    { error, message: 'Unhandled exception in client_connected_cb' },
    { error, message: 'Unhandled exception in client_connected_cb' },
  ]);
  await watch.stop();
});

errors('a plain handler that throws is reported the same way (CPython gh-155941)', async () => {
  const watch = watchUnhandled();
  const error = new Error('sync');
  const messages = await exchangeWithFailingHandler(() => {
    throw error;
  });
  assert.is(messages.length, 2);
  assert.is(messages[0]!.error, error);
  await watch.stop();
});

errors('a handler that closes its writer and returns is not reported (test 73)', async () => {
  const messages = await exchangeWithFailingHandler((_reader, writer) => {
    writer.close();
  });
  assert.equal(messages, []);
});

errors('the default report goes to console.error with CPython\'s message', async () => {
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  const error = new Error('logged');
  const server = await startServer(() => {
    throw error;
  }, '127.0.0.1', 0);
  try {
    const [reader, writer] = await openConnection(...addressOf(server));
    await within(reader.read());
    writer.close();
  } finally {
    console.error = original;
    await shutdown(server);
  }
  assert.equal(logged, [['Unhandled exception in client_connected_cb', error]]);
});

errors.run();

const lifecycle = suite('Server lifecycle');

lifecycle('close() stops listening, keeps clients, and waitClosed waits for them (3.12.1+)', async () => {
  let serverWriter: StreamWriter | null = null;
  const server = await startServer(async (reader, writer) => {
    serverWriter = writer;
    await reader.read();
    writer.close();
  }, '127.0.0.1', 0);
  const [host, port] = addressOf(server);
  const [reader, writer] = await openConnection(host, port);
  try {
    await sleep(20);
    assert.ok(serverWriter !== null);
    server.close();
    server.close();
    assert.is(server.isServing(), false);
    assert.equal(server.sockets, []);
    assert.is(((await rejection(openConnection(host, port))) as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    const closed = server.waitClosed();
    assert.ok(await isPending(closed), 'waitClosed waits for the client');
    (serverWriter as StreamWriter).write('still served\n');
    assert.is(text(await within(reader.readline())), 'still served\n');
    // Our EOF makes the handler close its side: only then is the client gone.
    writer.close();
    await within(closed);
    await within(server.waitClosed());
  } finally {
    writer.close();
    await shutdown(server);
  }
});

lifecycle('waitClosed waits even before close() is called', async () => {
  const server = await startServer(handleClient, '127.0.0.1', 0);
  const closed = server.waitClosed();
  try {
    assert.ok(await isPending(closed));
  } finally {
    server.close();
  }
  await within(closed);
});

lifecycle('closeClients() closes every client after what is queued; abortClients() at once', async () => {
  const writers: StreamWriter[] = [];
  const server = await startServer((_reader, writer) => void writers.push(writer), '127.0.0.1', 0);
  try {
    const clients = await Promise.all([openConnection(...addressOf(server)), openConnection(...addressOf(server))]);
    await until(() => writers.length === 2);
    writers[0]!.write('last words');
    server.close();
    server.closeClients();
    assert.is(text(await within(clients[0]![0].read())), 'last words');
    assert.is((await within(clients[1]![0].read())).length, 0);
    await within(server.waitClosed());
    for (const [, writer] of clients) writer.close();

    const second = await startServer((_reader, writer) => void writers.push(writer), '127.0.0.1', 0);
    const [reader, writer] = await openConnection(...addressOf(second));
    await until(() => writers.length === 3);
    second.close();
    second.abortClients();
    await within(second.waitClosed());
    assert.is((await within(reader.read())).length, 0);
    writer.close();
  } finally {
    await shutdown(server);
  }
});

lifecycle('with startServing: false, clients wait until startServing()', async () => {
  const served: string[] = [];
  const server = await startServer(async (reader, writer) => {
    served.push(text(await reader.readline()));
    writer.close();
  }, '127.0.0.1', 0, { startServing: false });
  try {
    assert.is(server.isServing(), false);
    const [reader, writer] = await openConnection(...addressOf(server));
    writer.write('early\n');
    await sleep(50);
    assert.equal(served, []);
    await server.startServing();
    await server.startServing();
    assert.is(server.isServing(), true);
    await within(reader.read());
    assert.equal(served, ['early\n']);
    writer.close();
  } finally {
    await shutdown(server);
  }
});

lifecycle('close() before serving closes the clients that waited', async () => {
  const server = await startServer(handleClient, '127.0.0.1', 0, { startServing: false });
  try {
    const [reader, writer] = await openConnection(...addressOf(server));
    await sleep(20);
    server.close();
    assert.is((await within(reader.read())).length, 0);
    writer.close();
    await within(server.waitClosed());
    assert.match(((await rejection(server.startServing())) as Error).message, /is closed/);
  } finally {
    await shutdown(server);
  }
});

lifecycle('serveForever() serves until close(), then resolves once the clients are gone', async () => {
  const server = await startServer(handleClient, '127.0.0.1', 0, { startServing: false });
  const forever = server.serveForever();
  try {
    await tick();
    assert.is(server.isServing(), true);
    assert.match(((await rejection(server.serveForever())) as Error).message, /already being awaited on serveForever/);
    assert.is(await client(() => openConnection(...addressOf(server))), 'hello world!\n');
    assert.ok(await isPending(forever));
    server.close();
    await within(forever);
    assert.match(((await rejection(server.serveForever())) as Error).message, /is closed/);
  } finally {
    await shutdown(server);
  }
});

lifecycle('serveForever() with a signal: an abort closes the server and rejects with the reason', async () => {
  const server = await startServer(handleClient, '127.0.0.1', 0);
  const controller = new AbortController();
  try {
    const forever = server.serveForever({ signal: controller.signal });
    const reason = new Error('shutdown');
    controller.abort(reason);
    assert.is(await rejection(forever), reason);
    assert.equal(server.sockets, []);
  } finally {
    await shutdown(server);
  }
});

lifecycle('Symbol.asyncDispose closes the server and waits for it', async () => {
  const server = await startServer(handleClient, '127.0.0.1', 0);
  try {
    const [host, port] = addressOf(server);
    assert.is(await client(() => openConnection(host, port)), 'hello world!\n');
    await within(server[Symbol.asyncDispose]());
    assert.is(server.isServing(), false);
    assert.is(((await rejection(openConnection(host, port))) as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  } finally {
    await shutdown(server);
  }
});

lifecycle('await using closes the server at the end of the block', async () => {
  let kept: Server | null = null;
  {
    await using server = await startServer(handleClient, '127.0.0.1', 0);
    kept = server;
    assert.is(server.isServing(), true);
  }
  assert.is(kept.isServing(), false);
  assert.equal(kept.sockets, []);
});

lifecycle('reads like CPython\'s repr', async () => {
  const server = await startServer(handleClient, '127.0.0.1', 0);
  try {
    assert.is(String(server), `<Server sockets=[127.0.0.1:${addressOf(server)[1]}]>`);
  } finally {
    await shutdown(server);
  }
  assert.is(String(server), '<Server sockets=[]>');
});

lifecycle('a client that resets does not disturb the server', async () => {
  const watch = watchUnhandled();
  const errors: unknown[] = [];
  const server = await startServer(async (reader, writer) => {
    try {
      await reader.read();
    } catch (error) {
      errors.push(error);
    }
    writer.close();
  }, '127.0.0.1', 0);
  try {
    const raw: NetSocket = connect(addressOf(server)[1], '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write('partial');
    await sleep(20);
    raw.resetAndDestroy();
    await until(() => errors.length > 0);
    server.close();
    await within(server.waitClosed());
    assert.is(errors.length, 1);
    assert.is((errors[0] as NodeJS.ErrnoException).code, 'ECONNRESET');
  } finally {
    await shutdown(server);
    await watch.stop();
  }
});

lifecycle.run();
