import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader, StreamWriter } from '../lib/index.ts';
import { bytes, isPending, rejection, text, thrown, tick, watchUnhandled, within } from './_loopback.ts';

/** A byte-counted writable whose sink records chunks and can be held to build a queue. */
function sink(highWaterMark = 64) {
  const chunks: Uint8Array[] = [];
  let release: (() => void) | null = null;
  let held = false;
  let closed = false;
  let aborted: unknown = null;
  const writable = new WritableStream<Uint8Array>(
    {
      write: (chunk) => {
        chunks.push(chunk);
        if (!held) return undefined;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      close: () => {
        closed = true;
      },
      abort: (reason) => {
        aborted = reason;
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark }),
  );
  return {
    writable,
    chunks,
    written: () => chunks.map(text).join(''),
    hold: () => void (held = true),
    /** Lets every write through from now on. */
    flow() {
      held = false;
      const next = release;
      release = null;
      next?.();
    },
    get closed() {
      return closed;
    },
    get aborted() {
      return aborted;
    },
  };
}

/** A transport with `closed`, `close()` and extra info, for the writer's transport paths. */
function fakeTransport(extra: Record<string, unknown> = {}) {
  let settle!: (error: unknown) => void;
  const closed = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === null ? resolve() : reject(error));
  });
  closed.catch(() => {});
  const calls: string[] = [];
  return {
    calls,
    closed,
    die: (error: unknown) => settle(error),
    close(reason?: unknown) {
      calls.push(`close ${String(reason)}`);
      settle(null);
      return closed;
    },
    getExtraInfo: (name: string) => extra[name],
  };
}

const write = suite('StreamWriter write');

write('queues bytes and strings (as UTF-8), in order', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  writer.write(bytes('abc'));
  writer.write('é€\n');
  await writer.drain();
  await tick();
  assert.is(s.written(), 'abcé€\n');
  assert.ok(s.chunks.length <= 2, 'the writes of one turn go as one chunk (two where the shared pool ran out)');
  assert.equal([...s.chunks.at(-1)!.subarray(s.chunks.length === 1 ? 3 : 0)], [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0x0a]);
});

write('writers that have not written yet share nothing: each stream gets only its own writer\'s bytes', async () => {
  const [first, second, idle] = [sink(), sink(), sink()];
  const writers = [StreamWriter.from(first.writable), StreamWriter.from(second.writable), StreamWriter.from(idle.writable)];
  writers[0]!.write('first');
  writers[1]!.write('second');
  await Promise.all(writers.map((writer) => writer.drain()));
  await tick();
  assert.equal([first.written(), second.written(), idle.written()], ['first', 'second', '']);
});

/**
 * A writable that hands each chunk to a byte stream, as an in-memory socket pair does:
 * `enqueue()` transfers the chunk's buffer (it is detached from then on).
 */
function bytePipe(): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array<ArrayBuffer>> } {
  let controller!: ReadableByteStreamController;
  const readable = new ReadableStream({ type: 'bytes', start: (c) => void (controller = c) });
  const writable = new WritableStream<Uint8Array<ArrayBuffer>>({
    write: (chunk) => controller.enqueue(chunk),
    close: () => controller.close(),
  });
  return { readable, writable };
}

write("a writable that takes its chunks' buffers (a byte stream's enqueue) gets buffers of its own: no bytes of this writer or another are lost", async () => {
  const watch = watchUnhandled();
  const pipe = bytePipe();
  const other = sink();
  const [piped, bystander] = [StreamWriter.from(pipe.writable), StreamWriter.from(other.writable)];
  const received = new Response(pipe.readable).text();
  for (const word of ['hello ', 'world', '!']) {
    piped.write(word);
    bystander.write(word.toUpperCase());
    await piped.drain();
    await bystander.drain();
  }
  piped.close();
  await within(piped.waitClosed());
  assert.is(await within(received), 'hello world!');
  await tick();
  assert.is(other.written(), 'HELLO WORLD!');
  await watch.stop();
});

