import { getEventListeners } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReadOptions, StreamReader } from '../lib/index.ts';
import {
  assertBytes,
  assertRest,
  assertSameError,
  eachSource,
  rejection,
  sources,
  text,
  tick,
  track,
} from './_reader-sources.ts';

const signal = suite('StreamReader reads: the signal option');

type Read = (reader: StreamReader, options: ReadOptions) => Promise<Uint8Array>;

/** Each read, and whether it keeps waiting once some bytes (fewer than it wants) have come. */
const reads: [string, Read, boolean][] = [
  ['readline()', (reader, options) => reader.readline(options), true],
  ['readuntil()', (reader, options) => reader.readuntil('\n', options), true],
  ['readuntil([...])', (reader, options) => reader.readuntil(['\r\n', '\n'], options), true],
  ['readexactly(n)', (reader, options) => reader.readexactly(7, options), true],
  ['read(n)', (reader, options) => reader.read(7, options), false],
  ['read()', (reader, options) => reader.read(-1, options), true],
];

/**
 * A read that wakes to too few bytes and is aborted before it waits again rejects: the abort
 * event has fired by the time it would wait, so it must look.
 */
function abortBetweenWaits(name: string, read: Read): void {
  eachSource(signal, `an abort as a waiting ${name} wakes to too few bytes, before it waits again, rejects it`, async (source) => {
    for (let microtasks = 0; microtasks <= 12; microtasks += 1) {
      const h = source.open();
      const controller = new AbortController();
      const pending = track(read(h.reader, { signal: controller.signal }));
      await tick();
      h.feed('ab');
      for (let i = 0; i < microtasks; i += 1) await null;
      const reason = new Error(`stop after ${microtasks} microtasks`);
      controller.abort(reason);
      assertSameError(await pending.error(), reason);
      h.feed('c\nrest');
      await assertRest(h, 'abc\nrest');
    }
  });
}

for (const [name, read, waitsWithBytes] of reads) {
  eachSource(signal, `${name} with an aborted signal rejects with its reason and takes nothing`, async (source) => {
    const h = source.open();
    h.feed('ab\ncdef\n');
    const reason = new Error('stop');
    assertSameError(await rejection(read(h.reader, { signal: AbortSignal.abort(reason) })), reason);
    await assertRest(h, 'ab\ncdef\n');
  });

  eachSource(signal, `aborting a waiting ${name} rejects it and keeps every byte it had not returned`, async (source) => {
    const h = source.open({ limit: 4 });
    const seen = waitsWithBytes ? 'abc' : '';
    if (seen) h.feed(seen.slice(0, 2));
    const controller = new AbortController();
    const pending = track(read(h.reader, { signal: controller.signal }));
    await tick();
    if (seen) h.feed(seen.slice(2));
    await tick();
    assert.not.ok(pending.settled, 'waits for more');
    const reason = new Error('stop');
    controller.abort(reason);
    assertSameError(await pending.error(), reason);
    h.feed('de\nfgh');
    assertBytes(await track(h.reader.readexactly(seen.length + 3)).value(), `${seen}de\n`, 'the bytes it had seen come first');
    await assertRest(h, 'fgh');
  });

  if (waitsWithBytes) abortBetweenWaits(name, read);

  eachSource(signal, `an aborted ${name} leaves no waiter behind`, async (source) => {
    const h = source.open();
    const controller = new AbortController();
    const pending = track(read(h.reader, { signal: controller.signal }));
    await tick();
    controller.abort();
    assertSameError(await pending.error(), controller.signal.reason);
    assert.instance(controller.signal.reason, DOMException);
    const next = track(h.reader.readline());
    await tick();
    assert.not.ok(next.settled, 'the new read waits instead of failing');
    h.feed('line\nlast');
    assertBytes(await next.value(), 'line\n');
    await assertRest(h, 'last');
  });

  eachSource(signal, `a ${name} started after an aborted read can be aborted too`, async (source) => {
    const h = source.open();
    const first = new AbortController();
    const aborted = track(h.reader.readline({ signal: first.signal }));
    await tick();
    first.abort();
    assertSameError(await aborted.error(), first.signal.reason);
    const second = new AbortController();
    const pending = track(read(h.reader, { signal: second.signal }));
    await tick();
    assert.not.ok(pending.settled, 'waits for data');
    const reason = new Error('stop again');
    second.abort(reason);
    assertSameError(await pending.error(), reason);
    h.feed('ab\ncdefgh');
    assertBytes(await track(h.reader.readline()).value(), 'ab\n');
    await assertRest(h, 'cdefgh');
  });

  eachSource(signal, `an abort racing with the data for a waiting ${name} loses no byte`, async (source) => {
    const h = source.open();
    const controller = new AbortController();
    const pending = track(read(h.reader, { signal: controller.signal }));
    await tick();
    h.feed('line\n');
    h.feed('1234567');
    controller.abort();
    h.feedEof();
    const outcome = await pending.outcome();
    if (!outcome.ok) assertSameError(outcome.error, controller.signal.reason);
    const consumed = outcome.ok ? text(outcome.value) : '';
    assert.is(consumed + text(await h.reader.read()), 'line\n1234567');
  });
}

/** The reads that fill their result straight from the arriving bytes (`#fillDirect()`). */
const directReads: [string, Read][] = [
  ['readexactly(8000)', (reader, options) => reader.readexactly(8000, options)],
  ['readexactlyInto(8000 bytes)', (reader, options) => {
    const into = new Uint8Array(8000);
    return reader.readexactlyInto(into, options).then(() => into);
  }],
];

for (const [name, read] of directReads) abortBetweenWaits(name, read);

eachSource(
  signal,
  'a large readexactly() whose bytes all came, aborted after a read took the line behind them, returns them: they never come after that line',
  async (source) => {
    const h = source.open();
    const controller = new AbortController();
    const frame = track(h.reader.readexactly(5000, { signal: controller.signal }));
    await tick();
    h.feed('A');
    await tick();
    // The rest of the frame and a line after it, in one chunk: the frame is complete, and the
    // read has not resumed yet when the others run.
    h.feed(`${'B'.repeat(4999)}next\n`);
    assert.is(h.reader.readlineNowait(), null, 'no nowait read passes a read being filled');
    assert.is(h.reader.readuntilNowait('\n'), null);
    const line = track(h.reader.readline());
    controller.abort(new Error('stop'));
    assertBytes(await line.value(), 'next\n');
    assertBytes(await frame.value(), `A${'B'.repeat(4999)}`, 'the frame, which came before the line');
    await assertRest(h, '');
  },
  sources.filter((source) => source.push),
);

eachSource(signal, 'an abort after the read is served changes nothing and leaves no listener', async (source) => {
  const h = source.open();
  const controller = new AbortController();
  h.feed('one\n');
  assertBytes(await h.reader.readline({ signal: controller.signal }), 'one\n');
  const line = track(h.reader.readline({ signal: controller.signal }));
  await tick();
  h.feed('two\n');
  assertBytes(await line.value(), 'two\n');
  const exactly = track(h.reader.readexactly(3, { signal: controller.signal }));
  await tick();
  h.feed('xyz');
  assertBytes(await exactly.value(), 'xyz');
  const some = track(h.reader.read(3, { signal: controller.signal }));
  await tick();
  h.feed('a');
  assertBytes(await some.value(), 'a');
  assert.is(getEventListeners(controller.signal, 'abort').length, 0, 'no abort listener left');
  controller.abort();
  h.feed('rest');
  await assertRest(h, 'rest');
});

signal.run();
