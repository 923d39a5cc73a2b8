/**
 * readlineNowait(), readuntilNowait(), readexactlyNowait(): the result when the buffer holds
 * it, `null` when the call would wait, and otherwise exactly what the waiting form does. Each
 * error test runs the nowait call on one reader and the waiting form on a twin fed the same
 * way, and compares the error and the bytes left.
 *
 * A pull-mode reader only holds what a read pulled, and a nowait call never pulls; `pullIn()`
 * brings fed bytes into the buffer the way an application's earlier read would (a waiting read
 * that is then aborted, which keeps every byte).
 */
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError, LimitOverrunError } from '../lib/index.ts';
import {
  assertBytes,
  assertRest,
  assertSameError,
  eachSource,
  readRest,
  rejection,
  text,
  tick,
  track,
  type Bytes,
  type ReaderHarness,
  type Source,
} from './_reader-sources.ts';

/** A separator that no test feeds. */
const NEVER = new Uint8Array([0xff, 0xfe, 0xfd]);

/** Feeds `data` and, on a pull-mode reader, pulls it into the buffer without taking any of it. */
async function pullIn(h: ReaderHarness, data: Bytes): Promise<void> {
  h.feed(data);
  if (h.source.push) return;
  const controller = new AbortController();
  // Waits for a separator that never comes (or overruns the limit first): it pulls all there is.
  const pulling = track(h.reader.readuntil(NEVER, { signal: controller.signal }));
  await tick();
  await tick();
  controller.abort(new Error('pulled in'));
  await pulling.error();
}

type Attempt<T> = { value: T } | { error: unknown };

function attempt<T>(call: () => T): Attempt<T> {
  try {
    return { value: call() };
  } catch (error) {
    return { error };
  }
}

function thrown<T>(call: () => T): unknown {
  const result = attempt(call);
  assert.ok('error' in result, `expected a throw, got ${'value' in result ? String(result.value) : ''}`);
  return (result as { error: unknown }).error;
}

/** The same class, message, `consumed`/`partial`/`expected` and `cause` message. */
function assertSameKind(actual: unknown, expected: unknown): void {
  assert.instance(actual, Error);
  assert.instance(expected, Error);
  const a = actual as Error & Partial<LimitOverrunError & IncompleteReadError>;
  const e = expected as Error & Partial<LimitOverrunError & IncompleteReadError>;
  assert.is(a.constructor, e.constructor);
  assert.is(a.message, e.message);
  assert.is(a.consumed, e.consumed);
  assert.is(a.expected, e.expected);
  assert.is(a.partial === undefined ? undefined : text(a.partial), e.partial === undefined ? undefined : text(e.partial));
  assert.is((a.cause as Error | undefined)?.message, (e.cause as Error | undefined)?.message);
  assert.is((a.cause as LimitOverrunError | undefined)?.consumed, (e.cause as LimitOverrunError | undefined)?.consumed);
}

/**
 * Runs `nowait` on one reader and `waiting` on a twin, both given `data` by `pullIn()`: the
 * nowait call must throw what the waiting one rejects with, and leave the same bytes.
 */
function twinError(
  test: Test,
  name: string,
  options: { limit?: number; data: Bytes; eof?: boolean },
  nowait: (h: ReaderHarness) => unknown,
  waiting: (h: ReaderHarness) => Promise<unknown>,
  expectedClass: new (...args: never[]) => Error,
): void {
  eachSource(test, name, async (source: Source) => {
    const readerOptions = { limit: options.limit };
    const [a, b] = [source.open(readerOptions), source.open(readerOptions)];
    for (const h of [a, b]) {
      await pullIn(h, options.data);
      if (options.eof === true) {
        h.feedEof();
        await tick();
      }
    }
    const error = thrown(() => nowait(a));
    assert.instance(error, expectedClass);
    assertSameKind(error, await rejection(waiting(b)));
    assert.is(text(await readRest(a)), text(await readRest(b)), 'the same bytes left');
  });
}

const line = suite('StreamReader.readlineNowait');

eachSource(line, 'returns the buffered lines, then null for a partial one, which stays buffered', async (source) => {
  const h = source.open();
  await pullIn(h, 'one\ntwo\npar');
  assertBytes(h.reader.readlineNowait(), 'one\n');
  assertBytes(h.reader.readlineNowait(), 'two\n');
  assert.is(h.reader.readlineNowait(), null);
  assert.is(h.reader.readlineNowait(), null, 'null again: nothing was taken');
  h.feed('tial\n');
  assertBytes(await track(h.reader.readline()).value(), 'partial\n');
  await assertRest(h, '');
});

eachSource(line, 'never reads from the source: null until a waiting read pulls', async (source) => {
  const h = source.open();
  assert.is(h.reader.readlineNowait(), null, 'an empty reader');
  h.feed('x\n');
  await tick();
  if (source.push) {
    assertBytes(h.reader.readlineNowait(), 'x\n');
  } else {
    assert.is(h.reader.readlineNowait(), null, 'the line is still in the source');
    assertBytes(await track(h.reader.readline()).value(), 'x\n');
  }
  await assertRest(h, '');
});

