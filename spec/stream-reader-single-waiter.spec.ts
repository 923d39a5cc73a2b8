import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StreamReader } from '../lib/index.ts';
import { assertBytes, assertRest, eachSource, rejection, tick, track } from './_reader-sources.ts';

const singleWaiter = suite('StreamReader: one waiting read at a time');

const busy = (name: string) => `${name}() called while another coroutine is already waiting for incoming data`;

const seconds: [string, (reader: StreamReader) => Promise<Uint8Array>, string][] = [
  ['readline()', (reader) => reader.readline(), busy('readuntil')],
  ['readuntil()', (reader) => reader.readuntil('x'), busy('readuntil')],
  ['read(n)', (reader) => reader.read(3), busy('read')],
  ['read()', (reader) => reader.read(), busy('read')],
  ['readexactly(n)', (reader) => reader.readexactly(3), busy('readexactly')],
];

for (const [name, second, message] of seconds) {
  eachSource(singleWaiter, `a second ${name} that must wait is an Error naming it`, async (source) => {
    const h = source.open();
    const first = track(h.reader.readline());
    await tick();
    const error = await rejection(second(h.reader));
    assert.instance(error, Error);
    assert.not.instance(error, RangeError);
    assert.not.instance(error, TypeError);
    assert.is((error as Error).message, message);
    h.feed('line\nrest');
    assertBytes(await first.value(), 'line\n', 'the first read is unharmed');
    await assertRest(h, 'rest');
  });
}

eachSource(singleWaiter, 'a second read served from the buffer does not need to wait', async (source) => {
  const h = source.open();
  h.feed('ab');
  const first = track(h.reader.readexactly(5));
  await tick();
  assert.not.ok(first.settled);
  assertBytes(await track(h.reader.read(1)).value(), 'a');
  h.feed('cdefg');
  assertBytes(await first.value(), 'bcdef');
  await assertRest(h, 'g');
});

eachSource(singleWaiter, 'a new read can wait once the first is served', async (source) => {
  const h = source.open();
  const first = track(h.reader.readline());
  await tick();
  h.feed('one\n');
  assertBytes(await first.value(), 'one\n');
  const second = track(h.reader.readline());
  await tick();
  assert.not.ok(second.settled);
  h.feed('two\n');
  assertBytes(await second.value(), 'two\n');
  await assertRest(h, '');
});

eachSource(singleWaiter, 'a waiting readuntil() still finds its separator after a second read took buffered bytes', async (source) => {
  // CPython keeps its search offset relative to the buffer's front, so there it would skip the
  // '!' that arrives after read(3) took 'ab\n' and wait for ever.
  const h = source.open();
  const first = track(h.reader.readuntil('!'));
  h.feed('ab\ncd');
  await tick();
  await tick();
  assertBytes(await track(h.reader.read(3)).value(), 'ab\n');
  h.feed('!');
  assertBytes(await first.value(), 'cd!');
  await assertRest(h, '');
});

singleWaiter.run();
