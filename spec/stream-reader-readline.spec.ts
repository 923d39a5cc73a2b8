import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LimitOverrunError, type StreamReader } from '../lib/index.ts';
import {
  DATA,
  assertBuffered,
  assertBytes,
  assertRead,
  assertRest,
  assertRestAfterDiscard,
  assertSameError,
  eachSource,
  pushSource,
  rejection,
  text,
  tick,
  track,
} from './_reader-sources.ts';

const readline = suite('StreamReader.readline');

const FOUND = 'Separator is found, but chunk is longer than limit';
const NOT_FOUND = 'Separator is not found, and chunk exceed the limit';

function assertOverLimit(error: unknown): void {
  assert.instance(error, RangeError);
  assert.instance((error as Error).cause, LimitOverrunError);
  assert.is((error as Error).message, ((error as Error).cause as Error).message, 'the message is the LimitOverrunError one');
}

eachSource(readline, 'a waiting readline() joins feeds up to the newline', async (source) => {
  const h = source.open();
  h.feed('chunk1 ');
  const pending = track(h.reader.readline());
  await tick();
  assert.not.ok(pending.settled);
  h.feed('chunk2 ');
  h.feed('chunk3 ');
  h.feed('\n chunk4');
  assertBytes(await pending.value(), 'chunk1 chunk2 chunk3 \n');
  await assertRest(h, ' chunk4');
});

eachSource(readline, 'an over-long line already buffered is dropped with its newline', async (source) => {
  const h = source.open({ limit: 3 });
  h.feed('li');
  h.feed('ne1\nline2\n');
  assertOverLimit(await rejection(h.reader.readline()));
  await assertRestAfterDiscard(h, 'line1\nline2\n', 'line2\n');
});

eachSource(readline, 'an over-long buffer without a newline is dropped whole', async (source) => {
  const h = source.open({ limit: 3 });
  h.feed('li');
  h.feed('ne1');
  h.feed('li');
  assertOverLimit(await rejection(h.reader.readline()));
  await assertRestAfterDiscard(h, 'line1li', '');
});

readline('the over-limit messages and what stays in the buffer [push]', async () => {
  const found = pushSource.open({ limit: 3 });
  found.feed('line1\nline2\n');
  const foundError = await rejection(found.reader.readline());
  assertOverLimit(foundError);
  assert.is((foundError as Error).message, FOUND);
  assert.is(((foundError as Error).cause as LimitOverrunError).consumed, 5);
  await assertRest(found, 'line2\n');

  const notFound = pushSource.open({ limit: 3 });
  notFound.feed('line1');
  const notFoundError = await rejection(notFound.reader.readline());
  assertOverLimit(notFoundError);
  assert.is((notFoundError as Error).message, NOT_FOUND);
  await assertRest(notFound, '');
});

eachSource(readline, 'an over-long line fed to a waiting readline() empties a one-line buffer', async (source) => {
  const h = source.open({ limit: 7 });
  const pending = track(h.reader.readline());
  await tick();
  h.feed('chunk1');
  h.feed('chunk2');
  h.feed('chunk3\n');
  h.feedEof();
  assertOverLimit(await pending.error());
  await assertRestAfterDiscard(h, 'chunk1chunk2chunk3\n', '');
});

eachSource(readline, 'an over-long line fed to a waiting readline() leaves the next line', async (source) => {
  const h = source.open({ limit: 7 });
  const pending = track(h.reader.readline());
  await tick();
  h.feed('chunk1');
  h.feed('chunk2\n');
  h.feed('chunk3\n');
  h.feedEof();
  assertOverLimit(await pending.error());
  await assertRestAfterDiscard(h, 'chunk1chunk2\nchunk3\n', 'chunk3\n');
});

eachSource(readline, 'an over-long line fed before readline() leaves the next line', async (source) => {
  const h = source.open({ limit: 7 });
  h.feed('chunk1');
  h.feed('chunk2\n');
  h.feed('chunk3\n');
  h.feedEof();
  assertOverLimit(await rejection(h.reader.readline()));
  await assertRestAfterDiscard(h, 'chunk1chunk2\nchunk3\n', 'chunk3\n');
});

