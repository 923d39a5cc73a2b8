import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader } from '../lib/index.ts';
import {
  DATA,
  assertBuffered,
  assertBytes,
  assertRest,
  assertSameError,
  bytes,
  eachSource,
  pullSources,
  pushSource,
  rejection,
  tick,
  track,
} from './_reader-sources.ts';

const construct = suite('new StreamReader / StreamReader.from');

construct('a limit of 0 or below is a RangeError', () => {
  for (const limit of [0, -1]) {
    assert.throws(() => new StreamReader({ limit }), (error: unknown) => error instanceof RangeError && /imit/.test(error.message));
    assert.throws(() => new StreamReader({ limit }), (error: unknown) => (error as Error).message === 'Limit cannot be <= 0');
    assert.throws(() => StreamReader.from(new ReadableStream(), { limit }), (error: unknown) => error instanceof RangeError);
  }
});

construct('the limit defaults to 64 KiB', () => {
  assert.is(new StreamReader().limit, 65536);
  assert.is(new StreamReader({ limit: 123 }).limit, 123);
  assert.is(StreamReader.from(new ReadableStream(), { limit: 7 }).limit, 7);
});

construct('a pull-mode reader pulls only when a read needs more bytes', async () => {
  for (const type of ['bytes', undefined] as const) {
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      type,
      pull(controller) {
        pulls += 1;
        controller.enqueue(bytes('a\nb\n'));
      },
    } as UnderlyingDefaultSource<Uint8Array>, { highWaterMark: 0 });
    const reader = StreamReader.from(stream);
    await tick();
    assert.is(pulls, 0, `${type ?? 'default'} stream: nothing pulled before a read`);
    assertBytes(await reader.readline(), 'a\n');
    assert.is(pulls, 1, `${type ?? 'default'} stream: one pull for the first line`);
    assertBytes(await reader.readline(), 'b\n');
    assert.is(pulls, 1, `${type ?? 'default'} stream: the second line was buffered`);
    assertBytes(await reader.readline(), 'a\n');
    assert.is(pulls, 2, `${type ?? 'default'} stream: a pull for the third line`);
  }
});

construct.run();

const feedData = suite('StreamReader.feedData / feedEof');

feedData('feeding nothing leaves the buffer empty [push]', () => {
  const h = pushSource.open();
  h.feed('');
  assertBuffered(h, '');
  assert.not.ok(h.reader.atEof());
});

eachSource(feedData, 'fed bytes are what is left to read', async (source) => {
  const h = source.open();
  h.feed(DATA);
  assertBuffered(h, DATA);
  await assertRest(h, DATA);
});

feedData('readers nothing was fed yet share no bytes, whatever their waiting reads did [push]', async () => {
  // An unfed reader holds no buffer of its own until its first bytes: reads that waited on
  // it, were aborted after a part, or were overtaken by a nowait read must leave none behind.
  const direct = new StreamReader();
  const controller = new AbortController();
  const large = direct.readexactly(100_000, { signal: controller.signal });
  await tick();
  direct.feedData(new Uint8Array(5000).fill(120));
  controller.abort(new Error('stop'));
  await rejection(large);
  assert.is((await direct.read(10_000)).length, 5000);

  const until = new StreamReader();
  let line: Uint8Array | undefined;
  void until.readuntil('\r\n').then((value) => (line = value));
  await tick();
  until.feedData(bytes('abcd'));
  await tick(); // readuntil() searched 'abcd' and waits again
  assertBytes(until.readexactlyNowait(4), 'abcd');
  until.feedData(bytes('x\r\n'));
  await tick();
  assertBytes(line, 'x\r\n');

  assert.is(direct.readexactlyNowait(1), null);
  const fresh = new StreamReader();
  assert.is(fresh.readexactlyNowait(1), null);
  fresh.feedData(bytes('own\n'));
  assertBytes(await fresh.readline(), 'own\n');
});

feedData('copies the fed bytes [push]', async () => {
  const h = pushSource.open();
  const chunk = bytes('abc');
  h.reader.feedData(chunk);
  chunk.fill(0x78);
  await assertRest(h, 'abc');
});

feedData('accepts a view into a larger buffer [push]', async () => {
  const h = pushSource.open();
  h.reader.feedData(bytes('xxabcxx').subarray(2, 5));
  await assertRest(h, 'abc');
});

feedData('accepts a Node Buffer, pooled or not [push]', async () => {
  const h = pushSource.open();
  h.reader.feedData(Buffer.from('ab\n'));
  h.reader.feedData(Buffer.alloc(3, 'c'));
  assertBytes(await h.reader.readuntil(Buffer.from('\n')), 'ab\n');
  await assertRest(h, 'ccc');
});

feedData('feeding after EOF is an error, even nothing [push]', () => {
  const h = pushSource.open();
  h.feed('abc');
  h.feedEof();
  for (const data of ['more', '']) {
    assert.throws(() => h.reader.feedData(bytes(data)), (error: unknown) => error instanceof Error && error.message === 'feedData after feedEof');
  }
  assertBuffered(h, 'abc');
});

feedData('feedEof() twice is harmless [push]', async () => {
  const h = pushSource.open();
  h.reader.feedEof();
  h.reader.feedEof();
  assert.ok(h.reader.atEof());
  await assertRest(h, '');
});

eachSource(feedData, 'a pull-mode reader refuses feedData()', (source) => {
  const h = source.open();
  assert.throws(() => h.reader.feedData(bytes('abc')), (error: unknown) => error instanceof Error);
}, pullSources);

