/**
 * Reliability bugs that the specs of issue 6 found, each kept as the test that showed it
 * (numbered as they were reported; the third, an abandoned writer's socket left open, is
 * still open and described in the README's Reliability section).
 */
import { existsSync, readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  IncompleteReadError,
  LimitOverrunError,
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  StreamReader,
  StreamWriter,
} from '../lib/runtime/node.ts';
import { isPending, rawServer, rejection, sleep, tempDir, within } from './_loopback.ts';

const bugs = suite('Reliability regressions');

// 1. bounded-memory.spec.ts. StreamWriter's fast path (`transport.tryWrite`) hands a chunk of
// any size to an idle socket, bypassing the writable's byte-counting queue, so drain() resolves
// at once while megabytes are still queued in this process. CPython's drain() waits until the
// transport's buffer is under its high-water mark. Fix (lib/runtime/node/socket.ts,
// NodeSocket.tryWrite): also refuse a chunk that would take the socket past its mark,
//   `|| socket.writableLength + this.#batchBytes + chunk.byteLength > socket.writableHighWaterMark`
// so a large chunk goes through the writable, whose queue counts it until the socket drains.
bugs('drain() waits after one write larger than the high-water mark, while the peer does not read', async () => {
  const peer = await rawServer((socket) => socket.pause());
  try {
    const [, writer] = await openConnection('127.0.0.1', peer.port);
    writer.write(new Uint8Array(16 * 1024 * 1024));
    const draining = writer.drain();
    draining.catch(() => {});
    assert.ok(await isPending(draining, 100), 'drain() resolved with 16 MiB still queued in this process');
    writer.close();
  } finally {
    await peer.close();
  }
});

// 2. faults.spec.ts (abort suite). readline() tells its own readuntil() errors apart from the
// rest by class, so an abort whose reason is an IncompleteReadError makes readline() RESOLVE
// with the reason's `partial` (bytes that never came from the stream) and keep the buffer (read
// twice later); a LimitOverrunError reason makes it discard the buffer and throw a RangeError.
// API.md: "an abort rejects that call with the signal's reason and leaves every byte it had
// not returned in the buffer". Fix (lib/stream-reader.ts, #readlineWaiting): before the class
// checks, `if (signal?.aborted === true && error === signal.reason) throw error;`.
bugs('readline() aborted with an IncompleteReadError or LimitOverrunError reason rejects with it and keeps the bytes', async () => {
  for (const reason of [new IncompleteReadError(new TextEncoder().encode('forged'), null), new LimitOverrunError('forged', 1)]) {
    const reader = new StreamReader();
    reader.feedData(new TextEncoder().encode('abc'));
    const controller = new AbortController();
    const pending = reader.readline({ signal: controller.signal });
    await sleep(1);
    controller.abort(reason);
    assert.is(await rejection(pending), reason, `${reason.name}: rejects with the signal's reason`);
    assert.is(new TextDecoder().decode(reader._peekBuffer()), 'abc', `${reason.name}: the buffer is kept`);
  }
});

// 4. bad-input.spec.ts. A Unix socket path longer than the OS allows (108 bytes on Linux, 104
// on macOS, NUL included) is silently truncated by Node (documented for net): startUnixServer()
// listens on the truncated path, reports the long one in server.sockets, and leaves the
// truncated file behind after close(); openUnixConnection() connects to the truncated path,
// possibly someone else's server. CPython raises OSError('AF_UNIX path too long') for both.
// Fix (lib/_checks.ts, checkUnixConnection and checkUnixServer; UTF-8 length with
// TextEncoder, the core has no Buffer): refuse a path of 108 bytes or more (104 on darwin) with
// `Object.assign(new Error(`AF_UNIX path too long: ${path}`), { code: 'ENAMETOOLONG' })`.
bugs('a Unix socket path longer than the OS allows is refused, not truncated', async () => {
  const dir = tempDir();
  try {
    const long = dir.path('s'.repeat(150));
    let serverError: unknown = null;
    try {
      const server = await startUnixServer(() => {}, long);
      server.close();
      await server.waitClosed();
    } catch (error) {
      serverError = error;
    }
    const created = readdirSync(dir.path(''));
    assert.equal(created.map((name) => `${name.length}-byte name`), [], 'nothing was created');
    assert.match(String(serverError), /path too long/i);
    assert.not.ok(existsSync(long));
    assert.match(String(await rejection(openUnixConnection(long))), /path too long/i);
  } finally {
    dir.remove();
  }
});

