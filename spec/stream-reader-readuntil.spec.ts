import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError, LimitOverrunError } from '../lib/index.ts';
import {
  assertBuffered,
  assertBytes,
  assertRest,
  assertSameError,
  bytes,
  eachSource,
  pushSource,
  rejection,
  tick,
  track,
} from './_reader-sources.ts';

const readuntil = suite('StreamReader.readuntil');

const FOUND = 'Separator is found, but chunk is longer than limit';
const NOT_FOUND = 'Separator is not found, and chunk exceed the limit';

function assertOverrun(error: unknown, message: RegExp | string, consumed?: number): void {
  assert.instance(error, LimitOverrunError);
  const overrun = error as LimitOverrunError;
  if (typeof message === 'string') assert.is(overrun.message, message);
  else assert.match(overrun.message, message);
  if (consumed !== undefined) assert.is(overrun.consumed, consumed, 'consumed');
}

readuntil('rejects an empty separator or an empty list of them [push]', async () => {
  const h = pushSource.open();
  h.feed('abc');
  for (const separator of ['', new Uint8Array(0), [''], ['', 'a'], ['a', new Uint8Array(0)]]) {
    const error = await rejection(h.reader.readuntil(separator));
    assert.instance(error, RangeError);
    assert.match((error as Error).message, /Separator should be/);
    assert.is((error as Error).message, 'Separator should be at least one-byte string');
  }
  const error = await rejection(h.reader.readuntil([]));
  assert.instance(error, RangeError);
  assert.match((error as Error).message, /Separator should contain/);
  assert.is((error as Error).message, 'Separator should contain at least one element');
  await assertRest(h, 'abc');
});

eachSource(readuntil, 'readuntil() returns through the separator, named or positional', async (source) => {
  const h = source.open();
  h.feed('lineAAA');
  assertBytes(await h.reader.readuntil('AAA'), 'lineAAA');
  assertBuffered(h, '');
  h.feed('lineAAA');
  assertBytes(await h.reader.readuntil(bytes('AAA')), 'lineAAA');
  assertBuffered(h, '');
  h.feed('lineAAAxxx');
  assertBytes(await h.reader.readuntil('AAA'), 'lineAAA');
  await assertRest(h, 'xxx');
});

eachSource(readuntil, 'readuntil() finds a separator split across feeds', async (source) => {
  const h = source.open();
  const cases: [string[], string][] = [
    [['QWEaa', 'XYaa', 'a'], 'QWEaaXYaaa'],
    [['QWEaa', 'XYa', 'aa'], 'QWEaaXYaaa'],
    [['aaa'], 'aaa'],
    [['Xaaa'], 'Xaaa'],
    [['XXX', 'a', 'a', 'a'], 'XXXaaa'],
  ];
  for (const [feeds, expected] of cases) {
    for (const piece of feeds) h.feed(piece);
    assertBytes(await h.reader.readuntil('aaa'), expected, feeds.join('+'));
    assertBuffered(h, '');
  }
  await assertRest(h, '');
});

eachSource(readuntil, 'EOF before the separator is an IncompleteReadError that empties the buffer', async (source) => {
  const h = source.open();
  h.feed('some dataAA');
  h.feedEof();
  const error = await rejection(h.reader.readuntil('AAA'));
  assert.instance(error, IncompleteReadError);
  assert.match((error as Error).message, /undefined expected bytes/);
  assert.is((error as Error).message, '11 bytes read on a total of undefined expected bytes');
  assertBytes((error as IncompleteReadError).partial, 'some dataAA');
  assert.is((error as IncompleteReadError).expected, null);
  await assertRest(h, '');
});

readuntil('a LimitOverrunError leaves the buffer untouched [push]', async () => {
  const h = pushSource.open({ limit: 3 });
  h.feed('some dataAA');
  assertOverrun(await rejection(h.reader.readuntil('AAA')), NOT_FOUND, 9);
  assertBuffered(h, 'some dataAA');
  h.feed('A');
  assertOverrun(await rejection(h.reader.readuntil('AAA')), FOUND, 9);
  assertBuffered(h, 'some dataAAA');
  assertBytes(await h.reader.read(9), 'some data');
  assertBytes(await h.reader.readuntil('AAA'), 'AAA');
  await assertRest(h, '');
});

eachSource(readuntil, 'a LimitOverrunError leaves every byte readable', async (source) => {
  const h = source.open({ limit: 3 });
  h.feed('some dataAA');
  assertOverrun(await rejection(h.reader.readuntil('AAA')), /not found/);
  h.feed('A');
  // A pull-mode reader rescans what it holds and trips the limit before it pulls the 'A'.
  assertOverrun(await rejection(h.reader.readuntil('AAA')), source.push ? /is found/ : /Separator is (not )?found/);
  await assertRest(h, 'some dataAAA');
});

readuntil('consumed counts the bytes searched when no separator is found [push]', async () => {
  const h = pushSource.open({ limit: 3 });
  h.feed('abcd');
  assertOverrun(await rejection(h.reader.readuntil('\n')), NOT_FOUND, 4);
  await assertRest(h, 'abcd');
});