readline('the limit is strict and the reader stays usable after an over-long line [push]', async () => {
  const h = pushSource.open({ limit: 7 });
  h.feed('1234567\n');
  assertBytes(await h.reader.readline(), '1234567\n');
  assertBuffered(h, '');

  h.feed('12345678\n');
  assertOverLimit(await rejection(h.reader.readline()));
  assertBuffered(h, '');

  h.feed('12345678');
  assertOverLimit(await rejection(h.reader.readline()));
  assertBuffered(h, '');

  h.feed('next\n');
  assertBytes(await h.reader.readline(), 'next\n');
  await assertRest(h, '');
});

eachSource(readline, 'a line of exactly limit bytes passes', async (source) => {
  const h = source.open({ limit: 7 });
  h.feed('1234567\n');
  assertBytes(await h.reader.readline(), '1234567\n');
  await assertRest(h, '');
});

eachSource(readline, 'a line one byte over the limit fails, with its newline', async (source) => {
  const h = source.open({ limit: 7 });
  h.feed('12345678\n');
  assertOverLimit(await rejection(h.reader.readline()));
  await assertRestAfterDiscard(h, '12345678\n', '');
});

eachSource(readline, 'a line one byte over the limit fails, without its newline', async (source) => {
  const h = source.open({ limit: 7 });
  h.feed('12345678');
  assertOverLimit(await rejection(h.reader.readline()));
  await assertRestAfterDiscard(h, '12345678', '');
});

eachSource(readline, 'readline() returns the first of several buffered lines', async (source) => {
  const h = source.open();
  h.feed(DATA.slice(0, 6));
  h.feed(DATA.slice(6));
  assertBytes(await h.reader.readline(), 'line1\n');
  await assertRest(h, 'line2\nline3\n');
});

eachSource(readline, 'readline() returns a last line without newline at EOF, then nothing', async (source) => {
  const h = source.open();
  h.feed('some data');
  h.feedEof();
  assertBytes(await h.reader.readline(), 'some data');
  assertBytes(await h.reader.readline(), '');
  assert.ok(h.reader.atEof());
  await assertRest(h, '');
});

eachSource(readline, 'readline() returns nothing at EOF', async (source) => {
  const h = source.open();
  h.feedEof();
  assertBytes(await h.reader.readline(), '');
  await assertRest(h, '');
});

eachSource(readline, 'read(n) after readline() continues where the line ended', async (source) => {
  const h = source.open();
  h.feed(DATA);
  assertBytes(await h.reader.readline(), 'line1\n');
  await assertRead(h, 7, 'line2\nl');
  await assertRest(h, 'ine3\n');
});

eachSource(readline, 'a set exception is thrown as it is, not converted', async (source) => {
  const h = source.open();
  h.feed('line\n');
  assertBytes(await h.reader.readline(), 'line\n');
  const error = new RangeError();
  h.setException(error);
  assertSameError(await rejection(h.reader.readline()), error);
  assertBuffered(h, '');
});

/** The README's recipe: the next line of at most `limit` bytes; longer lines are skipped, to their end. */
async function nextShortLine(reader: StreamReader): Promise<Uint8Array> {
  let skipping = false;
  for (;;) {
    try {
      const line = await reader.readuntil('\n');
      if (!skipping) return line;
      skipping = false;
    } catch (error) {
      if (!(error instanceof LimitOverrunError)) throw error;
      await reader.readexactly(error.consumed);
      skipping = true;
    }
  }
}

eachSource(readline, 'discards only the buffered part of an overlong line; the rest comes back as a line', async (source) => {
  const h = source.open({ limit: 8 });
  h.feed('0123456789');
  const overrun = track(h.reader.readline());
  assert.instance(await overrun.error(), RangeError);
  h.feed('ab\nshort\n');
  h.feedEof();
  // A pull-mode reader had pulled only part of the line when the limit tripped.
  const rest = text(await h.reader.readline());
  assert.ok('0123456789ab\n'.endsWith(rest) && rest.endsWith('ab\n') && rest.length < 13, rest);
  if (source.push) assert.is(rest, 'ab\n');
  assertBytes(await h.reader.readline(), 'short\n');
});

eachSource(readline, "the README's recipe skips overlong lines whole, however they arrive", async (source) => {
  const h = source.open({ limit: 8 });
  const lines = track((async () => [text(await nextShortLine(h.reader)), text(await nextShortLine(h.reader)), text(await nextShortLine(h.reader))])());
  for (const piece of ['ok\n', '0123456789', 'abcdefghij', 'klm\nfine\n', 'also too long\n', 'last\n']) {
    h.feed(piece);
    await tick();
  }
  h.feedEof();
  assert.equal(await lines.value(), ['ok\n', 'fine\n', 'last\n']);
});

readline.run();
