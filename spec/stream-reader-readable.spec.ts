import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DATA, assertBytes, assertSameError, eachSource, rejection, sources, text, tick, track } from './_reader-sources.ts';

const readable = suite('StreamReader.readable');

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

eachSource(readable, 'holds the bytes not yet read, buffered ones first', async (source) => {
  const h = source.open();
  h.feed(DATA);
  h.feed('tail');
  assertBytes(await h.reader.readline(), 'line1\n');
  assertBytes(await h.reader.readline(), 'line2\n');
  h.feed(' and more');
  h.feedEof();
  assertBytes(await drain(h.reader.readable), 'line3\ntail and more');
  assert.ok(h.reader.atEof());
});

eachSource(readable, 'is everything when nothing was read', async (source) => {
  const h = source.open();
  h.feed('abc');
  h.feedEof();
  assertBytes(await drain(h.reader.readable), 'abc');
});

eachSource(readable, 'waits for bytes fed later and ends at EOF', async (source) => {
  const h = source.open();
  const body = track(drain(h.reader.readable));
  await tick();
  h.feed('late ');
  await tick();
  h.feed('bytes');
  await tick();
  assert.not.ok(body.settled, 'waits for EOF');
  h.feedEof();
  assertBytes(await body.value(), 'late bytes');
});

eachSource(readable, 'an empty feed does not end it', async (source) => {
  const h = source.open();
  const body = track(drain(h.reader.readable));
  await tick();
  h.feed('');
  await tick();
  h.feed('data');
  h.feedEof();
  assertBytes(await body.value(), 'data');
});

/** Reads `stream` to its end with a BYOB reader into small views; every read must settle. */
async function drainByob(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader({ mode: 'byob' });
  let received = '';
  for (;;) {
    const { done, value } = await track(reader.read(new Uint8Array(3))).value();
    if (done) break;
    received += text(value);
  }
  reader.releaseLock();
  return received;
}

eachSource(readable, 'read with a BYOB reader, ends: the read after the last byte settles done', async (source) => {
  const h = source.open();
  h.feed(DATA);
  h.feedEof();
  assert.is(await drainByob(h.reader.readable), DATA);
});

eachSource(readable, 'read with a BYOB reader after readexactly(), ends', async (source) => {
  const h = source.open();
  h.feed('head');
  h.feed('body bytes');
  h.feedEof();
  assertBytes(await h.reader.readexactly(4), 'head');
  assert.is(await drainByob(h.reader.readable), 'body bytes');
});

eachSource(readable, 'read with a BYOB reader with nothing buffered at EOF, ends at the first read', async (source) => {
  const h = source.open();
  h.feedEof();
  assert.is(await drainByob(h.reader.readable), '');
});

eachSource(readable, 'read with a BYOB reader while bytes arrive later, ends at EOF', async (source) => {
  const h = source.open();
  const body = track(drainByob(h.reader.readable));
  await tick();
  h.feed('late');
  await tick();
  h.feedEof();
  assert.is(await body.value(), 'late');
});

eachSource(readable, 'errors with the exception set on the reader', async (source) => {
  const h = source.open();
  h.feed('ab\ncd');
  assertBytes(await h.reader.readline(), 'ab\n');
  const error = new Error('boom');
  let received = '';
  const stream = h.reader.readable.getReader();
  const body = track((async () => {
    for (;;) {
      const { done, value } = await stream.read();
      if (done) return;
      received += text(value);
    }
  })());
  await tick();
  h.setException(error);
  assertSameError(await body.error(), error);
  assert.is(received, 'cd');
  assertSameError(await rejection(h.reader.read()), error);
});

eachSource(readable, 'a BYOB read with a view smaller than the buffered bytes takes what fits; the rest stays the reader\'s', async (source) => {
  const h = source.open();
  h.feed('abcdefghij');
  h.feedEof();
  assertBytes(await h.reader.readexactly(1), 'a');
  const byob = h.reader.readable.getReader({ mode: 'byob' });
  const { value } = await byob.read(new Uint8Array(4));
  const got = text(value!);
  // What is buffered, up to the view's size: all four where the feed came whole.
  assert.ok(got.length > 0 && 'bcde'.startsWith(got), `a prefix of what fits (${JSON.stringify(got)})`);
  byob.releaseLock();
  assert.is(got + text(await h.reader.read()), 'bcdefghij', 'the rest is still the reader\'s');
  assert.ok(h.reader.atEof());
});

eachSource(
  readable,
  'cancelled while its read waits, it takes no byte and holds no wait: the reader reads on',
  async (source) => {
    // Push mode only: cancelling a pull-mode reader's stream cancels its source (documented).
    const h = source.open();
    const body = h.reader.readable.getReader();
    const pending = track(body.read());
    await tick();
    await body.cancel(new Error('done with it'));
    assert.equal(await pending.value(), { done: true, value: undefined });
    const line = track(h.reader.readline());
    h.feed('two\nrest');
    h.feedEof();
    assertBytes(await line.value(), 'two\n', 'the reader reads the bytes, not the cancelled stream');
    assertBytes(await h.reader.read(), 'rest');
  },
  sources.filter((source) => source.push),
);

readable.run();