write("a transport not the library's whose tryWrite() transfers its chunks' buffers gets buffers of its own", async () => {
  const watch = watchUnhandled();
  const taken: Uint8Array[] = [];
  const transport = {
    tryWrite(chunk: Uint8Array) {
      taken.push(structuredClone(chunk, { transfer: [chunk.buffer as ArrayBuffer] }));
      return true;
    },
  };
  const other = sink();
  const [direct, bystander] = [StreamWriter.from(sink().writable, { transport: transport as never }), StreamWriter.from(other.writable)];
  for (const word of ['one', 'two', 'three']) {
    direct.write(word);
    direct.write(' ');
    bystander.write(word.toUpperCase());
    await direct.drain();
    await bystander.drain();
  }
  await tick();
  assert.is(taken.map(text).join(''), 'one two three ');
  assert.is(other.written(), 'ONETWOTHREE');
  await watch.stop();
});

write('does nothing for empty data', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  writer.write('');
  writer.write(new Uint8Array(0));
  await tick();
  assert.is(s.chunks.length, 0);
});

write('throws a TypeError at once for anything but bytes or a string', () => {
  const writer = StreamWriter.from(sink().writable);
  for (const bad of [42, null, undefined, {}, [1, 2], new ArrayBuffer(2)]) {
    const error = thrown(() => writer.write(bad as never)) as Error;
    assert.instance(error, TypeError);
    assert.match(error.message, /data argument must be a Uint8Array or a string/);
  }
});

write('throws after writeEof(), with CPython\'s message adapted', () => {
  const writer = StreamWriter.from(sink().writable);
  writer.writeEof();
  assert.is((thrown(() => writer.write('x')) as Error).message, 'Cannot call write() after writeEof()');
  assert.is((thrown(() => writer.writelines(['x'])) as Error).message, 'Cannot call writelines() after writeEof()');
});

write('throws after close()', () => {
  const writer = StreamWriter.from(sink().writable);
  writer.close();
  assert.is((thrown(() => writer.write('x')) as Error).message, 'Cannot call write() after close()');
});

write('drops writes silently once the connection is lost (CPython), drain() raising instead', async () => {
  const watch = watchUnhandled();
  const transport = fakeTransport();
  const s = sink();
  const writer = StreamWriter.from(s.writable, { transport });
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  transport.die(reset);
  await tick();
  writer.write('lost');
  assert.is(await rejection(writer.drain()), reset);
  await watch.stop();
});

write.run();

const writelines = suite('StreamWriter writelines');

writelines('queues every chunk in order', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  writer.writelines(['line1\n', bytes('line2\n'), '', 'line3\n']);
  await tick();
  assert.is(s.written(), 'line1\nline2\nline3\n');
});

writelines('checks every chunk before queueing any', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  assert.instance(thrown(() => writer.writelines(['ok', 7 as never])), TypeError);
  await tick();
  assert.is(s.chunks.length, 0);
});

writelines('accepts any iterable', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  writer.writelines((function* () {
    yield 'a';
    yield 'b';
  })());
  await tick();
  assert.is(s.written(), 'ab');
});

writelines.run();

const drain = suite('StreamWriter drain');

drain('resolves at once while the queue is under its high-water mark', async () => {
  const s = sink(64);
  const writer = StreamWriter.from(s.writable);
  writer.write('small');
  assert.is(await isPending(writer.drain(), 0), false);
});

drain('waits while the queue is over its high-water mark, then resolves', async () => {
  const s = sink(8);
  s.hold();
  const writer = StreamWriter.from(s.writable);
  writer.write('0123456789');
  writer.write('abcdefghij');
  const drained = writer.drain();
  assert.ok(await isPending(drained), 'drain waits');
  s.flow();
  await within(drained);
  assert.is(s.written(), '0123456789abcdefghij');
});

drain('lets any number of callers wait together (gh-74116)', async () => {
  const s = sink(4);
  s.hold();
  const writer = StreamWriter.from(s.writable);
  writer.write('0123456789');
  const drains = Array.from({ length: 10 }, () => writer.drain());
  assert.ok(await isPending(drains[9]!));
  setTimeout(() => s.flow(), 100);
  await within(Promise.all(drains));
});

drain('raises the reader\'s stored exception first', async () => {
  const reader = new StreamReader();
  const writer = StreamWriter.from(sink().writable, { reader });
  const error = new Error('boom');
  reader.setException(error);
  assert.is(await rejection(writer.drain()), error);
});

drain('yields once then raises a connection-lost error when closing (test 67, bpo-25441)', async () => {
  const writer = StreamWriter.from(sink().writable);
  writer.close();
  const drained = writer.drain();
  let settledSync = false;
  drained.then(() => (settledSync = true), () => (settledSync = true));
  await Promise.resolve();
  assert.is(settledSync, false, 'it yields first');
  const error = (await rejection(drained)) as NodeJS.ErrnoException;
  assert.is(error.message, 'Connection lost');
  assert.is(error.code, 'ECONNRESET');
});

