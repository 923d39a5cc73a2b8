/**
 * Bad input to every public function and option: wrong types, negative and fractional sizes,
 * NaN, empty separators, huge sizes and limits, a closed writer, a reader used after
 * feedEof, ports out of range, Unix paths that do not exist. Each must fail with the class
 * API.md documents (RangeError for a bad value, TypeError for a wrong type, Error for a wrong
 * state, the runtime's error for the system's refusals) and a message that names the problem,
 * within a second (never a hang), and leave the object working: a reader still reads its bytes,
 * exactly, and a writer still writes.
 */
import { createServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IncompleteReadError,
  openConnection,
  openUnixConnection,
  socketpair,
  startServer,
  startUnixServer,
  StreamReader,
  StreamWriter,
  type Server,
} from '../lib/runtime/node.ts';
import { leakFree } from './_leaks.ts';
import { tempDir, text, watchUnhandled, within } from './_loopback.ts';
import { sources, type ReaderHarness, type Source } from './_reader-sources.ts';

type ErrorClass = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;

/** How long a bad call may take to fail. */
const FAIL_WITHIN_MS = 1000;

interface Failure {
  error: unknown;
  /** Whether it threw instead of returning a rejected promise. */
  sync: boolean;
}

/** Calls `call` and returns how it failed; fails the test if it succeeds or takes too long. */
async function failureOf(call: () => unknown): Promise<Failure> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return { error, sync: true };
  }
  if (typeof (result as Promise<unknown> | null)?.then !== 'function') {
    assert.unreachable(`expected an error, got ${String(result)}`);
  }
  try {
    await within(result as Promise<unknown>, FAIL_WITHIN_MS, 'the bad call');
  } catch (error) {
    return { error, sync: false };
  }
  assert.unreachable('expected a rejection, got a value');
  return { error: null, sync: false };
}

/**
 * The error is of class `expected` and not of a narrower standard one (an `Error` expected must
 * not be a `RangeError`; Node's own `TypeError`s are subclasses named `TypeError`), and its
 * message matches.
 */
