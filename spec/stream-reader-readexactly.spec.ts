import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError } from '../lib/index.ts';
import {
  DATA,
  assertBuffered,
  assertBytes,
  assertRest,
  assertSameError,
  eachSource,
  rejection,
  tick,
  track,
} from './_reader-sources.ts';

const readexactly = suite('StreamReader.readexactly');

eachSource(readexactly, 'readexactly(0) returns nothing and a negative size is a RangeError', async (source) => {
  const h = source.open();
  h.feed(DATA);
  assertBytes(await h.reader.readexactly(0), '');
  const error = await rejection(h.reader.readexactly(-1));
  assert.instance(error, RangeError);
  assert.match((error as Error).message, /less than zero/);
  assert.is((error as Error).message, 'readexactly size can not be less than zero');
  await assertRest(h, DATA);
});

eachSource(readexactly, 'a waiting readexactly(n) returns n bytes out of later feeds', async (source) => {
  const h = source.open();
  const pending = track(h.reader.readexactly(2 * DATA.length));
  await tick();
  assert.not.ok(pending.settled);
  h.feed(DATA);
  h.feed(DATA);
  h.feed(DATA);
  assertBytes(await pending.value(), DATA + DATA);
  await assertRest(h, DATA);
});

eachSource(readexactly, 'readexactly(n) waits through several ticks until n bytes are there', async (source) => {
  const h = source.open();
  const pending = track(h.reader.readexactly(5));
  for (const piece of ['a', 'bc', 'd']) {
    await tick();
    assert.not.ok(pending.settled, `still waiting after ${piece}`);
    h.feed(piece);
  }
  h.feed('ef');
  assertBytes(await pending.value(), 'abcde');
  await assertRest(h, 'f');
});

eachSource(readexactly, 'readexactly(n) is not bounded by the limit', async (source) => {
  const h = source.open({ limit: 3 });
  h.feed('chunk');
  assertBytes(await h.reader.readexactly(5), 'chunk');
  await assertRest(h, '');
});

eachSource(readexactly, 'EOF before n bytes is an IncompleteReadError that empties the buffer', async (source) => {
  const h = source.open();
  const n = 2 * DATA.length;
  const pending = track(h.reader.readexactly(n));
  await tick();
  h.feed(DATA);
  h.feedEof();
  const error = await pending.error();
  assert.instance(error, IncompleteReadError);
  assertBytes((error as IncompleteReadError).partial, DATA);
  assert.is((error as IncompleteReadError).expected, n);
  assert.is((error as Error).message, '18 bytes read on a total of 36 expected bytes');
  await assertRest(h, '');
});

eachSource(readexactly, 'at EOF: a short buffer is partial, an exact one is returned, 0 is empty', async (source) => {
  const short = source.open();
  short.feed('abc');
  short.feedEof();
  const error = await rejection(short.reader.readexactly(5));
  assert.instance(error, IncompleteReadError);
  assert.is((error as Error).message, '3 bytes read on a total of 5 expected bytes');
  assertBytes((error as IncompleteReadError).partial, 'abc');
  assert.is((error as IncompleteReadError).expected, 5);
  await assertRest(short, '');

  const empty = source.open();
  empty.feedEof();
  const none = await rejection(empty.reader.readexactly(1));
  assert.instance(none, IncompleteReadError);
  assert.is((none as Error).message, '0 bytes read on a total of 1 expected bytes');
  assertBytes(await empty.reader.readexactly(0), '');
  await assertRest(empty, '');

  const exact = source.open();
  exact.feed('abc');
  exact.feedEof();
  assertBytes(await exact.reader.readexactly(3), 'abc');
  assertBytes(await exact.reader.readexactly(0), '');
  await assertRest(exact, '');
});

eachSource(readexactly, 'a set exception wins over buffered bytes', async (source) => {
  const h = source.open();
  h.feed('line\n');
  assertBytes(await h.reader.readexactly(2), 'li');
  const error = new RangeError();
  h.setException(error);
  assertSameError(await rejection(h.reader.readexactly(2)), error);
  assertSameError(await rejection(h.reader.readexactly(0)), error, 'even for 0 bytes');
  const size = await rejection(h.reader.readexactly(-1));
  assert.is.not(size, error, 'the size is checked first');
  assert.instance(size, RangeError);
  assertBuffered(h, 'ne\n');
});

readexactly.run();