drain('a writable that failed makes the writer closing, and drain() yields a turn before it raises its error', async () => {
  // A loop of write(); try { await drain() } catch {} against a dead peer must end, and let the
  // event loop run meanwhile (the 'close' that tells of the loss comes from there).
  const reset = Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET' });
  // The transport has not told of the loss yet (a socket's 'close' comes from the event loop).
  const failing = () =>
    StreamWriter.from(new WritableStream<Uint8Array>({ write: () => Promise.reject(reset) }), { transport: fakeTransport() });
  const looping = failing();
  let failures = 0;
  for (let round = 0; round < 100 && !looping.isClosing(); round++) {
    looping.write('data');
    await looping.drain().catch(() => failures++);
  }
  assert.ok(looping.isClosing(), 'the loop ends: the writer is closing');
  assert.ok(failures <= 2, `${failures} failed drains before the loop ended`);

  const writer = failing();
  writer.write('data');
  await tick();
  assert.ok(writer.isClosing(), 'closing once the writable failed');
  let timerRan = false;
  setTimeout(() => (timerRan = true), 0);
  assert.is(await rejection(writer.drain()), reset, 'the error the writable failed with');
  assert.ok(timerRan, 'drain() let the event loop run before it raised');
});

drain('raises the error the connection died of', async () => {
  const transport = fakeTransport();
  const writer = StreamWriter.from(sink().writable, { transport });
  const pipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  transport.die(pipe);
  await tick();
  assert.is(writer.isClosing(), true);
  assert.is(await rejection(writer.drain()), pipe);
});

drain('resolves once nothing is queued, even over a writable whose high-water mark is 0', async () => {
  const written: string[] = [];
  const writable = new WritableStream<Uint8Array>({ write: (chunk) => void written.push(text(chunk)) }, { highWaterMark: 0 });
  const writer = StreamWriter.from(writable);
  await within(writer.drain());
  writer.write('x');
  await tick();
  await within(writer.drain());
  assert.equal(written, ['x']);
});

drain('over a high-water mark of 0, waits for the queued writes to go through, then resolves', async () => {
  let release!: () => void;
  const written: string[] = [];
  const writable = new WritableStream<Uint8Array>({
    write: async (chunk) => {
      await new Promise<void>((resolve) => (release = resolve));
      written.push(text(chunk));
    },
  }, { highWaterMark: 0 });
  const writer = StreamWriter.from(writable);
  writer.write('a');
  await tick();
  writer.write('b');
  const drained = writer.drain();
  assert.ok(await isPending(drained), 'drain waits for the sink');
  release();
  await tick();
  assert.ok(await isPending(drained), 'and for the second chunk');
  release();
  await within(drained);
  assert.equal(written, ['a', 'b']);
});

drain('rejects with the writable\'s error once it errors', async () => {
  const watch = watchUnhandled();
  const error = new Error('sink failed');
  const writable = new WritableStream<Uint8Array>({
    write: () => {
      throw error;
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 1 }));
  const writer = StreamWriter.from(writable);
  writer.write('x');
  await tick();
  assert.is(await rejection(writer.drain()), error);
  await watch.stop();
});

drain.run();

const eof = suite('StreamWriter writeEof');

eof('closes the writable once the queue is out, and is idempotent', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  assert.is(writer.canWriteEof(), true);
  writer.write('last');
  writer.writeEof();
  writer.writeEof();
  await tick();
  assert.is(s.closed, true);
  assert.is(s.written(), 'last');
  assert.is(writer.isClosing(), false);
});

eof('throws where the transport cannot half-close', () => {
  const writer = StreamWriter.from(sink().writable, { transport: { canWriteEof: () => false } });
  assert.is(writer.canWriteEof(), false);
  assert.match((thrown(() => writer.writeEof()) as Error).message, /cannot half-close/);
});

eof.run();

const close = suite('StreamWriter close');