function assertError(error: unknown, expected: ErrorClass, message: RegExp, what: string): void {
  assert.ok(
    error instanceof expected && error.name === expected.name,
    `${what}: expected a ${expected.name}, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
  );
  assert.match((error as Error).message, message, `${what}: the message names the problem`);
}

/** What a reader under test holds: `abc\ndef`, then (for the check afterwards) EOF. */
const FED = 'abc\ndef';

let inputsTried = 0;

/** After a bad call, the reader still gives its bytes exactly: the line, then the rest. */
async function assertReaderIntact(h: ReaderHarness, what: string): Promise<void> {
  assert.is(text(await within(h.reader.readline(), FAIL_WITHIN_MS)), 'abc\n', `${what}: the next line is intact`);
  h.feedEof();
  assert.is(text(await within(h.reader.read(), FAIL_WITHIN_MS)), 'def', `${what}: the rest is intact`);
  assert.ok(h.reader.atEof());
}

type ReaderCall = [what: string, call: (reader: StreamReader) => unknown, expected: ErrorClass, message: RegExp];

const nonIntegers: unknown[] = [1.5, -0.5, NaN, Infinity, -Infinity, '5', null, 5n, {}, [1], true];
const described = (value: unknown): string =>
  typeof value === 'bigint' ? `${value}n` : typeof value === 'string' ? `'${value}'` : Array.isArray(value) ? `[${value}]` : String(value);

const READER_CALLS: ReaderCall[] = [
  ...nonIntegers.map((n): ReaderCall => [`read(${described(n)})`, (reader) => reader.read(n as number), TypeError, /read\(\) size must be an integer/]),
  ...nonIntegers.map((n): ReaderCall => [`readexactly(${described(n)})`, (reader) => reader.readexactly(n as number), TypeError, /readexactly\(\) size must be an integer/]),
  ['readexactly(-1)', (reader) => reader.readexactly(-1), RangeError, /readexactly size can not be less than zero/],
  ['readexactly(-2 ** 53)', (reader) => reader.readexactly(-(2 ** 53)), RangeError, /less than zero/],
  ["readuntil('')", (reader) => reader.readuntil(''), RangeError, /Separator should be at least one-byte string/],
  ['readuntil(new Uint8Array(0))', (reader) => reader.readuntil(new Uint8Array(0)), RangeError, /at least one-byte/],
  ['readuntil([])', (reader) => reader.readuntil([]), RangeError, /Separator should contain at least one element/],
  ["readuntil(['\\n', ''])", (reader) => reader.readuntil(['\n', '']), RangeError, /at least one-byte/],
  ...[null, 5, {}, [5], new ArrayBuffer(1), new Uint16Array([10]), new DataView(new ArrayBuffer(1)), Symbol('sep')].map(
    (separator): ReaderCall => [
      `readuntil(${typeof separator === 'symbol' ? 'Symbol()' : Object.prototype.toString.call(separator)})`,
      (reader) => reader.readuntil(separator as string),
      TypeError,
      /Separator must be a Uint8Array or a string/,
    ],
  ),
  ...['x', {}, new AbortController(), 1].flatMap((signal): ReaderCall[] => [
    [`read(2, { signal: ${described(signal)} })`, (reader) => reader.read(2, { signal: signal as AbortSignal }), TypeError, /signal option must be an AbortSignal/],
    [`readline({ signal: ${described(signal)} })`, (reader) => reader.readline({ signal: signal as AbortSignal }), TypeError, /signal option must be an AbortSignal/],
    [`readexactly(2, { signal: ${described(signal)} })`, (reader) => reader.readexactly(2, { signal: signal as AbortSignal }), TypeError, /signal option must be an AbortSignal/],
    [`readuntil('c', { signal: ${described(signal)} })`, (reader) => reader.readuntil('c', { signal: signal as AbortSignal }), TypeError, /signal option must be an AbortSignal/],
  ]),
];

const readerInput = suite('Bad input: StreamReader reads');

/** Push mode and a byte stream read with BYOB: the two ways bytes reach the buffer. */
const READER_SOURCES: Source[] = sources.filter((source) => source.name === 'push' || source.name === 'native byte stream, BYOB');

for (const source of READER_SOURCES) {
  readerInput(`every bad size, separator and signal rejects with the documented error and loses no byte [${source.name}]`, async () => {
    const watch = watchUnhandled();
    try {
      for (const [what, call, expected, message] of READER_CALLS) {
        const h = source.open();
        h.feed(FED);
        const failure = await failureOf(() => call(h.reader));
        assert.not.ok(failure.sync, `${what} rejects instead of throwing (CPython raises from the coroutine)`);
        assertError(failure.error, expected, message, what);
        await assertReaderIntact(h, what);
        inputsTried += 1;
      }
    } finally {
      await watch.stop();
    }
  });
}

readerInput('huge sizes: read(2 ** 53) returns what is buffered, readexactly(2 ** 40) fails at EOF without allocating it', async () => {
  const reader = new StreamReader();
  reader.feedData(new TextEncoder().encode(FED));
  assert.is(text(await within(reader.read(2 ** 53), FAIL_WITHIN_MS)), FED);
  reader.feedData(new TextEncoder().encode(FED));
  const pending = reader.readexactly(2 ** 40);
  reader.feedEof();
  const error = (await failureOf(() => pending)).error;
  assert.ok(error instanceof IncompleteReadError, String(error));
  assert.is(error.expected, 2 ** 40);
  assert.is(text(error.partial), FED, 'the partial result holds every byte');
  assert.match(error.message, /7 bytes read on a total of 1099511627776 expected bytes/);
  assert.ok(reader.atEof());
  inputsTried += 2;
});

readerInput('huge and fractional limits work: 2 ** 53, Infinity, 0.5', async () => {
  for (const limit of [2 ** 53, Infinity]) {
    const reader = new StreamReader({ limit });
    reader.feedData(new TextEncoder().encode(`${'x'.repeat(200_000)}\nrest`));
    assert.is((await within(reader.readline(), FAIL_WITHIN_MS)).length, 200_001);
    reader.feedEof();
    assert.is(text(await within(reader.readuntil('\n').catch((error: unknown) => (error as IncompleteReadError).partial))), 'rest');
    inputsTried += 1;
  }
  // CPython compares the limit as a number: 0.5 lets no byte before the separator through.
  const small = new StreamReader({ limit: 0.5 });
  small.feedData(new TextEncoder().encode('\nab\n'));
  assert.is(text(await small.readline()), '\n');
  const over = await failureOf(() => small.readline());
  assertError(over.error, RangeError, /Separator is found, but chunk is longer than limit/, 'readline() over a 0.5 limit');
  inputsTried += 1;
});

readerInput('a second read while one waits fails by name, and the first one still gets its bytes', async () => {
  const reader = new StreamReader();
  const first = reader.readline();
  for (const [what, call] of [
    ['read', () => reader.read(1)],
    ['readline', () => reader.readline()],
    ['readexactly', () => reader.readexactly(1)],
    ['readuntil', () => reader.readuntil('x')],
  ] as const) {
    const failure = await failureOf(call);
    assertError(failure.error, Error, new RegExp(`^${what === 'readline' ? 'readuntil' : what}\\(\\) called while another coroutine is already waiting for incoming data$`), what);
    inputsTried += 1;
  }
  reader.feedData(new TextEncoder().encode(FED));
  assert.is(text(await within(first, FAIL_WITHIN_MS)), 'abc\n');
  assert.is(text(reader._peekBuffer()), 'def');
});

readerInput.run();

const readerState = suite('Bad input: StreamReader construction, feeding and state');

readerState('a limit that is not a positive number is refused, naming it', async () => {
  for (const limit of [0, -1, -0.5, -Infinity]) {
    assertError((await failureOf(() => new StreamReader({ limit }))).error, RangeError, /^Limit cannot be <= 0$/, `limit ${limit}`);
    inputsTried += 1;
  }
  assertError((await failureOf(() => new StreamReader({ limit: NaN }))).error, TypeError, /Limit must be a number, got NaN/, 'limit NaN');
  for (const limit of ['5', {}, 5n, true]) {
    assertError((await failureOf(() => new StreamReader({ limit: limit as number }))).error, TypeError, new RegExp(`Limit must be a number, got ${typeof limit}`), `limit ${described(limit)}`);
    inputsTried += 1;
  }
  inputsTried += 1;
});

readerState('feedData() takes only a Uint8Array, and a refusal leaves the buffer as it was', async () => {
  for (const data of ['text', 5, null, undefined, new ArrayBuffer(3), new DataView(new ArrayBuffer(3)), new Uint16Array(2), [1, 2], {}]) {
    const h = READER_SOURCES[0]!.open();
    h.feed(FED);
    const failure = await failureOf(() => h.reader.feedData(data as Uint8Array));
    assert.ok(failure.sync);
    assertError(failure.error, TypeError, /feedData\(\) data must be a Uint8Array, got /, `feedData(${described(data)})`);
    await assertReaderIntact(h, `feedData(${described(data)})`);
    inputsTried += 1;
  }
  const reader = new StreamReader();
  reader.feedData(Buffer.from('a Buffer is a Uint8Array\n'));
  assert.is(text(await reader.readline()), 'a Buffer is a Uint8Array\n');
});

readerState('a reader used after feedEof: feeding fails, reads give the rest, then EOF', async () => {
  const reader = new StreamReader();
  reader.feedData(new TextEncoder().encode(FED));
  reader.feedEof();
  reader.feedEof();
  assertError((await failureOf(() => reader.feedData(new Uint8Array([1])))).error, Error, /^feedData after feedEof$/, 'feedData after feedEof');
  assert.not.ok(reader.atEof(), 'bytes are still buffered');
  assert.is(text(await reader.readline()), 'abc\n');
  const partial = (await failureOf(() => reader.readexactly(10))).error as IncompleteReadError;
  assert.ok(partial instanceof IncompleteReadError);
  assert.is(text(partial.partial), 'def');
  assert.ok(reader.atEof());
  for (const read of [() => reader.read(), () => reader.read(5), () => reader.readline(), () => reader.readexactly(0)]) {
    assert.is((await within(read(), FAIL_WITHIN_MS)).length, 0);
  }
  const incomplete = (await failureOf(() => reader.readexactly(1))).error as IncompleteReadError;
  assert.ok(incomplete instanceof IncompleteReadError && incomplete.partial.length === 0 && incomplete.expected === 1);
  const until = (await failureOf(() => reader.readuntil('x'))).error as IncompleteReadError;
  assert.ok(until instanceof IncompleteReadError && until.partial.length === 0 && until.expected === null);
  assertError((await failureOf(() => reader.feedData(new Uint8Array([1])))).error, Error, /^feedData after feedEof$/, 'feedData at EOF');
  inputsTried += 9;
});

readerState('a pull-mode reader refuses feedData, and from() refuses what is not an unlocked ReadableStream', async () => {
  const reader = StreamReader.from(new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new TextEncoder().encode(FED)) }));
  assertError((await failureOf(() => reader.feedData(new Uint8Array([1])))).error, Error, /feedData\(\) cannot be used on a reader that pulls from a stream/, 'feedData in pull mode');
  assert.is(text(await within(reader.readline(), FAIL_WITHIN_MS)), 'abc\n');
  for (const readable of [5, null, undefined, {}, new WritableStream(), 'stream']) {
    assertError((await failureOf(() => StreamReader.from(readable as ReadableStream<Uint8Array>))).error, TypeError, /StreamReader\.from\(\) needs a ReadableStream/, `from(${described(readable)})`);
    inputsTried += 1;
  }
  const locked = new ReadableStream<Uint8Array>();
  locked.getReader();
  assertError((await failureOf(() => StreamReader.from(locked))).error, TypeError, /locked/, 'from(a locked stream)');
  inputsTried += 2;
});

readerState('setTransport() twice fails by name and keeps the first transport', async () => {
  const reader = new StreamReader();
  const first = { pauseReading() {}, resumeReading() {} };
  reader.setTransport(first);
  assertError((await failureOf(() => reader.setTransport({ pauseReading() {}, resumeReading() {} }))).error, Error, /^Transport already set$/, 'setTransport twice');
  assert.is(reader.transport, first);
  inputsTried += 1;
});

readerState.run();

const writerInput = suite('Bad input: StreamWriter');

/** A writer over a stream that records what reaches it. */
function recordingWriter(): { writer: StreamWriter; received: () => string } {
  const chunks: Uint8Array[] = [];
  const writable = new WritableStream<Uint8Array>(
    { write: (chunk) => void chunks.push(chunk.slice()) },
    new ByteLengthQueuingStrategy({ highWaterMark: 1024 }),
  );
  return { writer: StreamWriter.from(writable), received: () => chunks.map((chunk) => text(chunk)).join('') };
}

writerInput('write() and writelines() refuse what is neither bytes nor a string, naming its type, and write nothing', async () => {
  for (const [data, kind] of [
    [5, 'number'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{}, 'Object'],
    [new ArrayBuffer(2), 'ArrayBuffer'],
    [new Uint16Array(2), 'Uint16Array'],
    [[104, 105], 'Array'],
    [Symbol('data'), 'symbol'],
  ] as const) {
    const { writer, received } = recordingWriter();
    writer.write('before;');
    const failure = await failureOf(() => writer.write(data as unknown as string));
    assert.ok(failure.sync, 'write() throws at once');
    assertError(failure.error, TypeError, new RegExp(`data argument must be a Uint8Array or a string, not ${kind}`), `write(${kind})`);
    const lines = await failureOf(() => writer.writelines(['ok;', data as unknown as string]));
    assertError(lines.error, TypeError, new RegExp(`not ${kind}`), `writelines([..., ${kind}])`);
    writer.write('after');
    await within(writer.drain(), FAIL_WITHIN_MS);
    writer.close();
    await within(writer.waitClosed(), FAIL_WITHIN_MS);
    assert.is(received(), 'before;after', 'nothing of a refused call was written, and the writer goes on');
    inputsTried += 2;
  }
  const { writer } = recordingWriter();
  assertError((await failureOf(() => writer.writelines(null as unknown as string[]))).error, TypeError, /not iterable/, 'writelines(null)');
  inputsTried += 1;
});

writerInput('a closed or half-closed writer refuses writes by name; drain() says the connection is lost', async () => {
  const closed = recordingWriter();
  closed.writer.write('last');
  closed.writer.close();
  assertError((await failureOf(() => closed.writer.write('more'))).error, Error, /^Cannot call write\(\) after close\(\)$/, 'write after close');
  assertError((await failureOf(() => closed.writer.writelines(['more']))).error, Error, /^Cannot call writelines\(\) after close\(\)$/, 'writelines after close');
  const lost = (await failureOf(() => closed.writer.drain())).error as NodeJS.ErrnoException;
  assertError(lost, Error, /^Connection lost$/, 'drain after close');
  assert.is(lost.code, 'ECONNRESET');
  await within(closed.writer.waitClosed(), FAIL_WITHIN_MS);
  assert.is(closed.received(), 'last', 'what was queued before close() still went out');
  const ended = recordingWriter();
  ended.writer.writeEof();
  assertError((await failureOf(() => ended.writer.write('more'))).error, Error, /^Cannot call write\(\) after writeEof\(\)$/, 'write after writeEof');
  assertError((await failureOf(() => ended.writer.writelines(['more']))).error, Error, /^Cannot call writelines\(\) after writeEof\(\)$/, 'writelines after writeEof');
  inputsTried += 5;
});

writerInput('from() refuses what is not an unlocked WritableStream', async () => {
  for (const writable of [5, null, undefined, {}, new ReadableStream()]) {
    assertError((await failureOf(() => StreamWriter.from(writable as WritableStream<Uint8Array>))).error, TypeError, /StreamWriter\.from\(\) needs a WritableStream/, `from(${described(writable)})`);
    inputsTried += 1;
  }
  const locked = new WritableStream<Uint8Array>();
  locked.getWriter();
  assertError((await failureOf(() => StreamWriter.from(locked))).error, TypeError, /locked/, 'from(a locked stream)');
  inputsTried += 1;
});

writerInput.run();

const connections = suite('Bad input: openConnection, startServer and their Unix twins');

/** Checks each case, and that together they opened no descriptor and left nothing unhandled. */
function refuses(cases: Array<[what: string, call: () => Promise<unknown>, expected: ErrorClass, message: RegExp]>): Promise<void> {
  return leakFree(async () => {
    for (const [what, call, expected, message] of cases) {
      assertError((await failureOf(call)).error, expected, message, what);
      inputsTried += 1;
    }
  });
}

const HOST = '127.0.0.1';

connections('openConnection: ports out of range or not integers, wrong hosts, families, local addresses, limits and signals', () =>
  refuses([
    ...[-1, 65536, 2 ** 31].map((port): [string, () => Promise<unknown>, ErrorClass, RegExp] => [
      `port ${port}`, () => openConnection(HOST, port), RangeError, new RegExp(`port must be between 0 and 65535, got ${port}`),
    ]),
    ...[1.5, NaN, Infinity, -Infinity, 'abc', '-1', ' 80', '0x50', {}, true].map((port): [string, () => Promise<unknown>, ErrorClass, RegExp] => [
      `port ${described(port)}`, () => openConnection(HOST, port as number), TypeError, /port must be an integer, got /,
    ]),
    ['host 5', () => openConnection(5 as unknown as string, 80), TypeError, /host must be a string, got number/],
    ['host {}', () => openConnection({} as string, 80), TypeError, /host must be a string, got object/],
    ['no host, port or sock', () => openConnection(), RangeError, /host and port was not specified and no sock specified/],
    ['family 5', () => openConnection(HOST, 1, { family: 5 as 4 }), RangeError, /family must be 0, 4 or 6, got 5/],
    ["family '4'", () => openConnection(HOST, 1, { family: '4' as unknown as 4 }), RangeError, /family must be 0, 4 or 6, got 4/],
    ["localAddr 'x'", () => openConnection(HOST, 1, { localAddr: 'x' as unknown as [string, number] }), TypeError, /localAddr must be a \[host, port\] pair/],
    ['localAddr [5, 0]', () => openConnection(HOST, 1, { localAddr: [5, 0] as unknown as [string, number] }), TypeError, /localAddr must be a \[host, port\] pair/],
    ['localAddr port 70000', () => openConnection(HOST, 1, { localAddr: [HOST, 70000] }), RangeError, /localAddr port must be between 0 and 65535, got 70000/],
    ['limit 0', () => openConnection(HOST, 1, { limit: 0 }), RangeError, /^Limit cannot be <= 0$/],
    ['limit -1', () => openConnection(HOST, 1, { limit: -1 }), RangeError, /^Limit cannot be <= 0$/],
    ["limit '5'", () => openConnection(HOST, 1, { limit: '5' as unknown as number }), TypeError, /Limit must be a number, got string/],
    ['limit NaN', () => openConnection(HOST, 1, { limit: NaN }), TypeError, /Limit must be a number/],
    ["signal 'x'", () => openConnection(HOST, 1, { signal: 'x' as unknown as AbortSignal }), TypeError, /signal option must be an AbortSignal/],
    ['sock 5', () => openConnection(null, null, { sock: 5 as never }), TypeError, /sock must be a socket of the runtime or a \{ readable, writable \} pair/],
    ['sock and host', () => openConnection(HOST, 1, { sock: {} as never }), RangeError, /host\/port and sock can not be specified at the same time/],
    ['serverHostname without ssl', () => openConnection(HOST, 1, { serverHostname: 'example.com' }), RangeError, /serverHostname/],
    ['sslHandshakeTimeout without ssl', () => openConnection(HOST, 1, { sslHandshakeTimeout: 5 }), RangeError, /sslHandshakeTimeout/],
  ]),
);

connections('openUnixConnection: a path of the wrong type, none, or one that does not exist', async () => {
  const dir = tempDir();
  try {
    await refuses([
      ['path 5', () => openUnixConnection(5 as unknown as string), TypeError, /path must be a string, got number/],
      ['no path and no sock', () => openUnixConnection(), RangeError, /no path and sock were specified/],
      ['path and sock', () => openUnixConnection(dir.path('s'), { sock: {} as never }), RangeError, /path and sock can not be specified at the same time/],
      ['limit 0', () => openUnixConnection(dir.path('s'), { limit: 0 }), RangeError, /^Limit cannot be <= 0$/],
    ]);
    for (const path of [dir.path('missing'), dir.path('no/such/dir/socket')]) {
      const error = (await failureOf(() => openUnixConnection(path))).error as NodeJS.ErrnoException;
      assert.is(error.code, 'ENOENT', String(error));
      assert.ok(error.message.includes(path), `the message names the path: ${error.message}`);
      inputsTried += 1;
    }
  } finally {
    dir.remove();
  }
});

connections('startServer: a callback that is not a function, bad ports, backlogs, hosts, limits, families and hooks', () =>
  refuses([
    ...[5, null, 'handler', {}].map((callback): [string, () => Promise<unknown>, ErrorClass, RegExp] => [
      `callback ${described(callback)}`, () => startServer(callback as never, HOST, 0), TypeError, /The client callback must be a function/,
    ]),
    ['port 70000', () => startServer(() => {}, HOST, 70000), RangeError, /port must be between 0 and 65535, got 70000/],
    ['port -1', () => startServer(() => {}, HOST, -1), RangeError, /port must be between 0 and 65535, got -1/],
    ['port 1.5', () => startServer(() => {}, HOST, 1.5), TypeError, /port must be an integer, got 1.5/],
    ...[-1, 1.5, NaN, '5'].map((backlog): [string, () => Promise<unknown>, ErrorClass, RegExp] => [
      `backlog ${described(backlog)}`, () => startServer(() => {}, HOST, 0, { backlog: backlog as number }), RangeError, /backlog must be an integer >= 0, got /,
    ]),
    ['onError 5', () => startServer(() => {}, HOST, 0, { onError: 5 as never }), TypeError, /onError must be a function/],
    ['host [5]', () => startServer(() => {}, [5] as unknown as string[], 0), TypeError, /host must be a string or an array of strings/],
    ['host 5', () => startServer(() => {}, 5 as unknown as string, 0), TypeError, /host must be a string or an array of strings/],
    ['limit 0', () => startServer(() => {}, HOST, 0, { limit: 0 }), RangeError, /^Limit cannot be <= 0$/],
    ['family 7', () => startServer(() => {}, HOST, 0, { family: 7 as 4 }), RangeError, /family must be 0, 4 or 6, got 7/],
    ['reuseAddress false', () => startServer(() => {}, HOST, 0, { reuseAddress: false }), RangeError, /reuseAddress: false is not supported/],
    ['no host, port or sock', () => startServer(() => {}), RangeError, /Neither host\/port nor sock were specified/],
    ['sock and host', () => startServer(() => {}, HOST, 0, { sock: createServer() }), RangeError, /host\/port and sock can not be specified at the same time/],
    ['sock not listening', () => startServer(() => {}, null, null, { sock: createServer() }), TypeError, /sock must be a listening net\.Server/],
  ]),
);

connections('startUnixServer: a path of the wrong type, none, or in a directory that does not exist', async () => {
  const dir = tempDir();
  try {
    await refuses([
      ['path 5', () => startUnixServer(() => {}, 5 as unknown as string), TypeError, /path must be a string, got number/],
      ['no path', () => startUnixServer(() => {}), RangeError, /path was not specified, and no sock specified/],
      ['backlog -1', () => startUnixServer(() => {}, dir.path('s'), { backlog: -1 }), RangeError, /backlog must be an integer >= 0/],
    ]);
    const path = dir.path('no/such/dir/socket');
    const error = (await failureOf(() => startUnixServer(() => {}, path))).error as NodeJS.ErrnoException;
    // libuv reports a bind in a missing directory as EACCES; the path is named either way.
    assert.ok(['ENOENT', 'EACCES'].includes(String(error.code)), String(error));
    assert.ok(error.message.includes(path), `the message names the path: ${error.message}`);
    inputsTried += 1;
  } finally {
    dir.remove();
  }
});

connections('a closed server refuses to serve again; serveForever() twice is refused by name', async () => {
  const server: Server = await startServer(() => {}, HOST, 0);
  const forever = server.serveForever();
  try {
    assertError((await failureOf(() => server.serveForever())).error, Error, /is already being awaited on serveForever\(\)/, 'serveForever twice');
  } finally {
    server.close();
  }
  await within(forever, FAIL_WITHIN_MS);
  assertError((await failureOf(() => server.startServing())).error, Error, /server <Server sockets=\[\]> is closed/, 'startServing after close');
  assertError((await failureOf(() => server.serveForever())).error, Error, /is closed/, 'serveForever after close');
  await within(server.waitClosed(), FAIL_WITHIN_MS);
  assertError((await failureOf(() => socketpair({ kind: 'udp' as 'tcp' }))).error, RangeError, /kind must be 'unix' or 'tcp', got udp/, 'socketpair kind');
  inputsTried += 4;
});

connections.run();

const tally = suite('Bad input: coverage');

tally('tried well over a hundred bad inputs', () => {
  assert.ok(inputsTried >= 150, `${inputsTried} bad inputs tried`);
});

tally.run();
