/**
 * Runs one behavioural StreamReader test over every kind of source: push mode (`feedData`),
 * native and web-streams-polyfill ReadableStreams (byte streams read with BYOB, default
 * streams read chunk by chunk) and a stream that hands over one byte per chunk.
 *
 * The CPython tests check `stream._buffer`. That is only comparable in push mode: a pull-mode
 * reader leaves undelivered bytes in its source, so there the check becomes "everything still
 * readable once the source ends", which must equal CPython's buffer plus what was fed since.
 */
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import { ReadableStream as PolyfillReadableStream } from 'web-streams-polyfill';
import { StreamReader, StreamReaderProtocol } from '../lib/index.ts';

/** CPython's `DATA` in test_streams.py. */
export const DATA = 'line1\nline2\nline3\n';

export type Bytes = Uint8Array | string;

export function bytes(data: Bytes): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/** One character per byte, so a failed comparison prints readable text. */
export function text(data: Bytes): string {
  return typeof data === 'string' ? data : String.fromCharCode(...data);
}

export function assertBytes(actual: unknown, expected: Bytes, message?: string): void {
  assert.instance(actual, Uint8Array, message);
  assert.is(text(actual as Uint8Array), text(expected), message);
}

/** Lets every pending job and the timer queue run, so a read started before it is really waiting. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** How long a tracked read may stay pending before the test fails instead of hanging. */
const PENDING_LIMIT_MS = 2000;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise watched from the moment it is made, so a rejection is never reported as unhandled. */
export interface Tracked<T> {
  readonly settled: boolean;
  outcome(): Promise<Outcome<T>>;
  value(): Promise<T>;
  error(): Promise<unknown>;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  let settled = false;
  const outcome: Promise<Outcome<T>> = promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
  void outcome.then(() => {
    settled = true;
  });
  // A read that never settles would end the process mid-suite ("Exiting early"): fail instead.
  const settle = async (): Promise<Outcome<T>> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new assert.Assertion({
        message: `still pending after ${PENDING_LIMIT_MS} ms`,
        operator: 'settles',
        expects: 'settled',
        actual: 'pending',
      })), PENDING_LIMIT_MS);
    });
    try {
      return await Promise.race([outcome, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    get settled() {
      return settled;
    },
    outcome: settle,
    async value() {
      const result = await settle();
      assert.ok(result.ok, `expected a value, got ${result.ok ? '' : String(result.error)}`);
      return result.value;
    },
    async error() {
      const result = await settle();
      assert.ok(!result.ok, 'expected a rejection, got a value');
      return result.error;
    },
  };
}

/** `actual` is that very error object (an identity check that names both when it fails). */
export function assertSameError(actual: unknown, expected: unknown, message = 'the same error'): void {
  assert.ok(actual === expected, `${message}: expected ${String(expected)}, got ${String(actual)}`);
}

/** The error `promise` rejects with; fails the test if it fulfils. */
export function rejection(promise: Promise<unknown>): Promise<unknown> {
  return track(promise).error();
}

export interface ReaderHarness {
  readonly reader: StreamReader;
  readonly source: Source;
  /** Push mode: `feedData`. Pull modes: enqueue (a copy) into the source. */
  feed(data: Bytes): void;
  /** Push mode: `feedEof`. Pull modes: close the source. Calling it twice is harmless. */
  feedEof(): void;
  setException(error: unknown): void;
  /** Pull modes only: errors the source stream itself. */
  failSource(error: unknown): void;
}

export interface Source {
  readonly name: string;
  /** The reader's buffer holds every unread byte, so `_peekBuffer()` can be compared with CPython's. */
  readonly push: boolean;
  /**
   * Chunks are smaller than the feeds, so `read(n)` may return less than push mode would.
   * (Every other source delivers at least one whole feed per pull.)
   */
  readonly splitsFeeds: boolean;
  open(options?: { limit?: number }): ReaderHarness;
}

interface Controller {
  enqueue(chunk: Uint8Array): void;
  close(): void;
  error(reason?: unknown): void;
  /** Byte streams only. */
  readonly byobRequest?: { respond(bytesWritten: number): void } | null;
}

type StreamConstructor = new (source: { type?: 'bytes'; start(controller: Controller): void }) => object;

/** A push-mode source: `feedOf(reader)` says how each chunk reaches the reader. */
function pushSourceOf(name: string, feedOf: (reader: StreamReader) => (data: Uint8Array) => void): Source {
  const source: Source = {
    name,
    push: true,
    splitsFeeds: false,
    open(options) {
      const reader = new StreamReader(options);
      const feed = feedOf(reader);
      return {
        reader,
        source,
        feed: (data) => feed(bytes(data)),
        feedEof: () => reader.feedEof(),
        setException: (error) => reader.setException(error),
        failSource: () => {
          throw new Error('a push-mode reader has no source stream');
        },
      };
    },
  };
  return source;
}

export const pushSource = pushSourceOf('push', (reader) => (data) => reader.feedData(data));

/** Through `StreamReaderProtocol`, each chunk handed over as a transport's (the reader may keep it). */
export const protocolSource = pushSourceOf('protocol, chunks handed over', (reader) => {
  const protocol = new StreamReaderProtocol(reader);
  return (data) => protocol.dataReceived(data.slice());
});

function pullSource(name: string, Stream: StreamConstructor, type: 'bytes' | 'default', oneBytePerChunk: boolean): Source {
  const source: Source = {
    name,
    push: false,
    splitsFeeds: oneBytePerChunk,
    open(options) {
      let controller: Controller | undefined;
      const stream = new Stream({
        ...(type === 'bytes' ? { type } : {}),
        start(c) {
          controller = c;
        },
      });
      const reader = StreamReader.from(stream as ReadableStream<Uint8Array>, options);
      let ended = false;
      const enqueue = (chunk: Uint8Array) => {
        // A byte stream transfers the chunk's ArrayBuffer and refuses empty chunks.
        if (type === 'bytes' && chunk.length === 0) return;
        controller!.enqueue(chunk.slice());
      };
      return {
        reader,
        source,
        feed(data) {
          const chunk = bytes(data);
          if (!oneBytePerChunk) return enqueue(chunk);
          for (let i = 0; i < chunk.length; i++) enqueue(chunk.subarray(i, i + 1));
        },
        feedEof() {
          if (ended) return;
          ended = true;
          controller!.close();
          // A BYOB read already waiting is only answered by respond(0) (Streams spec,
          // ReadableByteStreamControllerClose leaves pending pull-intos to the source).
          controller!.byobRequest?.respond(0);
        },
        setException: (error) => reader.setException(error),
        failSource(error) {
          ended = true;
          controller!.error(error);
        },
      };
    },
  };
  return source;
}

const NativeStream = globalThis.ReadableStream as unknown as StreamConstructor;
const PolyfillStream = PolyfillReadableStream as unknown as StreamConstructor;

export const sources: readonly Source[] = [
  pushSource,
  protocolSource,
  pullSource('native byte stream, BYOB', NativeStream, 'bytes', false),
  pullSource('native default stream', NativeStream, 'default', false),
  pullSource('one byte per chunk', NativeStream, 'default', true),
  pullSource('polyfill byte stream, BYOB', PolyfillStream, 'bytes', false),
  pullSource('polyfill default stream', PolyfillStream, 'default', false),
];

export const pullSources: readonly Source[] = sources.filter((source) => !source.push);

/** Registers `body` once per source, as `name [source]`. */
export function eachSource(test: Test, name: string, body: (source: Source) => Promise<void> | void, only: readonly Source[] = sources): void {
  for (const source of only) test(`${name} [${source.name}]`, () => body(source));
}

/** Push mode: the buffer right now is CPython's `stream._buffer`. Pull modes: not comparable mid-test. */
export function assertBuffered(h: ReaderHarness, expected: Bytes): void {
  if (h.source.push) assertBytes(h.reader._peekBuffer(), expected, 'bytes in the buffer');
}

/** Ends the source and returns every byte still readable. */
export async function readRest(h: ReaderHarness): Promise<Uint8Array> {
  h.feedEof();
  return track(h.reader.read()).value();
}

/**
 * The bytes left are `expected` (CPython's buffer plus what was fed since): in push mode the
 * buffer itself, in every mode what a final `read()` returns once the source has ended.
 */
export async function assertRest(h: ReaderHarness, expected: Bytes): Promise<void> {
  assertBuffered(h, expected);
  assertBytes(await readRest(h), expected, 'bytes left to read');
  assert.ok(h.reader.atEof(), 'at EOF after reading the rest');
}

/**
 * After readline() dropped an over-long line. Push mode must leave exactly CPython's buffer.
 * A pull-mode reader only drops what it had pulled when the limit tripped (CPython: "the data
 * discarded depends on how much had arrived"), so there the rest must be a proper suffix of
 * everything fed that still holds CPython's rest.
 */
export async function assertRestAfterDiscard(h: ReaderHarness, fed: Bytes, expected: Bytes): Promise<void> {
  if (h.source.push) return assertRest(h, expected);
  const rest = text(await readRest(h));
  const all = text(fed);
  assert.ok(all.endsWith(rest), `the rest ${JSON.stringify(rest)} is a suffix of what was fed`);
  assert.ok(rest.length < all.length, 'something was dropped');
  assert.ok(rest.length >= text(expected).length, `the rest ${JSON.stringify(rest)} still holds ${JSON.stringify(text(expected))}`);
}

/**
 * `read(n)` returns CPython's `expected`. A source that splits feeds may hand those bytes over
 * in several reads, each a non-empty prefix of what is still expected: they must add up to it.
 */
export async function assertRead(h: ReaderHarness, n: number, expected: Bytes): Promise<void> {
  await assertReadFrom(h, await track(h.reader.read(n)).value(), n, expected);
}

/** As `assertRead`, for a `read(n)` already made (one that was waiting) that returned `first`. */
export async function assertReadFrom(h: ReaderHarness, first: Uint8Array, n: number, expected: Bytes): Promise<void> {
  const want = text(expected);
  if (!h.source.splitsFeeds || n < 0) return assertBytes(first, want, `read(${n})`);
  let got = text(first);
  for (;;) {
    assert.ok(want.startsWith(got), `read(${n}) pieces ${JSON.stringify(got)} are a prefix of ${JSON.stringify(want)}`);
    if (got.length === want.length) return;
    const piece = text(await track(h.reader.read(n - got.length)).value());
    assert.ok(piece.length > 0, `read(${n - got.length}) returned nothing before ${JSON.stringify(want)} was complete`);
    got += piece;
  }
}
