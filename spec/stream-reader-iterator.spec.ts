import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LimitOverrunError } from '../lib/index.ts';
import { assertBytes, assertRest, assertRestAfterDiscard, eachSource, text, tick, track } from './_reader-sources.ts';

const iterator = suite('StreamReader[Symbol.asyncIterator]');

eachSource(iterator, 'yields every line, the last one without newline, then ends', async (source) => {
  const h = source.open();
  h.feed('a\nb\nc');
  h.feedEof();
  const lines: string[] = [];
  for await (const line of h.reader) lines.push(text(line));
  assert.equal(lines, ['a\n', 'b\n', 'c']);
  await assertRest(h, '');
});

eachSource(iterator, 'yields nothing for an empty stream', async (source) => {
  const h = source.open();
  h.feedEof();
  let count = 0;
  for await (const line of h.reader) count += line.length + 1;
  assert.is(count, 0);
  await assertRest(h, '');
});

eachSource(iterator, 'waits for lines as they come', async (source) => {
  const h = source.open();
  const lines: string[] = [];
  const loop = track((async () => {
    for await (const line of h.reader) lines.push(text(line));
  })());
  await tick();
  h.feed('one\ntw');
  await tick();
  assert.equal(lines, ['one\n']);
  h.feed('o\n');
  await tick();
  assert.equal(lines, ['one\n', 'two\n']);
  h.feedEof();
  await loop.value();
  assert.ok(h.reader.atEof());
});

eachSource(iterator, 'an over-long line ends the loop with the RangeError', async (source) => {
  const h = source.open({ limit: 3 });
  h.feed('a\nlongline\nz\n');
  h.feedEof();
  const lines: string[] = [];
  let caught: unknown = null;
  try {
    for await (const line of h.reader) lines.push(text(line));
  } catch (error) {
    caught = error;
  }
  assert.equal(lines, ['a\n']);
  assert.instance(caught, RangeError);
  assert.instance((caught as Error).cause, LimitOverrunError);
  if (source.push) assert.is((caught as Error).message, 'Separator is found, but chunk is longer than limit');
  await assertRestAfterDiscard(h, 'longline\nz\n', 'z\n');
});

eachSource(iterator, 'leaving the loop early keeps the lines not yet read', async (source) => {
  const h = source.open();
  h.feed('a\nb\nc\n');
  for await (const line of h.reader) {
    assertBytes(line, 'a\n');
    break;
  }
  assertBytes(await h.reader.readline(), 'b\n');
  await assertRest(h, 'c\n');
});

iterator.run();
