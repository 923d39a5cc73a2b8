import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteBuffer } from '../lib/_byte-buffer.ts';
import { FIRST_READ_SIZE, MAX_READ_SIZE, PULL_SIZE, PullSource, type PullTarget } from '../lib/_pull-source.ts';
import { offerSocketRead, type ClaimedReadable } from '../lib/_socket-reads.ts';
import { ReadableStream as PolyfillReadableStream } from 'web-streams-polyfill';

const pump = suite('PullSource');

const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const buffered = (buffer: ByteBuffer): string => text(buffer.bytes.subarray(buffer.start, buffer.end));

type Outcome = 'arrived' | 'ended' | { failed: unknown };

/** A target that records what the source tells it; `next()` waits for the next of it. */
function recordingTarget(): PullTarget & { appended: string[]; next(): Promise<Outcome> } {
  const buffer = new ByteBuffer(PULL_SIZE);
  const appended: string[] = [];
  let tell: ((outcome: Outcome) => void) | null = null;
  const told = (outcome: Outcome): void => {
    const waiting = tell;
    tell = null;
    waiting?.(outcome);
  };
  return {
    buffer,
    appended,
    toDirect: () => 0,
    append(data) {
      appended.push(text(data));
      buffer.append(data);
    },
    arrived: () => told('arrived'),
    ended: () => told('ended'),
    failed: (error) => told({ failed: error }),
    next: () => new Promise((resolve) => (tell = resolve)),
  };
}

/** Starts one read of `source` and resolves with what `target` is told of it. */
function pulled(source: PullSource, target: ReturnType<typeof recordingTarget>): Promise<Outcome> {
  const outcome = target.next();
  source.pull();
  return outcome;
}

/** A default stream of `chunks` that counts the reads asked of it (no read ahead). */
function countedStream(chunks: unknown[]): { stream: ReadableStream<Uint8Array>; pulls(): number } {
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulls++;
        const chunk = chunks.shift();
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk as Uint8Array);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulls: () => pulls };
}

/** A byte stream that answers each BYOB read with the next of `chunks`; each read's size goes to `sizes`. */
function byteStream(chunks: string[], sizes: number[] = []): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      sizes.push(controller.byobRequest!.view!.byteLength);
      const chunk = chunks.shift();
      if (chunk === undefined) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const view = controller.byobRequest!.view!;
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(bytes(chunk));
      controller.byobRequest!.respond(chunk.length);
    },
  });
}

pump('reads only when pulled, one read at a time, and says when bytes arrived', async () => {
  const { stream, pulls } = countedStream([bytes('ab'), bytes('cd')]);
  const target = recordingTarget();
  const source = new PullSource(stream, target);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.is(pulls(), 0, 'nothing read before a pull');
  const outcome = target.next();
  source.pull();
  source.pull(); // a read is in flight: no second one
  assert.is(await outcome, 'arrived');
  assert.equal(target.appended, ['ab']);
  assert.is(pulls(), 1);
  assert.ok(stream.locked, 'the source holds the stream');
});

pump('skips empty chunks, ends at the end of the stream, fails on its error or on a chunk that is not bytes', async () => {
  const empty = recordingTarget();
  const ends = new PullSource(countedStream([new Uint8Array(0), bytes('x')]).stream, empty);
  let outcome = empty.next();
  ends.pull();
  assert.is(await outcome, 'arrived');
  assert.equal(empty.appended, ['x'], 'one read, past the empty chunk');
  outcome = empty.next();
  ends.pull();
  assert.is(await outcome, 'ended');

  const failure = new Error('reset');
  const erroring = recordingTarget();
  const stream = new ReadableStream<Uint8Array>({ pull: (controller) => controller.error(failure) });
  outcome = erroring.next();
  new PullSource(stream, erroring).pull();
  assert.equal(await outcome, { failed: failure });

  const strings = recordingTarget();
  outcome = strings.next();
  new PullSource(countedStream(['text']).stream, strings).pull();
  const { failed } = (await outcome) as { failed: Error };
  assert.instance(failed, TypeError);
  assert.match(failed.message, /The stream gave a string, not a Uint8Array/);
});

pump('a first read waits with small storage, copied in; later reads land in storage swapped into the empty buffer, or appended to bytes buffered', async () => {
  const sizes: number[] = [];
  const target = recordingTarget();
  const source = new PullSource(byteStream(['zero', 'first', 'second'], sizes), target);
  assert.is(await pulled(source, target), 'arrived');
  assert.equal(target.appended, ['zero']);
  assert.equal(sizes, [FIRST_READ_SIZE]);
  target.buffer.consume(4);
  const storage = target.buffer.bytes;
  assert.is(await pulled(source, target), 'arrived');
  assert.equal(target.appended, ['zero'], 'no copy: the storage the read filled is the buffer now');
  assert.is.not(target.buffer.bytes, storage);
  assert.is(target.buffer.bytes.length, PULL_SIZE);
  assert.is(buffered(target.buffer), 'first');
  assert.is(await pulled(source, target), 'arrived');
  assert.equal(target.appended, ['zero', 'second'], 'the buffered bytes stay where they are');
  assert.is(buffered(target.buffer), 'firstsecond');
  assert.equal(sizes, [FIRST_READ_SIZE, PULL_SIZE, PULL_SIZE], 'the small storage is not kept');
});

