/**
 * Every option asyncio has, and none it doesn't (issue 15), under Node, Deno and Bun: every
 * function that takes options refuses one it does not know with a `TypeError` naming it, as
 * Python refuses an unexpected keyword argument (a misspelled `sslShutdownTimout`, or Python's
 * own `ssl_shutdown_timeout`, would otherwise be ignored without a word); an option set to
 * `undefined` is no option. `proto` and `flags` are taken with the values that mean something,
 * and refused by name with a `RangeError` otherwise. Each
 * network body runs twice, counted the second time: Deno takes sockets for good on a first use.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as web from '../lib/runtime/web.ts';
import { StreamReader, StreamWriter, type Server } from '../lib/index.ts';
import { leakFreeTwice } from './_first-use.ts';
import { rejection, tempDir, text, within } from './_loopback.ts';
import { openConnection, openUnixConnection, runtime, startServer, startUnixServer } from './_runtime.ts';

type Options = Record<string, unknown>;

/** How long a refused call may take to fail. */
const FAIL_WITHIN_MS = 1000;

/** The options no function takes: one invented, one misspelled, one spelled the Python way. */
const UNKNOWN = ['bogusOption', 'sslShutdownTimout', 'ssl_shutdown_timeout'];

const directory = tempDir();

function noop(): void {}

/** A pair of streams that is never read or written. */
function pair(): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
  return { readable: new ReadableStream(), writable: new WritableStream() };
}

/** The error `call` throws or rejects with within FAIL_WITHIN_MS; fails when it succeeds. */
async function errorOf(call: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return error;
  }
  return rejection(Promise.resolve(result), FAIL_WITHIN_MS);
}