// 5. bad-input.spec.ts. openUnixConnection('') attempts a TCP connection to localhost (Node
// takes an empty path for "no path") and fails with "connect ECONNREFUSED 127.0.0.1"; CPython
// fails on the Unix socket itself (OSError EINVAL). startUnixServer('') fails with Node's
// ERR_INVALID_ARG_VALUE about `options`. Fix (lib/_checks.ts): refuse an empty path
// in checkUnixConnection/checkUnixServer: `RangeError('path must not be empty')`.
bugs('an empty Unix socket path is refused by name, without a TCP attempt', async () => {
  for (const attempt of [() => openUnixConnection(''), () => startUnixServer(() => {}, '')]) {
    const error = await rejection(attempt());
    assert.ok(error instanceof RangeError, String(error));
    assert.match((error as Error).message, /path/);
    assert.not.match((error as Error).message, /127\.0\.0\.1|options/);
  }
});

// 6. bad-input.spec.ts. writelines() of something that is not iterable but has no length
// (a number, a boolean, a plain object) writes nothing and throws nothing: `Array.from(5)` is
// `[]`. CPython: TypeError("'int' object is not iterable"). Fix (lib/stream-writer.ts,
// writelines): check `typeof lines?.[Symbol.iterator] === 'function'` first, else
// `TypeError(`writelines() needs an iterable of Uint8Array or string, got ${typeof lines}`)`.
bugs('writelines() of a number, a boolean or a plain object throws a TypeError', async () => {
  for (const lines of [5, true, {}]) {
    const writer = StreamWriter.from(new WritableStream<Uint8Array>());
    let error: unknown = null;
    try {
      writer.writelines(lines as unknown as string[]);
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof TypeError, `writelines(${JSON.stringify(lines)}) did not throw`);
    assert.match((error as Error).message, /iterable/);
  }
});

// 7. bad-input.spec.ts. openConnection/startServer say "Limit must be a number, got number"
// for `limit: NaN`; StreamReader's own check says "got NaN". Fix (lib/_checks.ts,
// checkLimit): `got ${typeof limit === 'number' ? limit : typeof limit}`.
bugs('a NaN limit is named as NaN by openConnection and startServer', async () => {
  assert.match(String(await rejection(openConnection('127.0.0.1', 1, { limit: NaN }))), /got NaN/);
  assert.match(String(await rejection(startServer(() => {}, '127.0.0.1', 0, { limit: NaN }))), /got NaN/);
});

// 8. bad-input.spec.ts. serveForever({ signal: 'x' }) fails with "signal?.throwIfAborted is not
// a function". Fix (lib/server.ts, serveForever): check it as every other signal option is,
// `TypeError('The signal option must be an AbortSignal')`.
bugs('serveForever() names a signal that is not an AbortSignal', async () => {
  const server = await startServer(() => {}, '127.0.0.1', 0);
  try {
    const error = await rejection(server.serveForever({ signal: 'x' as unknown as AbortSignal }));
    assert.match(String(error), /signal option must be an AbortSignal/);
  } finally {
    server.close();
    await server.waitClosed();
  }
});

// 9. bad-input.spec.ts. setException(undefined) makes every later read reject with
// `undefined` (the checks are `!== null`), and exception() returns undefined. In CPython,
// set_exception(None) stores None, which means "no exception": reads go on. Fix
// (lib/stream-reader.ts, setException): store `error ?? null`, so undefined is None too.
bugs('setException(undefined) is "no exception", as set_exception(None) is', async () => {
  const reader = new StreamReader();
  reader.feedData(new TextEncoder().encode('abc\n'));
  reader.setException(undefined);
  assert.is(reader.exception(), null);
  assert.is(new TextDecoder().decode(await within(reader.readline(), 1000)), 'abc\n');
});

bugs.run();
