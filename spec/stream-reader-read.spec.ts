import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DATA,
  assertBytes,
  assertRead,
  assertReadFrom,
  assertRest,
  assertSameError,
  eachSource,
  rejection,
  text,
  tick,
  track,
} from './_reader-sources.ts';

const read = suite('StreamReader.read');

eachSource(read, 'read(0) returns nothing and leaves the buffer alone', async (source) => {
  const h = source.open();
  h.feed(DATA);
  assertBytes(await h.reader.read(0), '');
  await assertRest(h, DATA);
});

eachSource(read, 'read(0) returns nothing at EOF too', async (source) => {
  const h = source.open();
  h.feedEof();
  assertBytes(await h.reader.read(0), '');
  await assertRest(h, '');
});

eachSource(read, 'a waiting read(n) returns what a later feed brings', async (source) => {
  const h = source.open();
  const pending = track(h.reader.read(30));
  await tick();
  assert.not.ok(pending.settled, 'waits for data');
  h.feed(DATA);
  await assertReadFrom(h, await pending.value(), 30, DATA);
  await assertRest(h, '');
});

eachSource(read, 'read(n) stops at n bytes and leaves the rest', async (source) => {
  const h = source.open();
  h.feed('line1');
  h.feed('line2');
  await assertRead(h, 5, 'line1');
  await assertRest(h, 'line2');
});

eachSource(read, 'a waiting read(n) returns nothing when the stream ends', async (source) => {
  const h = source.open();
  const pending = track(h.reader.read(1024));
  await tick();
  h.feedEof();
  assertBytes(await pending.value(), '');
  await assertRest(h, '');
});

eachSource(read, 'read() returns everything up to EOF', async (source) => {
  const h = source.open();
  const pending = track(h.reader.read(-1));
  await tick();
  h.feed('chunk1\n');
  h.feed('chunk2');
  h.feedEof();
  assertBytes(await pending.value(), 'chunk1\nchunk2');
  await assertRest(h, '');
});

eachSource(read, 'read() waits across several feeds until EOF', async (source) => {
  const h = source.open({ limit: 4 });
  const pending = track(h.reader.read());
  for (const piece of ['chunk1\n', 'chunk2', 'more than the limit']) {
    h.feed(piece);
    await tick();
    assert.not.ok(pending.settled, 'waits for EOF');
  }
  h.feedEof();
  assertBytes(await pending.value(), 'chunk1\nchunk2more than the limit');
  await assertRest(h, '');
});

eachSource(read, 'any negative n reads to EOF like -1', async (source) => {
  const h = source.open();
  h.feed('abc');
  h.feedEof();
  assertBytes(await h.reader.read(-2), 'abc');
  await assertRest(h, '');
});

eachSource(read, 'a set exception wins over buffered bytes', async (source) => {
  const h = source.open();
  h.feed('line\n');
  await assertRead(h, 2, 'li');
  const error = new RangeError();
  h.setException(error);
  assertSameError(await rejection(h.reader.read(2)), error);
  assertSameError(await rejection(h.reader.read(0)), error);
  assertSameError(await rejection(h.reader.read()), error);
  assert.is(h.reader.exception(), error);
});

eachSource(read, 'read(n) is not bounded by the limit', async (source) => {
  const h = source.open({ limit: 3 });
  h.feed('chunk');
  await assertRead(h, 5, 'chunk');
  await assertRest(h, '');
});

eachSource(read, 'read(n) returns what is left at EOF, then nothing', async (source) => {
  const h = source.open();
  h.feed('abc');
  h.feedEof();
  await assertRead(h, 10, 'abc');
  assertBytes(await h.reader.read(10), '');
  assert.ok(h.reader.atEof());
  await assertRest(h, '');
});

eachSource(read, 'an empty feed neither wakes nor ends a waiting read', async (source) => {
  const h = source.open();
  const pending = track(h.reader.read(5));
  await tick();
  h.feed('');
  await tick();
  assert.not.ok(pending.settled, 'still waiting after an empty chunk');
  h.feed('ab');
  await assertReadFrom(h, await pending.value(), 5, 'ab');
  await assertRest(h, '');
});

eachSource(read, 'an exception set during read() drops the bytes it had gathered', async (source) => {
  // CPython: read(-1) collects limit-sized blocks; an exception mid-way loses them (probe §1.3).
  const h = source.open({ limit: 4 });
  h.feed('0123456789');
  const pending = track(h.reader.read());
  await tick();
  const error = new RangeError('boom');
  h.setException(error);
  assertSameError(await pending.error(), error);
  if (source.push) assertBytes(h.reader._peekBuffer(), '');
});

eachSource(read, 'results are copies that later reads and feeds do not change', async (source) => {
  const h = source.open();
  h.feed('abcdef');
  const first = await h.reader.readexactly(3);
  first.fill(0x7a);
  h.feed('ghi');
  await assertRead(h, 3, 'def');
  assert.is(text(first), 'zzz');
  await assertRest(h, 'ghi');
});

read.run();
