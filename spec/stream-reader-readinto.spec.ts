/**
 * readinto(view) and readexactlyInto(view): bytes into the caller's own buffer, with the
 * errors, signal and single-waiter rules of the other reads, over every kind of source.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError, StreamReader } from '../lib/index.ts';
import { FIRST_READ_SIZE, MAX_READ_SIZE, PULL_SIZE } from '../lib/_pull-source.ts';
import { offerSocketRead } from '../lib/_socket-reads.ts';
import {
  assertBytes,
  assertRest,
  assertSameError,
  eachSource,
  rejection,
  tick,
  track,
} from './_reader-sources.ts';

const busy = (name: string) => `${name}() called while another coroutine is already waiting for incoming data`;

const readinto = suite('StreamReader.readinto');

eachSource(readinto, 'copies what is buffered, up to the view, and returns the count; the rest stays', async (source) => {
  const h = source.open();
  h.feed('abcdefgh');
  const view = new Uint8Array(5);
  const count = await track(h.reader.readinto(view)).value();
  assert.ok(count >= 1 && count <= 5, `count ${count}`);
  assertBytes(view.subarray(0, count), 'abcde'.slice(0, count));
  await assertRest(h, 'abcdefgh'.slice(count));
});

eachSource(readinto, 'fills the front of a larger view with what has arrived, without waiting for the rest', async (source) => {
  const h = source.open();
  h.feed('xyz');
  const view = new Uint8Array(16).fill(0x2e);
  let count = await track(h.reader.readinto(view)).value();
  while (count < 3) count += await track(h.reader.readinto(view.subarray(count))).value();
  assertBytes(view, 'xyz.............');
  await assertRest(h, '');
});

eachSource(readinto, 'waits for data when nothing is buffered', async (source) => {
  const h = source.open();
  const view = new Uint8Array(4);
  const pending = track(h.reader.readinto(view));
  await tick();
  assert.not.ok(pending.settled);
  h.feed('hi');
  const count = await pending.value();
  assert.ok(count >= 1 && count <= 2);
  assertBytes(view.subarray(0, count), 'hi'.slice(0, count));
  await assertRest(h, 'hi'.slice(count));
});

eachSource(readinto, 'returns 0 at EOF, and 0 at once for an empty view (as read(0))', async (source) => {
  const h = source.open();
  const empty = track(h.reader.readinto(new Uint8Array(0)));
  assert.is(await empty.value(), 0);
  h.feed('ab');
  h.feedEof();
  const view = new Uint8Array(8);
  let total = 0;
  for (let count; (count = await track(h.reader.readinto(view.subarray(total))).value()) > 0; ) total += count;
  assert.is(total, 2);
  assertBytes(view.subarray(0, 2), 'ab');
  assert.is(await track(h.reader.readinto(view)).value(), 0, 'EOF again');
  assert.ok(h.reader.atEof());
});

eachSource(readinto, 'a waiting readinto() returns 0 when EOF comes, and rejects with an exception set meanwhile; the view is left as it was', async (source) => {
  const atEof = source.open();
  const view = new Uint8Array(4).fill(0x2e);
  const ending = track(atEof.reader.readinto(view));
  await tick();
  atEof.feedEof();
  assert.is(await ending.value(), 0);
  const failing = source.open();
  const waiting = track(failing.reader.readinto(view));
  await tick();
  const boom = new Error('boom');
  failing.setException(boom);
  assertSameError(await waiting.error(), boom);
  assertBytes(view, '....');
});

eachSource(readinto, 'takes any ArrayBufferView: its bytes, counted in bytes', async (source) => {
  const h = source.open();
  h.feed('ABCDEFGHIJ');
  const words = new Uint16Array(2);
  let count = 0;
  while (count < 4) count += await track(h.reader.readinto(new Uint8Array(words.buffer, count))).value();
  const backing = new ArrayBuffer(10);
  const data = new DataView(backing, 2, 3);
  let more = 0;
  while (more < 3) more += await track(h.reader.readinto(new DataView(backing, 2 + more, 3 - more))).value();
  assertBytes(new Uint8Array(words.buffer), 'ABCD');
  assertBytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 'EFG');
  const typed = new Uint32Array(1);
  h.feedEof();
  const count4 = await track(h.reader.readinto(typed)).value();
  assert.ok(count4 >= 1 && count4 <= 3, `a Uint32Array is filled byte-wise: ${count4}`);
  assertBytes(new Uint8Array(typed.buffer, 0, count4), 'HIJ'.slice(0, count4));
  await assertRest(h, 'HIJ'.slice(count4));
});

eachSource(readinto, 'rejects a view that is not an ArrayBufferView with a TypeError, taking nothing', async (source) => {
  const h = source.open();
  h.feed('abc');
  for (const bad of [null, 'abc', [1, 2], new ArrayBuffer(4), 3]) {
    const error = await rejection(h.reader.readinto(bad as unknown as Uint8Array));
    assert.instance(error, TypeError);
    assert.match((error as Error).message, /readinto\(\) needs an ArrayBufferView/);
  }
  await assertRest(h, 'abc');
});

eachSource(readinto, 'rejects with the stored exception, even with bytes buffered', async (source) => {
  const h = source.open();
  h.feed('abc');
  await track(h.reader.readexactly(1)).value();
  const boom = new Error('boom');
  h.setException(boom);
  assertSameError(await rejection(h.reader.readinto(new Uint8Array(4))), boom);
  assertSameError(await rejection(h.reader.readinto(new Uint8Array(0))), boom, 'even an empty view, as read(0)');
});

eachSource(readinto, 'a readinto() that must wait while another read waits is the single-waiter Error, and the waiting read is unharmed', async (source) => {
  const h = source.open();
  const first = track(h.reader.readline());
  await tick();
  const error = await rejection(h.reader.readinto(new Uint8Array(4)));
  assert.instance(error, Error);
  assert.is((error as Error).message, busy('readinto'));
  const second = track(h.reader.readinto(new Uint8Array(4)));
  assert.is((await second.error() as Error).message, busy('readinto'));
  h.feed('l\nxy');
  assertBytes(await first.value(), 'l\n');
  await assertRest(h, 'xy');
});

eachSource(readinto, 'an abort rejects a waiting readinto() with its reason; the bytes that arrive later stay readable', async (source) => {
  const h = source.open();
  const controller = new AbortController();
  const view = new Uint8Array(4);
  const pending = track(h.reader.readinto(view, { signal: controller.signal }));
  await tick();
  const reason = new Error('stop');
  controller.abort(reason);
  assertSameError(await pending.error(), reason);
  const already = await rejection(h.reader.readinto(view, { signal: AbortSignal.abort(reason) }));
  assertSameError(already, reason, 'an aborted signal rejects at once');
  h.feed('late');
  await assertRest(h, 'late');
});

eachSource(readinto, 'the caller keeps its buffer: it is never transferred or retained', async (source) => {
  const h = source.open();
  const view = new Uint8Array(64);
  h.feed('first');
  let count = await track(h.reader.readinto(view)).value();
  while (count < 5) count += await track(h.reader.readinto(view.subarray(count))).value();
  assert.is(view.buffer.byteLength, 64, 'not detached');
  const snapshot = Array.from(view);
  h.feed('second');
  await track(h.reader.readexactly(6)).value();
  assert.equal(Array.from(view), snapshot, 'later reads do not touch it');
  await assertRest(h, '');
});

readinto.run();

const exactlyInto = suite('StreamReader.readexactlyInto');

eachSource(exactlyInto, 'fills the whole view from the buffer and the bytes that arrive; the rest stays', async (source) => {
  const h = source.open();
  h.feed('abc');
  const view = new Uint8Array(8);
  const pending = track(h.reader.readexactlyInto(view));
  await tick();
  assert.not.ok(pending.settled);
  h.feed('def');
  await tick();
  h.feed('ghij');
  assert.is(await pending.value(), undefined);
  assertBytes(view, 'abcdefgh');
  await assertRest(h, 'ij');
});

eachSource(exactlyInto, 'a large view straddling many chunks is filled in order', async (source) => {
  const h = source.open();
  const size = 20_000;
  const data = Uint8Array.from({ length: size + 3 }, (_, i) => (i * 7) & 0xff);
  const view = new Uint8Array(size);
  const pending = track(h.reader.readexactlyInto(view));
  for (let at = 0; at < data.length; at += 4096) {
    h.feed(data.subarray(at, at + 4096));
    await tick();
  }
  await pending.value();
  assert.equal(Array.from(view), Array.from(data.subarray(0, size)));
  await assertRest(h, data.subarray(size));
});

eachSource(exactlyInto, 'an empty view resolves at once', async (source) => {
  const h = source.open();
  await track(h.reader.readexactlyInto(new Uint8Array(0))).value();
  await assertRest(h, '');
});

eachSource(exactlyInto, 'EOF first: IncompleteReadError with a copy of the bytes received, expected the view\'s length, the buffer emptied', async (source) => {
  const h = source.open();
  h.feed('abc');
  const view = new Uint8Array(6);
  const pending = track(h.reader.readexactlyInto(view));
  await tick();
  h.feed('de');
  await tick();
  h.feedEof();
  const error = (await pending.error()) as IncompleteReadError;
  assert.instance(error, IncompleteReadError);
  assertBytes(error.partial, 'abcde');
  assert.is(error.expected, 6);
  assert.is(error.message, '5 bytes read on a total of 6 expected bytes');
  assert.ok(error.partial.buffer !== view.buffer, 'partial is not the caller\'s buffer');
  await assertRest(h, '');
});

eachSource(exactlyInto, 'at EOF with enough bytes buffered fills the view', async (source) => {
  const h = source.open();
  h.feed('abcd');
  h.feedEof();
  const view = new Uint8Array(4);
  await track(h.reader.readexactlyInto(view)).value();
  assertBytes(view, 'abcd');
  await assertRest(h, '');
});

eachSource(exactlyInto, 'an abort mid-fill rejects with its reason and puts every received byte back in the buffer', async (source) => {
  const h = source.open();
  const controller = new AbortController();
  h.feed('abc');
  const view = new Uint8Array(10);
  const pending = track(h.reader.readexactlyInto(view, { signal: controller.signal }));
  await tick();
  h.feed('def');
  await tick();
  await tick();
  const reason = new Error('stop');
  controller.abort(reason);
  assertSameError(await pending.error(), reason);
  h.feed('gh');
  await assertRest(h, 'abcdefgh');
});

eachSource(exactlyInto, 'bad views are TypeErrors, a stored exception rejects, a second waiting read is the single-waiter Error', async (source) => {
  const h = source.open();
  const error = await rejection(h.reader.readexactlyInto({} as Uint8Array));
  assert.instance(error, TypeError);
  assert.match((error as Error).message, /readexactlyInto\(\) needs an ArrayBufferView/);
  const first = track(h.reader.readexactlyInto(new Uint8Array(3)));
  await tick();
  assert.is((await rejection(h.reader.readexactlyInto(new Uint8Array(3))) as Error).message, busy('readexactlyInto'));
  assert.is((await rejection(h.reader.readexactly(3)) as Error).message, busy('readexactly'));
  const boom = new Error('boom');
  h.setException(boom);
  assertSameError(await first.error(), boom, 'the waiting one rejects with it');
  assertSameError(await rejection(h.reader.readexactlyInto(new Uint8Array(1))), boom);
});

eachSource(exactlyInto, 'refused while another read waits with bytes buffered: the bytes stay in the buffer for the waiting read', async (source) => {
  const h = source.open();
  const first = track(h.reader.readuntil('!'));
  h.feed('abc');
  await tick();
  await tick();
  assert.is((await rejection(h.reader.readexactlyInto(new Uint8Array(8))) as Error).message, busy('readexactlyInto'));
  h.feed('!');
  assertBytes(await first.value(), 'abc!');
  await assertRest(h, '');
});

exactlyInto.run();

const socketReads = suite("StreamReader over a socket's own read");

/** A reader of a socket whose own read fills each view with 'a's; each view's size goes to `sizes`. */
function overSocket(): { reader: StreamReader; sizes: number[] } {
  const sizes: number[] = [];
  const stream = new ReadableStream<Uint8Array>({ type: 'bytes' });
  offerSocketRead(stream, {
    async _readInto(view) {
      sizes.push(view.byteLength);
      view.fill(0x61);
      return view.byteLength;
    },
  });
  return { reader: StreamReader.from(stream), sizes };
}