close('is closing at once, flushes, then closes the transport; waitClosed waits for it', async () => {
  const s = sink(8);
  s.hold();
  const transport = fakeTransport();
  const writer = StreamWriter.from(s.writable, { transport });
  writer.write('queued bytes');
  assert.is(writer.isClosing(), false);
  writer.close();
  writer.close();
  assert.is(writer.isClosing(), true);
  const closed = writer.waitClosed();
  assert.ok(await isPending(closed));
  assert.equal(transport.calls, [], 'the transport stays open until the queue is out');
  s.flow();
  await within(closed);
  assert.is(s.written(), 'queued bytes');
  assert.equal(transport.calls, ['close undefined']);
});

close('without a transport, closes the writable and waitClosed follows it', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  writer.close();
  await within(writer.waitClosed());
  assert.is(s.closed, true);
});

close('waitClosed rejects with the error the connection died of, every time', async () => {
  const transport = fakeTransport();
  const writer = StreamWriter.from(sink().writable, { transport });
  const reset = new Error('reset');
  transport.die(reset);
  assert.is(await rejection(writer.waitClosed()), reset);
  assert.is(await rejection(writer.waitClosed()), reset);
});

close.run();

const info = suite('StreamWriter getExtraInfo and transport');

info('answers from extra, then from the transport, else the default', () => {
  const transport = fakeTransport({ peername: ['127.0.0.1', 1], socket: 'raw' });
  const writer = StreamWriter.from(sink().writable, { transport, extra: { peername: ['::1', 2] } });
  assert.equal(writer.getExtraInfo('peername'), ['::1', 2]);
  assert.is(writer.getExtraInfo('socket'), 'raw');
  assert.is(writer.getExtraInfo('sslcontext'), null);
  assert.is(writer.getExtraInfo('sslcontext', null), null);
  assert.is(writer.getExtraInfo('nope', 5), 5);
  assert.is(writer.transport, transport);
  writer.close();
});

info('has no transport for a bare writable', () => {
  const writer = StreamWriter.from(sink().writable);
  assert.is(writer.transport, null);
  assert.is(writer.getExtraInfo('peername'), null);
});

info('refuses what is not a WritableStream, and a locked one', () => {
  assert.instance(thrown(() => StreamWriter.from({} as never)), TypeError);
  const s = sink();
  s.writable.getWriter();
  assert.instance(thrown(() => StreamWriter.from(s.writable)), TypeError);
});

info('reads like CPython\'s repr', () => {
  const reader = new StreamReader();
  const writer = StreamWriter.from(sink().writable, { reader, transport: { toString: () => '<Transport>' } });
  assert.is(String(writer), '<StreamWriter transport=<Transport> reader=<StreamReader>>');
  assert.is(String(StreamWriter.from(sink().writable)), '<StreamWriter>');
});

info.run();

const writable = suite('StreamWriter writable');

writable('takes a pipeTo, writing through the writer, and its end is writeEof()', async () => {
  const s = sink(16);
  const writer = StreamWriter.from(s.writable);
  writer.write('head:');
  const source = new Response('a body longer than the high-water mark of the sink').body!;
  await within(source.pipeTo(writer.writable));
  assert.is(s.written(), 'head:a body longer than the high-water mark of the sink');
  assert.is(s.closed, true);
  assert.is((thrown(() => writer.write('x')) as Error).message, 'Cannot call write() after writeEof()');
});

writable('aborting it closes the transport', async () => {
  const transport = fakeTransport();
  const writer = StreamWriter.from(sink().writable, { transport });
  await writer.writable.abort(new Error('stop'));
  assert.equal(transport.calls, ['close Error: stop']);
  assert.is(writer.isClosing(), true);
});

writable("aborting it while a write waits for the drain (a peer that does not read) ends the write and closes the transport", async () => {
  const transport = fakeTransport();
  const s = sink(4);
  s.hold();
  const writer = StreamWriter.from(s.writable, { transport });
  const proxy = writer.writable.getWriter();
  const written = proxy.write(bytes('more than the mark'));
  written.catch(() => {});
  await tick();
  assert.ok(await isPending(written), 'the write waits for the drain');
  const reason = new Error('give up');
  await within(proxy.abort(reason), 1000, 'abort() while a write waits');
  assert.is(await rejection(written), reason);
  assert.equal(transport.calls, ['close Error: give up']);
  assert.is(writer.isClosing(), true);
});