function assertNamed(error: unknown, expected: TypeErrorConstructor | RangeErrorConstructor, message: RegExp, what: string): void {
  assert.ok(
    error instanceof expected,
    `${what}: expected a ${expected.name}, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
  );
  assert.match((error as Error).message, message, `${what}: the message names it`);
}

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** A reader with a line and more in it, for the reads to be called on. */
function fedReader(): StreamReader {
  const reader = new StreamReader();
  reader.feedData(new TextEncoder().encode('abc\ndef'));
  return reader;
}

/**
 * Every function that takes options, by the name its errors give it, called with `options`.
 * Calls that would connect or listen are given addresses where nothing answers: the options are
 * refused before anything is opened.
 */
const calls: Array<[name: string, call: (options: Options) => unknown]> = [
  ['openConnection()', (options) => openConnection('127.0.0.1', 1, options)],
  ['openUnixConnection()', (options) => openUnixConnection(directory.path('nobody.sock'), options)],
  ['startServer()', (options) => startServer(noop, '127.0.0.1', 0, options)],
  ['startUnixServer()', (options) => startUnixServer(noop, directory.path('refused.sock'), options)],
  ['openConnection()', (options) => web.openConnection(null, null, { sock: pair(), ...options })],
  ['openUnixConnection()', (options) => web.openUnixConnection(null, { sock: pair(), ...options })],
  ['startServer()', (options) => web.startServer(noop, '127.0.0.1', 0, options)],
  ['startUnixServer()', (options) => web.startUnixServer(noop, '/nowhere.sock', options)],
  ['ssl', (options) => openConnection('127.0.0.1', 1, { ssl: { rejectUnauthorized: true, ...options } })],
  ['startTls()', (options) => StreamWriter.from(new WritableStream()).startTls(true, options)],
  ['StreamReader()', (options) => new StreamReader(options)],
  ['StreamReader.from()', (options) => StreamReader.from(new ReadableStream(), options)],
  ['StreamWriter.from()', (options) => StreamWriter.from(new WritableStream(), options)],
  ['read()', (options) => fedReader().read(2, options)],
  ['readline()', (options) => fedReader().readline(options)],
  ['readexactly()', (options) => fedReader().readexactly(2, options)],
  ['readuntil()', (options) => fedReader().readuntil('\n', options)],
];

const unknown = suite(`unknown options are refused (${runtime})`);

unknown('every function refuses an option it does not take with a TypeError that names it', async () => {
  await leakFreeTwice(async () => {
    for (const [name, call] of calls) {
      for (const option of UNKNOWN) {
        const error = await errorOf(() => call({ [option]: 1 }));
        const quoted = name.replace(/[.()]/g, '\\$&');
        assertNamed(error, TypeError, new RegExp(`^${quoted} got an unexpected keyword argument '${option}'$`), `${name} with ${option}`);
      }
    }
  });
});

unknown('serveForever() refuses an option it does not take', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(noop, '127.0.0.1', 0);
    try {
      assertNamed(await errorOf(() => server.serveForever({ bogusOption: 1 } as Options)), TypeError, /serveForever\(\) got an unexpected keyword argument 'bogusOption'/, 'serveForever()');
      assert.ok(server.isServing(), 'the server serves on');
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
});

unknown("an option of one function is unknown to another: keepAlive to a Unix server, cleanupSocket to a TCP one", async () => {
  const unix = await errorOf(() => startUnixServer(noop, directory.path('keep.sock'), { keepAlive: true } as Options));
  assertNamed(unix, TypeError, /^startUnixServer\(\) got an unexpected keyword argument 'keepAlive'$/, 'startUnixServer()');
  const tcp = await errorOf(() => startServer(noop, '127.0.0.1', 0, { cleanupSocket: false } as Options));
  assertNamed(tcp, TypeError, /^startServer\(\) got an unexpected keyword argument 'cleanupSocket'$/, 'startServer()');
  const client = await errorOf(() => openUnixConnection(directory.path('nobody.sock'), { family: 4 } as Options));
  assertNamed(client, TypeError, /^openUnixConnection\(\) got an unexpected keyword argument 'family'$/, 'openUnixConnection()');
});

unknown('options that are not an object are refused', async () => {
  assertNamed(await errorOf(() => openConnection('127.0.0.1', 1, 5 as unknown as Options)), TypeError, /^openConnection\(\) options must be an object, got 5$/, 'a number');
  assertNamed(await errorOf(() => new StreamReader(null as unknown as Options)), TypeError, /^StreamReader\(\) options must be an object, got null$/, 'null');
});

unknown('an unknown option set to undefined is no option: every function works as without it', async () => {
  await leakFreeTwice(async () => {
    const none: Options = { bogusOption: undefined };
    const echo = async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
      writer.write(await reader.readline());
      writer.close();
    };
    const tcp = await startServer(echo, '127.0.0.1', 0, none);
    const path = directory.path('undefined.sock');
    const unix = await startUnixServer(echo, path, none);
    try {
      for (const [reader, writer] of [
        await openConnection('127.0.0.1', portOf(tcp), none),
        await openUnixConnection(path, none),
      ]) {
        writer.write('ping\n');
        assert.is(text(await within(reader.readline(), 5000)), 'ping\n');
        writer.close();
        await within(writer.waitClosed());
      }
    } finally {
      tcp.close();
      unix.close();
      await within(Promise.all([tcp.waitClosed(), unix.waitClosed()]));
    }
    const [webReader] = await web.openConnection(null, null, { sock: { readable: new Response('x\n').body!, writable: new WritableStream() }, ...none });
    assert.is(text(await webReader.readline(none)), 'x\n');
    const reader = new StreamReader({ limit: 10, ...none });
    assert.is(reader.limit, 10);
    assert.is(StreamReader.from(new ReadableStream(), none).limit, 65536);
    const fed = fedReader();
    assert.is(text(await fed.read(1, none)), 'a');
    assert.is(text(await fed.readexactly(1, none)), 'b');
    assert.is(text(await fed.readuntil('\n', none)), 'c\n');
    assert.ok(StreamWriter.from(new WritableStream(), none) instanceof StreamWriter);
    // Past the option check, startTls() fails for the bare writable, not for the option.
    const error = await errorOf(() => StreamWriter.from(new WritableStream()).startTls(true, none));
    assertNamed(error, TypeError, /is not supported by startTls\(\)/, 'startTls()');
  });
});

const values = suite(`proto, flags and sslShutdownTimeout take what means something (${runtime})`);

values('proto 0 and IPPROTO_TCP, flags 0 (and AI_PASSIVE on a server) are taken; anything else is refused', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer((_reader, writer) => writer.close(), '127.0.0.1', 0, { flags: 1 });
    try {
      for (const options of [{ proto: 0, flags: 0 }, { proto: 6 }]) {
        const [reader, writer] = await openConnection('127.0.0.1', portOf(server), options);
        assert.is((await within(reader.read())).byteLength, 0, 'connected, and the server closed');
        writer.close();
        await within(writer.waitClosed());
      }
    } finally {
      server.close();
      await within(server.waitClosed());
    }
    assertNamed(await errorOf(() => openConnection('127.0.0.1', 1, { proto: 17 })), RangeError, /^proto 17 is not supported/, 'proto 17');
    assertNamed(await errorOf(() => openConnection('127.0.0.1', 1, { proto: 'tcp' } as Options)), TypeError, /^proto must be a number/, "proto 'tcp'");
    assertNamed(await errorOf(() => openConnection('127.0.0.1', 1, { flags: 1 })), RangeError, /^flags 1 is not supported/, 'flags 1 on a client');
    assertNamed(await errorOf(() => startServer(noop, '127.0.0.1', 0, { flags: 1024 })), RangeError, /^flags 1024 is not supported/, 'flags 1024');
  });
});

values('sslShutdownTimeout is checked as CPython checks it', async () => {
  assertNamed(await errorOf(() => openConnection('127.0.0.1', 1, { sslShutdownTimeout: 5 })), RangeError, /^sslShutdownTimeout is only meaningful with ssl$/, 'without ssl');
  assertNamed(await errorOf(() => startServer(noop, '127.0.0.1', 0, { sslShutdownTimeout: 5 })), RangeError, /^sslShutdownTimeout is only meaningful with ssl$/, 'a server without ssl');
  for (const timeout of [0, -1, Number.NaN]) {
    const error = await errorOf(() => openConnection('127.0.0.1', 1, { ssl: true, sslShutdownTimeout: timeout }));
    assertNamed(error, RangeError, /^sslShutdownTimeout should be a positive number/, String(timeout));
  }
  const wrongType = await errorOf(() => openConnection('127.0.0.1', 1, { ssl: true, sslShutdownTimeout: '5' } as Options));
  assertNamed(wrongType, TypeError, /^sslShutdownTimeout must be a number of seconds/, "'5'");
});

values.after(() => directory.remove());

unknown.run();
values.run();
