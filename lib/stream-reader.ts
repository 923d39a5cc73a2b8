import { IncompleteReadError } from './errors.ts';
import { LimitOverrunError } from './errors.ts';
import { byteStream } from './_byte-stream.ts';
import { ByteBuffer } from './_byte-buffer.ts';
import { ResultSlab } from './_result-slab.ts';
import { findSeparator, indexOfSequence, type Separator } from './_separators.ts';
import { PULL_SIZE, PullSource, type PullTarget } from './_pull-source.ts';
import type { ClaimedReadable } from './_socket-reads.ts';
import {
  checkExactSize,
  checkFedData,
  checkLimit,
  checkOptionNames,
  checkReadable,
  checkSeparator,
  checkSignalOptions,
  checkSize,
  checkView,
  SIGNAL_OPTIONS,
  STREAM_READER_OPTIONS,
} from './_checks.ts';
import type { Bytes } from './_bytes.ts';

export type { Separator } from './_separators.ts';

/** asyncio's `_DEFAULT_LIMIT`: 64 KiB. */
const DEFAULT_LIMIT = 65536;
const NEWLINE = 10;
/** `readline()`'s separator, normalized once. */
const NEWLINE_SEPARATORS: readonly Uint8Array[] = [new Uint8Array([NEWLINE])];
/** A waiting `readexactly(n)` with `n` in this range fills its result straight from new data. */
const DIRECT_MIN = 4 * 1024;
const DIRECT_MAX = 1024 * 1024;

/** Options of {@linkcode StreamReader}. */
export interface StreamReaderOptions {
  /**
   * The longest line (or chunk before a separator) that `readline()`/`readuntil()` accept,
   * and half of how much the reader buffers before it stops reading. Default 65536.
   */
  limit?: number;
}

/** The last argument of every read. */
export interface ReadOptions {
  /** Aborting rejects the read with the signal's reason; no byte it had not returned is lost. */
  signal?: AbortSignal | undefined;
}

/**
 * What a push-mode reader can pause and resume: asyncio's `pause_reading()`/`resume_reading()`.
 */
export interface ReadingTransport {
  /** Stops taking bytes from the peer: the reader holds more than twice its limit. */
  pauseReading(): void;
  /** Takes bytes from the peer again: the reader has drained to its limit. */
  resumeReading(): void;
}

/** Whether `data` spans all of its own `ArrayBuffer` (not a slice of a pool, not shared memory). */
function ownsItsBuffer(data: Uint8Array): data is Uint8Array<ArrayBuffer> {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
}

/** A large `readexactly()`, or a `readexactlyInto()`, being filled straight from incoming data. */
interface DirectRead {
  readonly result: Uint8Array;
  filled: number;
}

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}

/**
 * Where a reader that a connection holds only weakly is kept while one of its reads waits:
 * the code awaiting that read is reachable only through the reader, and must not be
 * collected with it (see `StreamReaderProtocol`).
 * @internal
 */
export interface WaitingReaderHolder {
  _waitingReader: StreamReader | null;
}

/** The `signal` of a read's options, which are checked first: `functionName` names the read. */
function signalOf(options: ReadOptions | undefined, functionName: string): AbortSignal | undefined {
  return checkSignalOptions(options, SIGNAL_OPTIONS, functionName);
}

function ignore(): void {}

/**
 * The buffer of every reader nothing was fed yet, shared: an idle connection's reader holds
 * no buffer of its own. It is only ever read (it is empty); the first bytes a reader gets, or
 * its pull source, give it one of its own (`#feed()`, `from()`). So a read never keeps
 * `this.#buffer` in a local across a wait: after it, the reader's buffer may be another.
 */
const UNFED = new ByteBuffer(PULL_SIZE);