eachSource(line, 'at EOF returns the unterminated tail, then empty arrays, never null', async (source) => {
  const h = source.open();
  await pullIn(h, 'a\ntail');
  h.feedEof();
  await tick();
  assertBytes(h.reader.readlineNowait(), 'a\n');
  assertBytes(h.reader.readlineNowait(), 'tail');
  assertBytes(h.reader.readlineNowait(), '');
  assertBytes(h.reader.readlineNowait(), '');
  assert.ok(h.reader.atEof());
});

twinError(line, 'a line over the limit throws the RangeError of readline() and discards the same bytes (found)', { limit: 4, data: 'abcdefgh\nxy\n' }, (h) => h.reader.readlineNowait(), (h) => h.reader.readline(), RangeError);

twinError(line, 'a line over the limit throws the RangeError of readline() and discards the same bytes (not found)', { limit: 4, data: 'abcdefgh' }, (h) => h.reader.readlineNowait(), (h) => h.reader.readline(), RangeError);

eachSource(line, 'a line over the limit: the RangeError has the LimitOverrunError as its cause', async (source) => {
  const h = source.open({ limit: 3 });
  await pullIn(h, 'abcdef');
  const error = thrown(() => h.reader.readlineNowait()) as RangeError;
  assert.instance(error, RangeError);
  assert.instance(error.cause, LimitOverrunError);
  h.feed('\nok\n');
  assertBytes(await track(h.reader.readline()).value(), '\n', 'the over-long part was discarded');
  await assertRest(h, 'ok\n');
});

eachSource(line, 'throws the stored exception even when a line is buffered, and takes nothing', async (source) => {
  const h = source.open();
  await pullIn(h, 'line\n');
  const boom = new Error('boom');
  h.setException(boom);
  assertSameError(thrown(() => h.reader.readlineNowait()), boom);
  assertSameError(thrown(() => h.reader.readlineNowait()), boom, 'again');
  assertSameError(await rejection(h.reader.readline()), boom, 'as readline() rejects');
  if (source.push) assertBytes(h.reader._peekBuffer(), 'line\n', 'bytes in the buffer');
});

eachSource(line, 'is allowed while another read waits (it never waits itself), as a CPython read that needs no wait', async (source) => {
  const h = source.open();
  const first = track(h.reader.readuntil('!'));
  await tick();
  assert.is(h.reader.readlineNowait(), null, 'nothing buffered: null, not the single-waiter Error');
  h.feed('ab\ncd');
  await tick();
  await tick();
  assert.not.ok(first.settled);
  assertBytes(h.reader.readlineNowait(), 'ab\n');
  assert.is(h.reader.readlineNowait(), null);
  h.feed('!');
  assertBytes(await first.value(), 'cd!');
  await assertRest(h, '');
});

eachSource(line, 'mixes with readline() and for await: every line once, in order', async (source) => {
  const h = source.open();
  await pullIn(h, 'l1\nl2\nl3\n');
  h.feed('l4\nl5\n');
  h.feedEof();
  const lines: string[] = [];
  const first = h.reader.readlineNowait();
  assert.ok(first !== null);
  lines.push(text(first));
  for (;;) {
    const next = h.reader.readlineNowait() ?? (await track(h.reader.readline()).value());
    if (next.length === 0) break;
    lines.push(text(next));
    if (lines.length === 3) break;
  }
  for await (const rest of h.reader) lines.push(text(rest));
  assert.equal(lines, ['l1\n', 'l2\n', 'l3\n', 'l4\n', 'l5\n']);
  assert.ok(h.reader.atEof());
});

eachSource(line, 'for await yields a buffered line through an already settled promise (no waiting frame)', async (source) => {
  const h = source.open();
  await pullIn(h, 'a\nb\n');
  const lines = h.reader[Symbol.asyncIterator]();
  const order: string[] = [];
  const next = lines.next().then((result) => order.push(`line ${text(result.value as Uint8Array)}`));
  void Promise.resolve().then(() => order.push('first microtask'));
  await next;
  assert.equal(order, ['line a\n', 'first microtask'], 'settled before any other job ran');
  h.feedEof();
  const rest: string[] = [];
  for await (const value of lines) rest.push(text(value));
  assert.equal(rest, ['b\n']);
});

line.run();

const until = suite('StreamReader.readuntilNowait');

eachSource(until, 'returns up to and including the separator (bytes, string, the earliest of several), else null', async (source) => {
  const h = source.open();
  await pullIn(h, 'ab\r\ncd;ef|gh');
  assertBytes(h.reader.readuntilNowait('\r\n'), 'ab\r\n');
  assertBytes(h.reader.readuntilNowait(new Uint8Array([0x3b])), 'cd;');
  assertBytes(h.reader.readuntilNowait(['|', ';', 'zz']), 'ef|');
  assert.is(h.reader.readuntilNowait('\n'), null);
  assert.is(h.reader.readuntilNowait(), null, 'the default separator is \\n');
  await assertRest(h, 'gh');
});