socketReads('readinto() and a large readexactly() ask the socket for as many bytes as they want, up to MAX_READ_SIZE: one socket read and one copy for a 64 KiB readinto()', async () => {
  const { reader, sizes } = overSocket();
  const frame = new Uint8Array(65536);
  assert.is(await reader.readinto(frame), 65536);
  assert.equal(sizes, [65536]);
  assert.equal(Array.from(new Set(frame)), [0x61]);
  assert.is((await reader.readexactly(200_000)).length, 200_000);
  assert.ok(sizes.includes(MAX_READ_SIZE), `sizes ${sizes.join(', ')}`);
  assert.ok(sizes.every((size) => size <= MAX_READ_SIZE), `sizes ${sizes.join(', ')}`);
});

socketReads('only the first read waits with small storage: a read that took all of its storage does not make the next one small', async () => {
  const { reader, sizes } = overSocket();
  assert.is((await reader.read(FIRST_READ_SIZE)).length, FIRST_READ_SIZE);
  assert.is((await reader.read(PULL_SIZE)).length, PULL_SIZE, 'the storage itself, handed over');
  assert.is((await reader.read(PULL_SIZE)).length, PULL_SIZE);
  assert.is((await reader.read(100)).length, 100, 'a small read, with no spare storage left');
  assert.equal(sizes, [FIRST_READ_SIZE, PULL_SIZE, PULL_SIZE, PULL_SIZE], 'and still not a small socket read');
});

socketReads.run();