function concat(blocks: readonly Uint8Array[], total: number): Bytes {
  const joined = new Uint8Array(total);
  let at = 0;
  for (const block of blocks) {
    joined.set(block, at);
    at += block.length;
  }
  return joined;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}(${error.message === '' ? '' : `'${error.message}'`})`;
  return String(error);
}

/**
 * Reads bytes from a stream the way asyncio's `StreamReader` does: lines, exact sizes and
 * everything up to a separator, with CPython 3.13's semantics to the byte — the order of the
 * checks, the error messages, and what stays buffered after each error.
 *
 * It works in one of two modes. In push mode (`new StreamReader()`) a protocol feeds it with
 * `feedData()`/`feedEof()`, as in asyncio. In pull mode (`StreamReader.from(readable)`) it
 * reads a `ReadableStream` itself, only when a read needs more bytes: a byte stream through a
 * BYOB reader straight into its buffer, any other stream through a default reader.
 *
 * Only one read may wait for data at a time (CPython's rule); a second one that has to wait
 * throws an `Error`. Results are copies that belong to the caller; small ones share a pooled
 * `ArrayBuffer`, as Node's `Buffer`s do, so use `byteOffset`/`byteLength` with `.buffer`.
 *
 * @example
 * ```ts
 * import { StreamReader } from 'asyncio-streams';
 *
 * const reader = StreamReader.from(new Response('HELO example\r\nDATA\r\n').body!);
 * const greeting = await reader.readuntil('\r\n'); // bytes of 'HELO example\r\n'
 * for await (const line of reader) console.log(new TextDecoder().decode(line));
 * ```
 */
export class StreamReader {
  readonly #limit: number;
  /** `UNFED` until the first bytes arrive (see there). */
  #buffer = UNFED;
  /** Made by the first read that returns bytes. */
  #results: ResultSlab | null = null;
  #eof = false;
  #exception: unknown = null;
  #waiter: Waiter | null = null;
  #holder: WaitingReaderHolder | null = null;
  #transport: ReadingTransport | null = null;
  #paused = false;
  /** The stream a pull-mode reader reads; null in push mode. */
  #source: PullSource | null = null;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #direct: DirectRead | null = null;

  /**
   * Creates a push-mode reader, fed by `feedData()` and `feedEof()`.
   *
   * @param options `limit` (default 65536)
   * @throws {RangeError} when `limit` is not above 0
   * @example
   * ```ts
   * const reader = new StreamReader({ limit: 1024 });
   * reader.feedData(new TextEncoder().encode('PING\r\n'));
   * await reader.readline(); // 'PING\r\n'
   * ```
   */
  constructor(options: StreamReaderOptions = {}) {
    checkOptionNames(options, STREAM_READER_OPTIONS, 'StreamReader()');
    // `null` gives the default here, as it always has (the connection functions refuse it).
    this.#limit = checkLimit(options.limit ?? undefined, DEFAULT_LIMIT);
  }

  /**
   * Creates a pull-mode reader over `readable`, which it locks. A byte stream is read with a
   * BYOB reader into the reader's own buffer; other streams with a default reader. The
   * reader pulls only when a read needs more bytes than it holds, so a fast source cannot
   * fill memory: at most about `2 * limit` bytes (or what one `readexactly(n)` asks for).
   *
   * @param readable any `ReadableStream<Uint8Array>`: a socket's, a `fetch` body, a file's
   * @param options `limit` (default 65536)
   * @returns the reader; the stream's end is its EOF and the stream's error its exception
   * @throws {TypeError} when `readable` is locked or not a stream
   * @example
   * ```ts
   * const reader = StreamReader.from((await fetch(url)).body!);
   * const statusLine = await reader.readline();
   * ```
   */
  static from(readable: ReadableStream<Uint8Array>, options: StreamReaderOptions = {}): StreamReader {
    checkReadable(readable);
    checkOptionNames(options, STREAM_READER_OPTIONS, 'StreamReader.from()');
    return StreamReader._pulling(readable, options);
  }

  /**
   * A pull-mode reader, as `from()` makes, over a stream or over a socket's readable side that
   * the connection's reader claimed (see `Transport._claimReadable()`).
   * @internal
   */
  static _pulling(readable: ReadableStream<Uint8Array> | ClaimedReadable, options: StreamReaderOptions): StreamReader {
    const reader = new StreamReader(options);
    reader.#buffer = new ByteBuffer(PULL_SIZE);
    reader.#source = new PullSource(readable, new StreamReader.#PullTarget(reader));
    return reader;
  }

  /** The limit this reader was created with. */
  get limit(): number {
    return this.#limit;
  }

  /** The transport set with `setTransport()`, or `null`. */
  get transport(): ReadingTransport | null {
    return this.#transport;
  }

  /** The stored exception (set by `setException()` or a failed source), or `null`. */
  exception(): unknown {
    return this.#exception;
  }

  /**
   * Stores `error`: the waiting read (if any) and every later read rejects with it, even
   * when bytes are still buffered. The buffer and EOF are left as they are.
   *
   * @param error what reads will reject with
   */
  setException(error: unknown): void {
    // `undefined` is "none" too, as `set_exception(None)` is.
    this.#exception = error ?? null;
    if (this.#exception === null) return;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#setWaiter(null);
      waiter.reject(error);
    }
  }

  /**
   * Keeps this reader in `holder._waitingReader` while a read waits, and only then.
   * @internal
   */
  _holdWhileWaiting(holder: WaitingReaderHolder): void {
    this.#holder = holder;
    holder._waitingReader = this.#waiter === null ? null : this;
  }

  /**
   * Tells a push-mode reader which transport to pause when more than `2 * limit` bytes are
   * buffered, and to resume when a read brings it down to `limit` or has to wait.
   *
   * @param transport an object with `pauseReading()` and `resumeReading()`
   * @throws {Error} when a transport is already set
   */
  setTransport(transport: ReadingTransport): void {
    if (this.#transport !== null) throw new Error('Transport already set');
    this.#transport = transport;
  }

  /**
   * Points the reader at the transport that replaced its own (`startTls()`, CPython
   * gh-152431), keeping its paused state.
   * @internal
   */
  _replaceTransport(transport: ReadingTransport): void {
    if (this.#transport === null) return;
    this.#transport = transport;
  }

  /**
   * Moves the reader onto the TLS transport that `startTls` makes (the writer's `startTls()`),
   * and returns that transport.
   *
   * A server's reader hands what it has buffered to TLS as `received`, and drops it once TLS
   * has it: those bytes are the client's hello, which may arrive together with the request to
   * upgrade (CPython gh-142352). A client's writer refuses to start TLS while its reader holds
   * bytes (see `StreamWriter.startTls()`).
   *
   * A pull-mode reader goes on reading from the TLS transport's `readable` when its stream
   * ends, instead of seeing EOF: `startTls()` over a transport read as a stream (a
   * `DenoSocket`) ends that stream once the bytes before TLS are through. A push-mode reader
   * follows its protocol.
   *
   * @param serverSide whether this is the server's end of the connection
   * @param startTls starts TLS, handed the bytes TLS must read first; when it throws, the
   *   reader is left as it was
   * @internal
   */
  _startTls<T extends { readonly readable?: ReadableStream<Uint8Array> }>(
    serverSide: boolean,
    startTls: (received: Uint8Array | undefined) => T,
  ): T {
    const received = serverSide ? this._peekBuffer() : undefined;
    const upgraded = startTls(received);
    // Taken only now that TLS has them: a refused upgrade leaves the reader as it was.
    if (received !== undefined && received.byteLength > 0) this.read(received.byteLength).catch(ignore);
    this.#source?.continueWith(() => {
      const readable = upgraded.readable;
      if (readable === undefined) throw new TypeError('The upgraded transport has no readable stream');
      return readable;
    });
    return upgraded;
  }

  /**
   * Appends bytes (push mode). Empty data does nothing.
   *
   * @param data the bytes received; copied, so the caller may reuse it
   * @throws {Error} after `feedEof()`, or on a pull-mode reader
   * @throws {TypeError} when `data` is not a `Uint8Array`
   * @example
   * ```ts
   * reader.feedData(new TextEncoder().encode('partial li'));
   * reader.feedData(new TextEncoder().encode('ne\n'));
   * await reader.readline(); // 'partial line\n'
   * ```
   */
  feedData(data: Uint8Array): void {
    this.#feed(data, false);
  }

  /**
   * `feedData()` for bytes handed over for good, as a transport's `dataReceived()` gets them
   * (see `Protocol`): a chunk with an `ArrayBuffer` of its own may be kept as it is, and be
   * the result of the read that takes it whole, with no copy.
   * @internal
   */
  _feedReceived(data: Uint8Array): void {
    this.#feed(data, true);
  }

  #feed(data: Uint8Array, handedOver: boolean): void {
    if (this.#eof) throw new Error('feedData after feedEof');
    if (this.#source !== null) throw new Error('feedData() cannot be used on a reader that pulls from a stream');
    checkFedData(data);
    if (data.length === 0) return;
    if (this.#buffer === UNFED) this.#buffer = new ByteBuffer(PULL_SIZE);
    if (handedOver && this.#buffer.length === 0 && ownsItsBuffer(data)) {
      // A direct read takes its part; the rest stays where it arrived, with no copy. A plain
      // view: a Node Buffer's slice() would share memory where a result's must copy.
      const taken = this.#toDirect(data);
      if (taken < data.length) {
        this.#buffer.adopt(new Uint8Array(data.buffer));
        this.#buffer.start = taken;
      }
    } else {
      this.#append(data);
    }
    this.#wakeWaiter();
    const transport = this.#transport;
    if (transport !== null && !this.#paused && this.#buffer.length > 2 * this.#limit) {
      if (typeof transport.pauseReading !== 'function') {
        // CPython forgets a transport that cannot pause and buffers without bound.
        this.#transport = null;
        return;
      }
      transport.pauseReading();
      this.#paused = true;
    }
  }

  /** Marks the end of the stream: reads return what is buffered, then `b''` (an empty array). */
  feedEof(): void {
    this.#eof = true;
    this.#wakeWaiter();
  }

  /** Whether EOF was fed and every buffered byte has been read. */
  atEof(): boolean {
    return this.#eof && this.#bufferedLength() === 0;
  }

  /**
   * Reads up to `n` bytes. With `n < 0` (the default) reads until EOF and returns it all.
   * Returns as soon as any byte is buffered (never waits for `n`); returns an empty array at
   * EOF, or at once for `n === 0`. Not bounded by the limit.
   *
   * @param n the most bytes to return; negative for everything up to EOF
   * @param options `{ signal }`
   * @returns the bytes; empty only at EOF or when `n === 0`
   * @throws the stored exception, even if bytes are buffered
   * @throws {TypeError} when `n` is not an integer
   * @throws {Error} when another read is already waiting
   * @example
   * ```ts
   * const chunk = await reader.read(4096);
   * const rest = await reader.read();
   * ```
   */
  read(n = -1, options?: ReadOptions): Promise<Bytes> {
    // Bytes already buffered: skip the async machinery, as readline() does.
    if (options === undefined && this.#exception === null && n > 0 && Number.isInteger(n)) {
      if (this.#buffer.length > 0) return Promise.resolve(this.#take(Math.min(n, this.#buffer.length)));
      // The common wait (a server's next request): one reaction rather than an async frame.
      if (!this.#eof) return this.#waitForData('read', undefined).then(() => this.#take(Math.min(n, this.#buffer.length)));
    }
    return this.#readWaiting(n, options);
  }

  async #readWaiting(n: number, options: ReadOptions | undefined): Promise<Bytes> {
    checkSize('read', n);
    const signal = signalOf(options, 'read()');
    if (this.#exception !== null) throw this.#exception;
    if (n === 0) return new Uint8Array(0);
    signal?.throwIfAborted();
    if (n < 0) return this.#readAll(signal);
    if (this.#buffer.length === 0 && !this.#eof) await this.#waitForData('read', signal);
    return this.#take(Math.min(n, this.#buffer.length));
  }

  /**
   * Reads one line, up to and including `\n`. At EOF returns the partial last line, then an
   * empty array.
   *
   * When the line (without its `\n`) is longer than the limit, throws a `RangeError` whose
   * `cause` is the `LimitOverrunError` and discards the line: up to and including its `\n` if
   * one is buffered, otherwise everything buffered (CPython).
   *
   * @param options `{ signal }`
   * @returns the line with its `\n`, the unterminated last line, or an empty array at EOF
   * @throws {RangeError} when the line exceeds the limit
   * @throws {Error} when another read is already waiting
   * @example
   * ```ts
   * let line: Uint8Array;
   * while ((line = await reader.readline()).length > 0) console.log(new TextDecoder().decode(line));
   * ```
   */
  readline(options?: ReadOptions): Promise<Bytes> {
    const line = options === undefined ? this.#bufferedLine() : null;
    return line !== null ? Promise.resolve(line) : this.#readlineWaiting(options);
  }

  /**
   * `readline()` without waiting: the line when the buffer already holds it, else `null`.
   * Same results, errors and leftover bytes as `readline()` (it is the same code): at EOF the
   * unterminated last line, then an empty array, never `null`; an over-long line throws the
   * `RangeError` and is discarded as `readline()` discards it. It never waits, so it may be
   * called while another read waits (CPython refuses only a second *waiting* read), and it
   * never reads from a pull-mode reader's source: `null` means "call `readline()`", which does.
   *
   * @returns the line with its `\n`; at EOF the unterminated last line or an empty array;
   *   `null` when more bytes must arrive first
   * @throws {RangeError} when the line exceeds the limit
   * @throws the stored exception
   * @example
   * ```ts
   * for (;;) {
   *   const line = reader.readlineNowait() ?? (await reader.readline());
   *   if (line.length === 0) break;
   *   handle(line);
   * }
   * ```
   */
  readlineNowait(): Bytes | null {
    const line = this.#bufferedLine();
    if (line !== null) return line;
    try {
      return this.#untilNowait(NEWLINE_SEPARATORS);
    } catch (error) {
      return this.#lineAfter(error);
    }
  }

  /**
   * The next line if it is buffered whole and within the limit, else `null`. The common
   * case then skips the async machinery, which at 80-byte lines would cost more than finding
   * and copying the line.
   */
  #bufferedLine(): Bytes | null {
    if (this.#exception !== null || this.#direct !== null) return null;
    const buffer = this.#buffer;
    const end = buffer.filled.indexOf(NEWLINE, buffer.start);
    return end !== -1 && end - buffer.start <= this.#limit ? this.#take(end + 1 - buffer.start) : null;
  }

  async #readlineWaiting(options: ReadOptions | undefined): Promise<Bytes> {
    // Checked here too, so that a misspelled option names readline(), not readuntil().
    signalOf(options, 'readline()');
    try {
      return await this.readuntil('\n', options);
    } catch (error) {
      // An abort is the caller's, whatever its reason: not an end of stream or an overlong line.
      if (options?.signal?.aborted === true && error === options.signal.reason) throw error;
      return this.#lineAfter(error);
    }
  }

  /**
   * What `readline()` makes of `readuntil('\n')` failing (CPython's `readline`): the partial
   * last line at EOF; for an over-long line, the line discarded and a `RangeError`.
   */
  #lineAfter(error: unknown): Bytes {
    // Our readuntil()'s partial is one of our results (IncompleteReadError types it for any caller).
    if (error instanceof IncompleteReadError) return error.partial as Bytes;
    if (!(error instanceof LimitOverrunError)) throw error;
    const buffer = this.#buffer;
    if (buffer.bytes[buffer.start + error.consumed] === NEWLINE && error.consumed < buffer.length) {
      buffer.consume(error.consumed + 1);
    } else {
      buffer.clear();
    }
    this.#maybeResumeTransport();
    throw new RangeError(error.message, { cause: error });
  }

  /**
   * Reads exactly `n` bytes, waiting for as many as it takes. Not bounded by the limit.
   *
   * @param n how many bytes; `0` returns an empty array at once
   * @param options `{ signal }`
   * @returns exactly `n` bytes
   * @throws {IncompleteReadError} when EOF comes first; its `partial` holds what was buffered,
   *   and the buffer is emptied
   * @throws {RangeError} when `n` is negative
   * @throws {TypeError} when `n` is not an integer
   * @throws the stored exception
   * @example
   * ```ts
   * const header = await reader.readexactly(4);
   * const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
   * const payload = await reader.readexactly(length);
   * ```
   */
  readexactly(n: number, options?: ReadOptions): Promise<Bytes> {
    // Framing protocols read a small header and then a payload that is usually buffered
    // already: like readline(), skip the async machinery then.
    if (options === undefined && this.#exception === null && n > 0 && Number.isInteger(n)) {
      if (n <= this.#buffer.length) return Promise.resolve(this.#take(n));
      // A small frame that one arrival usually completes: one reaction rather than an async frame.
      if (!this.#eof && n <= DIRECT_MIN) {
        return this.#waitForData('readexactly', undefined).then(() =>
          n <= this.#buffer.length ? this.#take(n) : this.#readexactlyWaiting(n, undefined));
      }
    }
    return this.#readexactlyWaiting(n, options);
  }

  /**
   * `readexactly(n)` without waiting: the `n` bytes when they are buffered, else `null`. Same
   * errors and leftover bytes as `readexactly(n)`: at EOF with fewer than `n` bytes it throws
   * `IncompleteReadError` and empties the buffer. Never waits and never reads from a
   * pull-mode reader's source (see `readlineNowait()`); while a large `readexactly()` is being
   * filled straight from arriving bytes, those bytes are that read's and this returns `null`.
   *
   * @param n how many bytes; `0` returns an empty array
   * @returns exactly `n` bytes, or `null` when more must arrive first
   * @throws {IncompleteReadError} at EOF with fewer than `n` bytes buffered
   * @throws {RangeError} when `n` is negative
   * @throws {TypeError} when `n` is not an integer
   * @throws the stored exception
   * @example
   * ```ts
   * const header = reader.readexactlyNowait(4) ?? (await reader.readexactly(4));
   * ```
   */
  readexactlyNowait(n: number): Bytes | null {
    checkExactSize(n);
    if (this.#exception !== null) throw this.#exception;
    if (n === 0) return new Uint8Array(0);
    if (this.#direct !== null) return null;
    return this.#holdsExactly(n) ? this.#take(n) : null;
  }

  async #readexactlyWaiting(n: number, options: ReadOptions | undefined): Promise<Bytes> {
    checkExactSize(n);
    const signal = signalOf(options, 'readexactly()');
    if (this.#exception !== null) throw this.#exception;
    if (n === 0) return new Uint8Array(0);
    signal?.throwIfAborted();
    if (this.#buffer.length < n && !this.#eof && n > DIRECT_MIN && n <= DIRECT_MAX) {
      // The first arrival may be a transport's chunk of n bytes or more, taken without a copy.
      if (this.#buffer.length === 0) await this.#waitForData('readexactly', signal);
      if (this.#buffer.length < n && !this.#eof) {
        // Allocated once, and the bytes that arrive are copied straight into it (see #fillDirect()).
        const result = new Uint8Array(n);
        await this.#fillDirect('readexactly', result, signal);
        return result;
      }
    }
    while (!this.#holdsExactly(n)) await this.#waitForData('readexactly', signal);
    return this.#take(n);
  }

  /**
   * Whether `n` bytes are buffered (CPython's `readexactly` loop test); at EOF with fewer,
   * throws `IncompleteReadError` with all of them, emptying the buffer.
   */
  #holdsExactly(n: number): boolean {
    if (this.#buffer.length >= n) return true;
    if (!this.#eof) return false;
    const partial = this.#buffer.copy();
    this.#buffer.clear();
    throw new IncompleteReadError(partial, n);
  }

  /**
   * Fills `result` with the next `result.length` bytes: those buffered, then the ones that
   * arrive, copied straight into it rather than into the buffer and out again. That saves a
   * copy (and, for `readexactly()`, an allocation per result) in bulk transfers;
   * `readexactly()` uses it only up to `DIRECT_MAX`, so a huge length prefix does not allocate
   * before its bytes arrive. The bytes go back to the buffer if the read fails.
   */
  async #fillDirect(functionName: string, result: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const buffer = this.#buffer;
    const n = result.length;
    const direct: DirectRead = { result, filled: buffer.length };
    const start = buffer.position;
    result.set(buffer.bytes.subarray(buffer.start, buffer.end));
    buffer.clear();
    this.#direct = direct;
    try {
      while (direct.filled < n) {
        if (this.#eof) {
          this.#direct = null;
          throw new IncompleteReadError(result.slice(0, direct.filled), n);
        }
        await this.#waitForData(functionName, signal, n);
      }
    } catch (error) {
      if (this.#direct === direct) {
        this.#direct = null;
        // Complete, and another read took the bytes after these before this one resumed: put
        // back, they would come after those, so they are returned instead.
        if (buffer.position !== start + direct.filled) return;
        buffer.unshift(result.subarray(0, direct.filled));
      }
      throw error;
    }
    this.#direct = null;
    this.#maybeResumeTransport();
  }

  /**
   * Reads up to `view.byteLength` bytes into `view`, the caller's own buffer: buffered bytes
   * first, else it waits for some (as `read(n)` does, never for all of them). Reuse one
   * buffer for a bulk transfer and no result is allocated per read. Not bounded by the limit.
   *
   * Over a byte stream the BYOB read cannot land in `view` itself: a BYOB read transfers its
   * view's `ArrayBuffer`, which would leave the caller's buffer detached. It lands in the
   * reader's own storage (swapped in without a copy) and is copied into `view` once.
   *
   * @param view where the bytes go: any `ArrayBufferView` (`Uint8Array`, `Buffer`, `DataView`,
   *   another typed array: its bytes)
   * @param options `{ signal }`
   * @returns how many bytes were written to the front of `view`: 0 at EOF, and at once for an
   *   empty view (as `read(0)`)
   * @throws {TypeError} when `view` is not an `ArrayBufferView`
   * @throws {Error} when another read is already waiting
   * @throws the stored exception
   * @example
   * ```ts
   * const chunk = new Uint8Array(65536);
   * let count: number;
   * let total = 0;
   * while ((count = await reader.readinto(chunk)) > 0) total += count; // chunk.subarray(0, count) holds them
   * ```
   */
  readinto(view: ArrayBufferView, options?: ReadOptions): Promise<number> {
    // Bytes already buffered, or the wait of a bulk loop: no async frame, as read(n) does.
    if (options === undefined && this.#exception === null && view instanceof Uint8Array && view.length > 0) {
      if (this.#buffer.length > 0) return Promise.resolve(this.#copyInto(view));
      if (!this.#eof) return this.#waitForData('readinto', undefined, view.length).then(() => this.#copyInto(view));
    }
    return this.#readintoWaiting(view, options);
  }

  async #readintoWaiting(view: ArrayBufferView, options: ReadOptions | undefined): Promise<number> {
    const target = checkView('readinto', view);
    const signal = signalOf(options, 'readinto()');
    if (this.#exception !== null) throw this.#exception;
    if (target.length === 0) return 0;
    signal?.throwIfAborted();
    if (this.#buffer.length === 0 && !this.#eof) await this.#waitForData('readinto', signal, target.length);
    return this.#copyInto(target);
  }

  /**
   * Fills all of `view` with the next `view.byteLength` bytes, waiting for as many as it
   * takes: `readexactly()` into the caller's buffer. Arriving bytes are copied straight into
   * `view`, so a frame that straddles chunks costs neither an allocation nor a second copy.
   *
   * It is a method of its own rather than `readexactly(n, { into })`: the size is the view's,
   * so there is no `n` to disagree with it, the result type does not change with an option,
   * and the last argument stays `{ signal }` as on every read.
   *
   * @param view where the bytes go: any `ArrayBufferView`; an empty one returns at once
   * @param options `{ signal }`; after an abort every byte not yet returned is in the buffer
   *   again (what `view` holds then is unspecified)
   * @throws {IncompleteReadError} when EOF comes first; `partial` is a copy of the bytes
   *   received (what `view` holds then is unspecified); the buffer is emptied
   * @throws {TypeError} when `view` is not an `ArrayBufferView`
   * @throws {Error} when another read is already waiting
   * @throws the stored exception
   * @example
   * ```ts
   * const frame = new Uint8Array(65536);
   * for (;;) {
   *   await reader.readexactlyInto(frame);
   *   handle(frame);
   * }
   * ```
   */
  async readexactlyInto(view: ArrayBufferView, options?: ReadOptions): Promise<void> {
    const target = checkView('readexactlyInto', view);
    const signal = signalOf(options, 'readexactlyInto()');
    if (this.#exception !== null) throw this.#exception;
    const n = target.length;
    if (n === 0) return;
    signal?.throwIfAborted();
    // An empty buffer waits first, as a large readexactly() does: the single-waiter rule
    // refuses a second read there, before a direct read takes the bytes' place.
    if (this.#buffer.length === 0 && !this.#eof) await this.#waitForData('readexactlyInto', signal);
    if (this.#holdsExactly(n)) {
      this.#copyInto(target);
      return;
    }
    await this.#fillDirect('readexactlyInto', target, signal);
  }

  /** Copies as many buffered bytes as `target` holds, or all of them, to its front and consumes them; how many. */
  #copyInto(target: Uint8Array): number {
    const buffer = this.#buffer;
    const count = Math.min(target.length, buffer.length);
    target.set(buffer.bytes.subarray(buffer.start, buffer.start + count));
    this.#consume(count);
    return count;
  }

  /**
   * Reads up to and including a separator. With several separators (an array), the match
   * that ends first wins; of two ending at the same byte, the shorter counts for the limit.
   *
   * @param separator a `Uint8Array`, a string (UTF-8), or an array of them; default `'\n'`
   * @param options `{ signal }`
   * @returns the bytes up to and including the separator
   * @throws {LimitOverrunError} when more than `limit` bytes come before the separator, or
   *   when more than `limit` bytes were searched without finding it; the buffer is left as
   *   it was, and `consumed` says how many bytes to skip
   * @throws {IncompleteReadError} when EOF comes before a separator (`expected` is `null`);
   *   the buffer is emptied into `partial`
   * @throws {RangeError} for an empty separator or an empty array
   * @throws {TypeError} for a separator that is neither bytes nor a string
   * @example
   * ```ts
   * const header = await reader.readuntil('\r\n\r\n');
   * const line = await reader.readuntil(['\r\n', '\n']);
   * ```
   */
  async readuntil(separator: Separator = '\n', options?: ReadOptions): Promise<Bytes> {
    const separators = checkSeparator(separator);
    const signal = signalOf(options, 'readuntil()');
    if (this.#exception !== null) throw this.#exception;
    signal?.throwIfAborted();
    let found = this.#findUntil(separators, 0);
    while (found < 0) {
      // Where the search stopped, as a stream position: a read that needs no wait (a nowait
      // call) may take bytes meanwhile, and an offset into the buffer would then skip new ones.
      const searched = this.#buffer.position + ~found;
      await this.#waitForData('readuntil', signal);
      found = this.#findUntil(separators, Math.max(0, searched - this.#buffer.position));
    }
    return this.#take(found);
  }

  /**
   * `readuntil(separator)` without waiting: the bytes up to and including the separator when
   * the buffer already holds them, else `null`. Same errors and leftover bytes as
   * `readuntil()`: `LimitOverrunError` with the buffer left as it was, and at EOF
   * `IncompleteReadError` with the buffer emptied into `partial`. Never waits and never reads
   * from a pull-mode reader's source (see `readlineNowait()`).
   *
   * @param separator as `readuntil()`'s; default `'\n'`
   * @returns the bytes up to and including the separator, or `null` when more must arrive
   * @throws {LimitOverrunError} as `readuntil()`
   * @throws {IncompleteReadError} at EOF before a separator
   * @throws {RangeError} for an empty separator or an empty array
   * @throws {TypeError} for a separator that is neither bytes nor a string
   * @throws the stored exception
   * @example
   * ```ts
   * const header = reader.readuntilNowait('\r\n\r\n') ?? (await reader.readuntil('\r\n\r\n'));
   * ```
   */
  readuntilNowait(separator: Separator = '\n'): Bytes | null {
    return this.#untilNowait(checkSeparator(separator));
  }

  #untilNowait(separators: readonly Uint8Array[]): Bytes | null {
    if (this.#exception !== null) throw this.#exception;
    if (this.#direct !== null) return null;
    const found = this.#findUntil(separators, 0);
    return found < 0 ? null : this.#take(found);
  }

  /**
   * One pass of CPython 3.13's `readuntil` loop over what is buffered, searching from
   * `offset` (bytes before it are known to hold no separator start, so a line spread over many
   * chunks costs linear time). Returns how many bytes to take, or, when it must wait, the
   * offset to search from next time as `~offset` (negative).
   * @throws {LimitOverrunError} when the limit is overrun, found or not
   * @throws {IncompleteReadError} at EOF with no separator; the buffer is emptied
   */
  #findUntil(separators: readonly Uint8Array[], offset: number): number {
    const buffer = this.#buffer;
    const length = buffer.length;
    const shortest = separators[0]!.length;
    if (length - offset >= shortest) {
      const from = buffer.start + offset;
      let matchStart: number;
      let matchEnd: number;
      // One separator (the usual case) needs no match object; several, the earliest end.
      if (separators.length === 1) {
        matchStart = indexOfSequence(buffer.filled, separators[0]!, from);
        matchEnd = matchStart + shortest;
      } else {
        const match = findSeparator(buffer.filled, from, separators);
        matchStart = match === null ? -1 : match.start;
        matchEnd = match === null ? -1 : match.end;
      }
      if (matchStart !== -1) {
        matchStart -= buffer.start;
        if (matchStart > this.#limit) {
          throw new LimitOverrunError('Separator is found, but chunk is longer than limit', matchStart);
        }
        return matchEnd - buffer.start;
      }
      offset = Math.max(0, length + 1 - separators[separators.length - 1]!.length);
      if (offset > this.#limit) {
        throw new LimitOverrunError('Separator is not found, and chunk exceed the limit', offset);
      }
    }
    if (this.#eof) {
      const partial = buffer.copy();
      buffer.clear();
      throw new IncompleteReadError(partial, null);
    }
    return ~offset;
  }

  /**
   * Yields lines until EOF, like `async for line in reader`. Breaking out of the loop leaves
   * the reader usable.
   *
   * @example
   * ```ts
   * for await (const line of reader) handle(line);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Bytes> {
    // Written out rather than as an async generator, whose extra promise per step would
    // double the cost of a line that is already buffered.
    const lines: AsyncIterableIterator<Bytes> = {
      next: () => {
        const line = this.#bufferedLine();
        if (line !== null) return Promise.resolve({ value: line, done: false });
        return this.#readlineWaiting(undefined).then((value): IteratorResult<Bytes> =>
          value.length === 0 ? { value: undefined, done: true } : { value, done: false },
        );
      },
      [Symbol.asyncIterator]: () => lines,
    };
    return lines;
  }

  /**
   * The bytes not yet read, buffered ones first, as a byte `ReadableStream`: hand the rest of
   * a connection to `pipeTo`, `new Response(...)` or a `DecompressionStream`. Reading it
   * counts as reading the reader; cancelling it cancels a pull-mode reader's source.
   *
   * @example
   * ```ts
   * await reader.readuntil('\r\n\r\n');             // the headers
   * const body = await new Response(reader.readable).text();
   * ```
   */
  get readable(): ReadableStream<Bytes> {
    if (this.#readable !== null) return this.#readable;
    // Cancelling the stream ends the wait of its read, which would otherwise hold the reader's
    // one waiter and take the next bytes for a stream nobody reads.
    const cancelled = new AbortController();
    this.#readable = byteStream({
      pull: async (controller) => {
        if (this.#exception !== null) throw this.#exception;
        if (this.#buffer.length === 0 && !this.#eof) await this.#waitForData('read', cancelled.signal);
        if (cancelled.signal.aborted) return;
        const buffer = this.#buffer;
        const request = controller.byobRequest;
        const view = request?.view;
        if (buffer.length === 0) {
          controller.close();
          // A BYOB read still waiting gets `done` only once its request is answered.
          request?.respond(0);
        } else if (view) {
          // Into the reader's view: only what it takes leaves the buffer.
          const count = Math.min(view.byteLength, buffer.length);
          new Uint8Array(view.buffer, view.byteOffset, count).set(buffer.bytes.subarray(buffer.start, buffer.start + count));
          this.#consume(count);
          request!.respond(count);
        } else {
          // A fresh copy: enqueueing transfers its ArrayBuffer, which a pooled result shares.
          const chunk = buffer.copy();
          this.#consume(chunk.length);
          controller.enqueue(chunk);
        }
      },
      cancel: async (reason) => {
        cancelled.abort(reason);
        await this.#source?.cancel(reason);
      },
    });
    return this.#readable;
  }

  /** CPython's `repr()`: `<StreamReader 4 bytes eof limit=123>`. */
  toString(): string {
    const info = ['StreamReader'];
    const buffered = this.#bufferedLength();
    if (buffered > 0) info.push(`${buffered} bytes`);
    if (this.#eof) info.push('eof');
    if (this.#limit !== DEFAULT_LIMIT) info.push(`limit=${this.#limit}`);
    if (this.#waiter !== null) info.push('waiter=<Promise pending>');
    if (this.#exception !== null) info.push(`exception=${describeError(this.#exception)}`);
    if (this.#transport !== null) info.push(`transport=${String(this.#transport)}`);
    if (this.#paused) info.push('paused');
    return `<${info.join(' ')}>`;
  }

  /**
   * A copy of the bytes buffered right now: what CPython's tests read as `stream._buffer`,
   * and what a server's `startTls()` hands to TLS (CPython gh-142352).
   * @internal
   */
  _peekBuffer(): Uint8Array {
    const direct = this.#direct;
    if (direct === null) return this.#buffer.copy();
    return concat([direct.result.subarray(0, direct.filled), this.#buffer.copy()], direct.filled + this.#buffer.length);
  }

  #bufferedLength(): number {
    return this.#buffer.length + (this.#direct?.filled ?? 0);
  }

  /** Adds arrived bytes: to a direct read being filled first, the rest to the buffer. */
  #append(data: Uint8Array): void {
    const taken = this.#toDirect(data);
    if (taken < data.length) this.#buffer.append(taken === 0 ? data : data.subarray(taken));
  }

  /**
   * Copies the front of arrived bytes into the direct read being filled (a large
   * `readexactly()`, a `readexactlyInto()`), if any. Returns how many it took.
   */
  #toDirect(data: Uint8Array): number {
    const direct = this.#direct;
    if (direct === null) return 0;
    const count = Math.min(data.length, direct.result.length - direct.filled);
    direct.result.set(count === data.length ? data : data.subarray(0, count), direct.filled);
    direct.filled += count;
    // The buffer is empty while a direct read fills: its next byte comes after these.
    this.#buffer.position += count;
    return count;
  }

  #take(count: number): Bytes {
    const result = (this.#results ??= new ResultSlab()).take(this.#buffer, count);
    this.#maybeResumeTransport();
    return result;
  }

  /**
   * `read(-1)`. Like CPython it takes the bytes in limit-sized blocks as they come, so a
   * paused transport resumes as the buffer drains, and an exception set meanwhile loses
   * them (every later read raises it anyway); an aborted read puts them back.
   */
  async #readAll(signal: AbortSignal | undefined): Promise<Bytes> {
    const blocks: Bytes[] = [];
    let total = 0;
    try {
      for (;;) {
        const length = Math.min(this.#buffer.length, Math.ceil(this.#limit));
        if (length > 0) {
          blocks.push(this.#buffer.copy(length));
          total += length;
          this.#consume(length);
        } else if (this.#eof) {
          break;
        } else {
          await this.#waitForData('read', signal);
        }
      }
    } catch (error) {
      if (total > 0 && signal?.aborted === true && error === signal.reason) this.#buffer.unshift(concat(blocks, total));
      throw error;
    }
    return blocks.length === 1 ? blocks[0]! : concat(blocks, total);
  }

  #consume(count: number): void {
    this.#buffer.consume(count);
    this.#maybeResumeTransport();
  }

  #maybeResumeTransport(): void {
    if (this.#paused && this.#buffer.length <= this.#limit) {
      this.#paused = false;
      this.#transport!.resumeReading();
    }
  }

  #wakeWaiter(): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#setWaiter(null);
      waiter.resolve();
    }
  }

  #setWaiter(waiter: Waiter | null): void {
    this.#waiter = waiter;
    const holder = this.#holder;
    if (holder !== null) holder._waitingReader = waiter === null ? null : this;
  }

  /**
   * Waits until data, EOF or an exception arrives (CPython's `_wait_for_data`); a pull-mode
   * reader's source reads up to `wanted` bytes at once (see `PullSource.pull()`).
   */
  #waitForData(functionName: string, signal: AbortSignal | undefined, wanted?: number): Promise<void> {
    // An abort that came while the read was between two waits: it would fire no event now.
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiter !== null) {
      return Promise.reject(
        new Error(`${functionName}() called while another coroutine is already waiting for incoming data`),
      );
    }
    if (this.#paused) {
      // A read that needs more than is buffered must not wait on a paused transport.
      this.#paused = false;
      this.#transport!.resumeReading();
    }
    const waiting = new Promise<void>((resolve, reject) => {
      this.#setWaiter({ resolve, reject });
    });
    this.#source?.pull(wanted);
    return signal === undefined ? waiting : this.#abortable(waiting, signal);
  }

  /** `waiting`, rejected with the signal's reason if it aborts first; the waiter is then gone. */
  #abortable(waiting: Promise<void>, signal: AbortSignal): Promise<void> {
    const waiter = this.#waiter;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.#waiter === waiter) this.#setWaiter(null);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiting.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * The reader's side of its pull source (see `PullSource`): methods shared by every reader,
   * where five closures each would cost an idle connection about 400 bytes.
   */
  static readonly #PullTarget = class implements PullTarget {
    readonly buffer: ByteBuffer;
    readonly #reader: StreamReader;

    constructor(reader: StreamReader) {
      this.buffer = reader.#buffer;
      this.#reader = reader;
    }

    toDirect(data: Uint8Array): number {
      return this.#reader.#toDirect(data);
    }

    append(data: Uint8Array): void {
      this.#reader.#append(data);
    }

    arrived(): void {
      this.#reader.#wakeWaiter();
    }

    ended(): void {
      this.#reader.feedEof();
    }

    failed(error: unknown): void {
      // A stream may error with no reason (controller.error(), abort()): to the reader, whose
      // null exception means none, that must still be an error, or its reads would wait for good.
      this.#reader.setException(error ?? Object.assign(new Error('The stream errored without a reason'), { cause: error }));
    }
  };
}