writable("pipeTo() with a signal waits, as the Streams standard says, for its write in flight; once that is taken the pipe ends with the signal's reason and closes the transport", async () => {
  const watch = watchUnhandled();
  const transport = fakeTransport();
  const s = sink(4);
  s.hold();
  const writer = StreamWriter.from(s.writable, { transport });
  const source = new ReadableStream<Uint8Array>({ pull: (controller) => controller.enqueue(bytes('chunk after chunk')) });
  const stop = new AbortController();
  const piping = source.pipeTo(writer.writable, { signal: stop.signal });
  piping.catch(() => {});
  await tick();
  const reason = new Error('timed out');
  stop.abort(reason);
  assert.ok(await isPending(piping), 'the pipe waits for the write the peer has not taken');
  s.flow();
  assert.is(await within(rejection(piping), 1000, 'the pipe once its write was taken'), reason);
  assert.equal(transport.calls, ['close Error: timed out']);
  await watch.stop();
});

writable('aborting it aborts a bare writable', async () => {
  const s = sink();
  const writer = StreamWriter.from(s.writable);
  const reason = new Error('stop');
  await writer.writable.abort(reason);
  assert.is(s.aborted, reason);
});

writable.run();

const fast = suite('StreamWriter tryWrite fast path');

fast('sends straight to the transport while nothing is queued, and keeps the order when it refuses', async () => {
  const order: string[] = [];
  let room = 1;
  const transport = {
    tryWrite(chunk: Uint8Array) {
      if (room === 0) return false;
      room -= 1;
      order.push(`direct ${text(chunk)}`);
      return true;
    },
  };
  let release!: () => void;
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => {
      order.push(`queued ${text(chunk)}`);
      if (text(chunk) === 'b') return new Promise<void>((resolve) => (release = resolve));
      return undefined;
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 1024 }));
  const writer = StreamWriter.from(writable, { transport });
  writer.write('a');
  await tick();
  writer.write('b');
  await tick();
  assert.equal(order, ['direct a', 'queued b'], 'b goes through the writable once the transport refuses it');
  writer.write('c');
  room = 5;
  await tick();
  assert.equal(order, ['direct a', 'queued b'], 'c waits behind b, though the transport has room again');
  release();
  await tick();
  assert.equal(order, ['direct a', 'queued b', 'direct c']);
});

fast('writes of one turn reach the transport gathered, in chunks of up to 64 KiB, after the first', async () => {
  const chunks: string[] = [];
  const transport = {
    tryWrite(chunk: Uint8Array) {
      chunks.push(text(chunk));
      return true;
    },
  };
  const writer = StreamWriter.from(new WritableStream<Uint8Array>(), { transport });
  for (let i = 0; i < 1000; i += 1) writer.write(`${i % 10}`);
  assert.equal(chunks, ['0'], 'the first write goes at once, the rest wait for the end of the turn');
  await tick();
  // The first, then one chunk, or two where the shared pool ran out on the way.
  assert.ok(chunks.length <= 3, `${chunks.length} chunks`);
  assert.is(chunks.join(''), '0123456789'.repeat(100));
  chunks.length = 0;
  const line = '0123456789'.repeat(10);
  for (let i = 0; i < 2000; i += 1) writer.write(line);
  await tick();
  assert.is(chunks.join(''), line.repeat(2000));
  // The first, then 200,000 bytes in 64 KiB chunks: 4, or 5 where the shared pool was part used already.
  assert.ok(chunks.length <= 6 && chunks.every((chunk) => chunk.length <= 65536), `${chunks.length} chunks`);
});

fast('after drain(), the next write goes to the transport at once, a copy of the caller\'s bytes', async () => {
  const chunks: Uint8Array[] = [];
  const transport = {
    tryWrite(chunk: Uint8Array) {
      chunks.push(chunk);
      return true;
    },
  };
  const writer = StreamWriter.from(new WritableStream<Uint8Array>(), { transport });
  const reply = bytes('HTTP/1.1 200 OK\r\n\r\n');
  for (let i = 0; i < 3; i += 1) {
    writer.write(reply);
    assert.is(chunks.length, i + 1, `reply ${i + 1} is the transport's before write() returns`);
    await writer.drain();
  }
  reply.fill(0);
  assert.equal(chunks.map(text), Array(3).fill('HTTP/1.1 200 OK\r\n\r\n'), 'the transport holds copies');
  writer.write('a');
  writer.write('b');
  assert.equal(chunks.slice(3).map(text), ['a'], 'a second write before drain() waits for the end of the turn');
  await writer.drain();
  assert.equal(chunks.slice(3).map(text), ['a', 'b']);
});

fast.run();
