/**
 * readexactly() of more than 4 KiB that has to wait fills its result straight from the bytes
 * that arrive (see `#readexactlyDirect`): the same answers, through a different path.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError } from '../lib/index.ts';
import { assertBuffered, assertRest, eachSource, pushSource, tick, track } from './_reader-sources.ts';

const SIZE = 20_000;
const payload = Uint8Array.from({ length: SIZE + 500 }, (_, i) => (i * 31 + 7) & 0xff);
const CHUNK = 3_001;

function feedInChunks(feed: (data: Uint8Array) => void, data: Uint8Array): void {
  for (let at = 0; at < data.length; at += CHUNK) feed(data.slice(at, at + CHUNK));
}

const large = suite('StreamReader.readexactly of large sizes');

eachSource(large, 'fills a large result from many later chunks, and keeps the rest', async (source) => {
  const h = source.open();
  h.feed(payload.slice(0, 10));
  const pending = track(h.reader.readexactly(SIZE));
  await tick();
  assert.not.ok(pending.settled);
  feedInChunks((data) => h.feed(data), payload.subarray(10));
  assert.equal(await pending.value(), payload.subarray(0, SIZE));
  await assertRest(h, payload.subarray(SIZE));
});

eachSource(large, 'ending early gives every byte as partial and empties the buffer', async (source) => {
  const h = source.open();
  const pending = track(h.reader.readexactly(SIZE));
  await tick();
  feedInChunks((data) => h.feed(data), payload.subarray(0, 10_000));
  await tick();
  h.feedEof();
  const error = await pending.error();
  assert.ok(error instanceof IncompleteReadError);
  assert.is(error.expected, SIZE);
  assert.equal(error.partial, payload.subarray(0, 10_000));
  assert.ok(h.reader.atEof());
});

eachSource(large, 'an abort puts every byte back, in order', async (source) => {
  const h = source.open();
  const controller = new AbortController();
  const pending = track(h.reader.readexactly(SIZE, { signal: controller.signal }));
  await tick();
  feedInChunks((data) => h.feed(data), payload.subarray(0, 6_000));
  await tick();
  controller.abort(new Error('stop'));
  const error = await pending.error();
  assert.is((error as Error).message, 'stop');
  feedInChunks((data) => h.feed(data), payload.subarray(6_000));
  assert.equal(await h.reader.readexactly(SIZE), payload.subarray(0, SIZE));
  await assertRest(h, payload.subarray(SIZE));
});

large('counts the bytes it holds as buffered while it waits', async () => {
  const h = pushSource.open();
  const pending = track(h.reader.readexactly(SIZE));
  await tick();
  h.feed(payload.slice(0, 5_000));
  assert.is(String(h.reader), '<StreamReader 5000 bytes>');
  assertBuffered(h, payload.subarray(0, 5_000));
  assert.not.ok(h.reader.atEof());
  h.feed(payload.slice(5_000, SIZE));
  assert.equal(await pending.value(), payload.subarray(0, SIZE));
});

large('results of earlier reads are not touched by a large one', async () => {
  const h = pushSource.open();
  h.feed(payload.slice(0, 100));
  const small = await h.reader.readexactly(50);
  const pending = track(h.reader.readexactly(SIZE));
  await tick();
  feedInChunks((data) => h.feed(data), payload.subarray(100));
  await pending.value();
  assert.equal(small, payload.subarray(0, 50));
});

large.run();