pump('at the end of the stream goes on with the stream continueWith() names, instead of ending', async () => {
  const first = countedStream([bytes('plain')]).stream;
  const second = countedStream([bytes('secure')]).stream;
  const target = recordingTarget();
  const source = new PullSource(first, target);
  source.continueWith(() => second);
  let outcome = target.next();
  source.pull();
  assert.is(await outcome, 'arrived');
  outcome = target.next();
  source.pull();
  assert.is(await outcome, 'arrived');
  assert.equal(target.appended, ['plain', 'secure']);
  assert.not.ok(first.locked, 'the first stream is let go');
  assert.ok(second.locked);
  outcome = target.next();
  source.pull();
  assert.is(await outcome, 'ended', 'once: the next stream ends for good');
});

pump("reads with the socket's own read while it gives bytes, into storage swapped in; then with the stream", async () => {
  const stream = byteStream(['from the stream']);
  const own = ['first', 'second', 'third'];
  const views: Uint8Array[] = [];
  offerSocketRead(stream, {
    async _readInto(view) {
      views.push(view);
      const chunk = own.shift();
      if (chunk === undefined) return 0;
      view.set(bytes(chunk));
      return chunk.length;
    },
  });
  const target = recordingTarget();
  const source = new PullSource(stream, target);
  assert.ok(stream.locked, 'the stream is locked all the same');
  assert.is(await pulled(source, target), 'arrived');
  assert.equal(target.appended, ['first'], 'a first read is small, and copied in');
  assert.is(views[0]!.byteLength, FIRST_READ_SIZE);
  target.buffer.consume(5);
  assert.is(await pulled(source, target), 'arrived');
  assert.equal(target.appended, ['first'], 'no copy: the storage the read filled is the buffer now');
  assert.is(target.buffer.bytes, views[1], 'read straight into storage of the source, not through the stream');
  assert.is(buffered(target.buffer), 'second');
  assert.is(await pulled(source, target), 'arrived');
  assert.equal(target.appended, ['first', 'third'], 'appended to the bytes buffered');
  assert.is(await pulled(source, target), 'arrived', 'the socket read gave nothing: the stream is read');
  assert.equal(target.appended, ['first', 'third', 'from the stream']);
  assert.is(await pulled(source, target), 'ended');
  assert.is(views.length, 4, 'the socket read is not asked again once it gave nothing');
});

pump("once the socket's own read gives nothing, the stream tells of an error or the next stream", async () => {
  const failure = new Error('reset');
  const erroring = new ReadableStream<Uint8Array>({ type: 'bytes', start: (controller) => controller.error(failure) });
  offerSocketRead(erroring, { _readInto: async () => 0 });
  const failed = recordingTarget();
  let outcome = failed.next();
  new PullSource(erroring, failed).pull();
  assert.equal(await outcome, { failed: failure });

  const plain = byteStream([]);
  offerSocketRead(plain, { _readInto: async () => 0 });
  const target = recordingTarget();
  const source = new PullSource(plain, target);
  source.continueWith(() => countedStream([bytes('secure')]).stream);
  outcome = target.next();
  source.pull();
  assert.is(await outcome, 'arrived');
  assert.equal(target.appended, ['secure']);
});

/**
 * A socket's readable side claimed whole: its own read gives `own`, one a read, then nothing;
 * `_claimedReader()` makes `stream()` then and locks it. `made()` says whether it was.
 */
function claimedSocket(own: string[], stream: () => ReadableStream<Uint8Array>): ClaimedReadable & { made(): ReadableStream<Uint8Array> | null; reads(): number } {
  let made: ReadableStream<Uint8Array> | null = null;
  let reader: ReadableStreamBYOBReader | null = null;
  let reads = 0;
  return {
    async _readInto(view) {
      reads++;
      const chunk = own.shift();
      if (chunk === undefined) return 0;
      view.set(bytes(chunk));
      return chunk.length;
    },
    _claimedReader() {
      made ??= stream();
      reader ??= made.getReader({ mode: 'byob' });
      return reader;
    },
    made: () => made,
    reads: () => reads,
  };
}

pump("a claimed socket is read with its own read, and its stream made and locked only once that read gives nothing, to tell the end", async () => {
  const socket = claimedSocket(['first', 'second'], () => byteStream([]));
  const target = recordingTarget();
  const source = new PullSource(socket, target);
  assert.is(await pulled(source, target), 'arrived');
  assert.is(await pulled(source, target), 'arrived');
  assert.is(buffered(target.buffer), 'firstsecond');
  assert.is(socket.made(), null, 'no stream while the socket read gives bytes');
  assert.is(await pulled(source, target), 'ended');
  assert.ok(socket.made()?.locked, 'made to tell how reading ended, and locked');
  assert.is(socket.reads(), 3);
});