feedData.run();

const atEof = suite('StreamReader.atEof');

atEof('is true once EOF is fed and the buffer drained [push]', async () => {
  const h = pushSource.open();
  assert.not.ok(h.reader.atEof());
  h.feed('some data\n');
  assert.not.ok(h.reader.atEof());
  await h.reader.readline();
  assert.not.ok(h.reader.atEof());
  h.feed('some data\n');
  h.feedEof();
  assert.not.ok(h.reader.atEof(), 'EOF fed but bytes left');
  assertBytes(await h.reader.readline(), 'some data\n');
  assert.ok(h.reader.atEof());
});

eachSource(atEof, 'is true once a read has met the end of the source', async (source) => {
  const h = source.open();
  assert.not.ok(h.reader.atEof());
  h.feed('some data\n');
  assertBytes(await h.reader.readline(), 'some data\n');
  assert.not.ok(h.reader.atEof());
  h.feedEof();
  assertBytes(await h.reader.read(), '');
  assert.ok(h.reader.atEof());
});

atEof.run();

const exception = suite('StreamReader.exception / setException');

eachSource(exception, 'exception() is null until one is set, then that very value', (source) => {
  const h = source.open();
  assert.is(h.reader.exception(), null);
  const error = new RangeError();
  h.setException(error);
  assert.is(h.reader.exception(), error);
});

eachSource(exception, 'a waiting read rejects with the exception set', async (source) => {
  const h = source.open();
  const pending = track(h.reader.readline());
  await tick();
  const error = new RangeError();
  h.setException(error);
  assertSameError(await pending.error(), error);
});

eachSource(exception, 'setting an exception after the waiting read was aborted leaves no waiter', async (source) => {
  const h = source.open();
  const controller = new AbortController();
  const pending = track(h.reader.readline({ signal: controller.signal }));
  await tick();
  controller.abort();
  assertSameError(await pending.error(), controller.signal.reason);
  const error = new Error('message');
  h.setException(error);
  await tick();
  assert.not.match(h.reader.toString(), /waiter/);
  assertSameError(await rejection(h.reader.readline()), error);
});

exception('setException touches neither the buffer nor EOF [push]', () => {
  const h = pushSource.open();
  h.feed('abc');
  h.setException(new Error('boom'));
  assertBuffered(h, 'abc');
  assert.not.ok(h.reader.atEof());
});

eachSource(exception, 'an error of the source stream rejects the waiting read', async (source) => {
  const h = source.open();
  const pending = track(h.reader.readline());
  await tick();
  const error = new Error('connection lost');
  h.failSource(error);
  assertSameError(await pending.error(), error);
  assert.is(h.reader.exception(), error);
  assertSameError(await rejection(h.reader.read()), error);
}, pullSources);

eachSource(exception, 'a source stream that errors with no reason (undefined, null) rejects the waiting read with an Error, never leaves it waiting', async (source) => {
  for (const reason of [undefined, null]) {
    const h = source.open();
    const pending = track(h.reader.readline());
    await tick();
    h.failSource(reason);
    const error = await pending.error();
    assert.instance(error, Error);
    assert.match(String(error), /The stream errored without a reason/);
    assert.is(h.reader.exception(), error);
  }
}, pullSources);

exception.run();

const toString = suite('StreamReader.toString');

toString('is CPython\'s repr: nothing to say', () => {
  assert.is(new StreamReader().toString(), '<StreamReader>');
  assert.is(String(new StreamReader()), '<StreamReader>');
});

toString('shows a limit other than the default', () => {
  assert.is(new StreamReader({ limit: 123 }).toString(), '<StreamReader limit=123>');
});

toString('shows EOF', () => {
  const reader = new StreamReader();
  reader.feedEof();
  assert.is(reader.toString(), '<StreamReader eof>');
});

toString('shows the number of bytes buffered', () => {
  const reader = new StreamReader();
  reader.feedData(bytes('data'));
  assert.is(reader.toString(), '<StreamReader 4 bytes>');
});

toString('shows the exception', () => {
  const reader = new StreamReader();
  reader.setException(new Error('boom'));
  assert.match(reader.toString(), /^<StreamReader exception=\S.*boom.*>$/);
});

toString('shows a waiting read, and forgets it once served', async () => {
  const reader = new StreamReader();
  const pending = track(reader.readline());
  await tick();
  assert.match(reader.toString(), /^<StreamReader waiter=\S[\S ]*>$/);
  reader.feedData(bytes('x\n'));
  assertBytes(await pending.value(), 'x\n');
  assert.is(reader.toString(), '<StreamReader>');
});

toString('shows the transport and a paused one', () => {
  const transport = { pauseReading() {}, resumeReading() {}, toString: () => '<Transport>' };
  const reader = new StreamReader();
  reader.setTransport(transport);
  assert.is(reader.toString(), '<StreamReader transport=<Transport>>');
  const small = new StreamReader({ limit: 1 });
  small.setTransport(transport);
  small.feedData(bytes('abc'));
  assert.is(small.toString(), '<StreamReader 3 bytes limit=1 transport=<Transport> paused>');
});

toString('lists the parts in CPython\'s order', () => {
  const reader = new StreamReader({ limit: 123 });
  reader.feedData(bytes('data'));
  reader.feedEof();
  assert.is(reader.toString(), '<StreamReader 4 bytes eof limit=123>');
});

toString.run();