eachSource(readuntil, 'several separators: the earliest end wins', async (source) => {
  const h = source.open();
  h.feed('line 1\nline 2\r');
  assertBytes(await h.reader.readuntil(['\r', '\n']), 'line 1\n');
  assertBytes(await h.reader.readuntil(['\r', '\n']), 'line 2\r');
  assertBuffered(h, '');
  h.feed('ABCDEFG');
  assertBytes(await h.reader.readuntil(['DEF', 'BCDE']), 'ABCDE');
  await assertRest(h, 'FG');
});

eachSource(readuntil, 'several separators: the limit applies to the shortest of those ending first', async (source) => {
  const h = source.open({ limit: 3 });
  h.feed('some dataA');
  assertOverrun(await rejection(h.reader.readuntil(['A', 'ome dataA'])), FOUND, 9);
  await assertRest(h, 'some dataA');
});

eachSource(readuntil, 'several separators: a tie on the end goes to the shorter one', async (source) => {
  const tie = source.open({ limit: 2 });
  tie.feed('ab\r\n');
  assertOverrun(await rejection(tie.reader.readuntil(['\r\n', '\n'])), FOUND, 3);
  await assertRest(tie, 'ab\r\n');

  const single = source.open({ limit: 2 });
  single.feed('ab\r\n');
  assertBytes(await single.reader.readuntil('\r\n'), 'ab\r\n');
  await assertRest(single, '');

  const roomy = source.open({ limit: 3 });
  roomy.feed('ab\r\ncd\n');
  assertBytes(await roomy.reader.readuntil(['\r\n', '\n']), 'ab\r\n');
  assertBytes(await roomy.reader.readuntil(['\r\n', '\n']), 'cd\n');
  await assertRest(roomy, '');
});

eachSource(readuntil, 'several separators: a buffer shorter than the longest one is still searched', async (source) => {
  const h = source.open();
  h.feed('data');
  const pending = track(h.reader.readuntil(['A', 'long sep']));
  await tick();
  h.feed('Z');
  h.feed('Aaaa');
  assertBytes(await pending.value(), 'dataZA');
  await assertRest(h, 'aaa');
});

readuntil('several separators: the no-separator limit counts from the longest one [push]', async () => {
  const h = pushSource.open({ limit: 4 });
  h.feed('01234567');
  const pending = track(h.reader.readuntil(['X', 'LONGSEP']));
  await tick();
  assert.not.ok(pending.settled, '8 bytes searched up to offset 2: keeps waiting');
  h.feed('89ab');
  assertOverrun(await pending.error(), NOT_FOUND, 6);
  await assertRest(h, '0123456789ab');
});

eachSource(readuntil, 'several separators: a long one does not trip the limit early', async (source) => {
  const h = source.open({ limit: 4 });
  h.feed('01234567');
  const pending = track(h.reader.readuntil(['X', 'LONGSEP']));
  await tick();
  assert.not.ok(pending.settled, 'keeps waiting');
  h.feed('89ab');
  assertOverrun(await pending.error(), NOT_FOUND);
  await assertRest(h, '0123456789ab');
});

eachSource(readuntil, 'a Uint8Array separator works, whatever its offset in its buffer', async (source) => {
  const h = source.open();
  h.feed('some data\r\nmore\r\n');
  assertBytes(await h.reader.readuntil(new Uint8Array([0x0d, 0x0a])), 'some data\r\n');
  const view = bytes('xx\r\nyy').subarray(2, 4);
  assertBytes(await h.reader.readuntil(view), 'more\r\n');
  await assertRest(h, '');
});

eachSource(readuntil, 'a string separator is matched as UTF-8', async (source) => {
  const h = source.open();
  h.feed('café crème');
  assertBytes(await h.reader.readuntil('é'), bytes('café'));
  assertBytes(await h.reader.readuntil(['è', 'é']), bytes(' crè'));
  await assertRest(h, 'me');
});

eachSource(readuntil, 'the default separator is a newline', async (source) => {
  const h = source.open();
  h.feed('a\r\nb\n');
  assertBytes(await h.reader.readuntil(), 'a\r\n');
  await assertRest(h, 'b\n');
});

eachSource(readuntil, 'the no-separator limit is checked before EOF', async (source) => {
  const over = source.open({ limit: 3 });
  over.feed('line1');
  over.feedEof();
  assertOverrun(await rejection(over.reader.readuntil('\n')), NOT_FOUND);
  await assertRest(over, 'line1');

  const within = source.open({ limit: 3 });
  within.feed('abc');
  within.feedEof();
  const error = await rejection(within.reader.readuntil('\n'));
  assert.instance(error, IncompleteReadError);
  assertBytes((error as IncompleteReadError).partial, 'abc');
  assert.is((error as IncompleteReadError).expected, null);
  await assertRest(within, '');
});

eachSource(readuntil, 'a separator found next to EOF is returned normally', async (source) => {
  const h = source.open();
  h.feed('xAAAy');
  h.feedEof();
  assertBytes(await h.reader.readuntil('AAA'), 'xAAA');
  await assertRest(h, 'y');
});

eachSource(readuntil, 'a set exception is thrown, but only after the separator is checked', async (source) => {
  const h = source.open();
  h.feed('abc\n');
  const error = new RangeError('boom');
  h.setException(error);
  assert.instance(await rejection(h.reader.readuntil('')), RangeError);
  assert.is.not(await rejection(h.reader.readuntil('')), error);
  assertSameError(await rejection(h.reader.readuntil('\n')), error);
  assertBuffered(h, 'abc\n');
});

readuntil.run();