pump("once a claimed socket's own read gives nothing, its stream tells of an error, or the stream continueWith() names follows", async () => {
  const failure = new Error('reset');
  const failing = claimedSocket([], () => new ReadableStream<Uint8Array>({ type: 'bytes', start: (controller) => controller.error(failure) }));
  const failed = recordingTarget();
  assert.equal(await pulled(new PullSource(failing, failed), failed), { failed: failure });

  const upgraded = claimedSocket(['plain'], () => byteStream([]));
  const target = recordingTarget();
  const source = new PullSource(upgraded, target);
  source.continueWith(() => countedStream([bytes('secure')]).stream);
  assert.is(await pulled(source, target), 'arrived');
  assert.is(await pulled(source, target), 'arrived');
  assert.equal(target.appended, ['plain', 'secure'], 'the plain bytes, then the next stream\'s');
  assert.is(buffered(target.buffer), 'plainsecure');
  assert.is(upgraded.made()?.locked, false, 'made at its end, then let go');
});

pump("cancel() of a claimed socket makes and locks its stream to cancel it, with the reason, and reads nothing", async () => {
  let reason: unknown = null;
  const socket = claimedSocket(['unread'], () => new ReadableStream<Uint8Array>({ type: 'bytes', cancel: (why) => void (reason = why) }));
  await new PullSource(socket, recordingTarget()).cancel('done');
  assert.is(reason, 'done');
  assert.ok(socket.made()?.locked);
  assert.is(socket.reads(), 0);
});

pump('a byte source that closes while a BYOB read waits, without answering it, ends the read (native and polyfill streams)', async () => {
  // An event-style source (enqueue on data, close() at the end) never calls respond(0): the
  // Streams standard then leaves a pending BYOB read pending for good.
  for (const Stream of [ReadableStream, PolyfillReadableStream as unknown as typeof ReadableStream]) {
    let controller!: ReadableByteStreamController;
    const stream = new Stream({ type: 'bytes', start: (c: ReadableByteStreamController) => void (controller = c) });
    const target = recordingTarget();
    const source = new PullSource(stream as ReadableStream<Uint8Array>, target);
    let outcome = target.next();
    source.pull();
    controller.enqueue(bytes('tail'));
    assert.is(await outcome, 'arrived');
    outcome = target.next();
    source.pull();
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.close();
    assert.is(await Promise.race([outcome, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 1000))]), 'ended');
    assert.is(buffered(target.buffer), 'tail');
  }
});

pump('the end of a stream it went on from does not end the next one, whose read waits', async () => {
  let next!: ReadableByteStreamController;
  const first = new ReadableStream({ type: 'bytes', pull: (controller) => (controller.close(), controller.byobRequest?.respond(0)) });
  const second = new ReadableStream({ type: 'bytes', start: (controller) => void (next = controller) });
  const target = recordingTarget();
  const source = new PullSource(first, target);
  source.continueWith(() => second);
  const outcome = target.next();
  source.pull();
  // The first stream's end is heard of a turn later, while the second one's read waits.
  await new Promise((resolve) => setTimeout(resolve, 20));
  next.enqueue(bytes('after the first'));
  assert.is(await outcome, 'arrived');
});

pump('cancel() cancels the stream being read, with the reason', async () => {
  let reason: unknown = null;
  const stream = new ReadableStream<Uint8Array>({ cancel: (why) => void (reason = why) });
  await new PullSource(stream, recordingTarget()).cancel('done');
  assert.is(reason, 'done');
});

pump('refuses a locked stream', () => {
  const stream = new ReadableStream<Uint8Array>();
  stream.getReader();
  assert.throws(() => new PullSource(stream, recordingTarget()), TypeError);
});

pump('a read that asks for more than PULL_SIZE reads that many at once, at most MAX_READ_SIZE, into storage swapped in whole', async () => {
  const views: Uint8Array[] = [];
  const stream = byteStream([]);
  offerSocketRead(stream, {
    async _readInto(view) {
      views.push(view);
      view.fill(0x61);
      return view.byteLength;
    },
  });
  const target = recordingTarget();
  const source = new PullSource(stream, target);
  let outcome = target.next();
  source.pull(65536);
  assert.is(await outcome, 'arrived');
  assert.is(views[0]!.byteLength, 65536, 'a first read as large as asked: the caller waits for that much');
  assert.is(target.buffer.bytes, views[0], 'no copy');
  target.buffer.consume(65536);
  outcome = target.next();
  source.pull(10 * 1024 * 1024);
  assert.is(await outcome, 'arrived');
  assert.is(views[1]!.byteLength, MAX_READ_SIZE, 'a huge read is capped');
  target.buffer.consume(MAX_READ_SIZE);
  outcome = target.next();
  source.pull();
  assert.is(await outcome, 'arrived');
  assert.is(views[2]!.byteLength, 65536, 'a read asking for less takes the spare storage as it is');
  assert.equal(target.appended, [], 'every read was swapped in');
});

pump.run();