eachSource(until, 'bad separators throw at once what readuntil() rejects with', async (source) => {
  const h = source.open();
  await pullIn(h, 'a\n');
  for (const bad of ['', [], [new Uint8Array(0), 'x'], 5, null, [7]] as unknown[]) {
    const error = thrown(() => h.reader.readuntilNowait(bad as string));
    assertSameKind(error, await rejection(h.reader.readuntil(bad as string)));
  }
  await assertRest(h, 'a\n');
});

twinError(until, 'at EOF without a separator throws the IncompleteReadError of readuntil() and empties the buffer', { data: 'no end', eof: true }, (h) => h.reader.readuntilNowait('\n'), (h) => h.reader.readuntil('\n'), IncompleteReadError);

twinError(until, 'a separator found past the limit throws the LimitOverrunError of readuntil(), the buffer left as it was', { limit: 4, data: 'abcdefg;h' }, (h) => h.reader.readuntilNowait(';'), (h) => h.reader.readuntil(';'), LimitOverrunError);

twinError(until, 'more than the limit searched in vain throws the LimitOverrunError of readuntil()', { limit: 4, data: 'abcdefgh' }, (h) => h.reader.readuntilNowait(['xy', 'z']), (h) => h.reader.readuntil(['xy', 'z']), LimitOverrunError);

eachSource(until, 'throws the stored exception before looking at the buffer', async (source) => {
  const h = source.open();
  await pullIn(h, 'a;');
  const boom = new Error('boom');
  h.setException(boom);
  assertSameError(thrown(() => h.reader.readuntilNowait(';')), boom);
});

eachSource(until, 'returns a separated chunk while readexactly() waits for more than is buffered', async (source) => {
  const h = source.open();
  h.feed('ab;c');
  const waiting = track(h.reader.readexactly(6));
  await tick();
  await tick();
  assert.not.ok(waiting.settled);
  assertBytes(h.reader.readuntilNowait(';'), 'ab;');
  h.feed('defgh');
  assertBytes(await waiting.value(), 'cdefgh');
  await assertRest(h, '');
});

until.run();

const exactly = suite('StreamReader.readexactlyNowait');

eachSource(exactly, 'returns n buffered bytes, else null and takes nothing; 0 returns an empty array', async (source) => {
  const h = source.open();
  await pullIn(h, 'abcdef');
  assertBytes(h.reader.readexactlyNowait(0), '');
  assertBytes(h.reader.readexactlyNowait(2), 'ab');
  assert.is(h.reader.readexactlyNowait(5), null);
  assertBytes(h.reader.readexactlyNowait(4), 'cdef');
  assert.is(h.reader.readexactlyNowait(1), null);
  await assertRest(h, '');
});

eachSource(exactly, 'bad sizes throw at once what readexactly() rejects with', async (source) => {
  const h = source.open();
  await pullIn(h, 'abc');
  for (const bad of [-1, 1.5, Number.NaN, '2', null] as unknown[]) {
    const error = thrown(() => h.reader.readexactlyNowait(bad as number));
    assertSameKind(error, await rejection(h.reader.readexactly(bad as number)));
  }
  await assertRest(h, 'abc');
});

twinError(exactly, 'at EOF with fewer bytes throws the IncompleteReadError of readexactly() and empties the buffer', { data: 'abc', eof: true }, (h) => h.reader.readexactlyNowait(5), (h) => h.reader.readexactly(5), IncompleteReadError);

eachSource(exactly, 'at EOF with enough bytes returns them', async (source) => {
  const h = source.open();
  await pullIn(h, 'abcd');
  h.feedEof();
  await tick();
  assertBytes(h.reader.readexactlyNowait(4), 'abcd');
  assertBytes(h.reader.readexactlyNowait(0), '');
  const error = thrown(() => h.reader.readexactlyNowait(1)) as IncompleteReadError;
  assert.instance(error, IncompleteReadError);
  assert.is(error.expected, 1);
  assertBytes(error.partial, '');
});

eachSource(exactly, 'throws the stored exception even with the bytes buffered', async (source) => {
  const h = source.open();
  await pullIn(h, 'abc');
  const boom = new Error('boom');
  h.setException(boom);
  assertSameError(thrown(() => h.reader.readexactlyNowait(2)), boom);
  assertSameError(thrown(() => h.reader.readexactlyNowait(0)), boom, 'n = 0 too, as readexactly(0)');
});

eachSource(exactly, 'returns null while a large readexactly() is filled straight from arriving bytes (they are its)', async (source) => {
  const h = source.open();
  const size = 8192;
  const waiting = track(h.reader.readexactly(size));
  await tick();
  h.feed('x'.repeat(100));
  await tick();
  await tick();
  assert.is(h.reader.readexactlyNowait(1), null);
  assert.is(h.reader.readuntilNowait('x'), null);
  assert.is(h.reader.readlineNowait(), null);
  h.feed('y'.repeat(size - 100 + 2));
  assertBytes(await waiting.value(), 'x'.repeat(100) + 'y'.repeat(size - 100));
  await assertRest(h, 'yy');
});

exactly.run();
