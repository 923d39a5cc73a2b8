import { connectionLost } from './_connection-lost.js';
import type { TlsOptions } from './_connection-options.js';
import type { StreamReader } from './stream-reader.js';
import type { StartTlsOptions, Transport } from './_transport.js';

/** Options of {@linkcode StreamWriter.from}. */
export interface StreamWriterOptions {
  /**
   * The reader of the same connection: `drain()` raises its stored exception first, so an
   * error of the connection surfaces from the writer as well (CPython).
   */
  reader?: StreamReader | null;
  /**
   * The connection (`writer.transport`). When it has `close()`, `close()` closes it once the
   * queued bytes are out; when it has a `closed` promise, `waitClosed()` waits for it; its
   * `getExtraInfo(name)` answers what `extra` does not.
   */
  transport?: unknown;
  /** Values for `getExtraInfo(name)`, by name (`peername`, `sockname`, `socket`, ...). */
  extra?: Readonly<Record<string, unknown>>;
  /**
   * Whether this is the server's end of the connection (default false): `startTls()` then
   * does the server's side of the handshake. `startServer()`'s writers are.
   */
  serverSide?: boolean;
}

const encoder = new TextEncoder();

function ignore(): void {}

const RESOLVED = Promise.resolve();

/** A macrotask turn, CPython's `sleep(0)`: lets a pending connection loss be delivered. */
function yieldOnce(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return encoder.encode(data);
  const kind = data === null ? 'null' : typeof data === 'object' ? (data.constructor?.name ?? 'object') : typeof data;
  throw new TypeError(`data argument must be a Uint8Array or a string, not ${kind}`);
}

function isTransport(value: unknown): value is Partial<Transport> {
  return typeof value === 'object' && value !== null;
}

/**
 * What a writer's connection needs known after the writer itself is gone. Nothing the
 * transport keeps (its `closed` reactions, the registry below) may reach the writer: this
 * holds the state they need instead, so an abandoned writer can be collected.
 */
interface WriterState {
  transport: unknown;
  readonly reader: StreamReader | null;
  /** Set once the connection is gone; `diedOf` is the error when it died of one. */
  lost: { diedOf: unknown } | null;
  /** The writer of the writable in use, and whether that writable has errored (its `ready` rejects). */
  writer: WritableStreamDefaultWriter<Uint8Array> | null;
  writableFailed: boolean;
}

/**
 * An abandoned writer: collected while its connection was open, it closes that connection
 * and warns, as CPython's `StreamWriter.__del__` does (ResourceWarning `unclosed <StreamWriter ...>`),
 * so a client callback that forgets `close()` leaks no socket.
 */
function closeAbandoned(state: WriterState): void {
  const transport = state.transport;
  if (state.lost !== null || !isTransport(transport) || typeof transport.close !== 'function') return;
  const info = [`transport=${String(transport)}`];
  if (state.reader !== null) info.push(`reader=${String(state.reader)}`);
  console.warn(`unclosed <StreamWriter ${info.join(' ')}>: close() it (and await waitClosed()) when done`);
  Promise.resolve(transport.close()).catch(ignore);
}

const abandoned = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(closeAbandoned) : null;

function tryWriteOf(transport: unknown): ((chunk: Uint8Array) => boolean) | null {
  return isTransport(transport) && typeof transport.tryWrite === 'function' ? transport.tryWrite.bind(transport) : null;
}

/**
 * Writes to a connection the way asyncio's `StreamWriter` does: `write()` is synchronous and
 * queues, `drain()` waits while the queue is over its high-water mark, `writeEof()`
 * half-closes, `close()` flushes and then closes.
 *
 * It writes to any `WritableStream<Uint8Array>`; the queue is that stream's, so a
 * `ByteLengthQueuingStrategy` (what socket writables have) makes `drain()` count bytes.
 * Bytes handed to `write()` are queued as they are, not copied: do not change them until
 * `drain()` has resolved.
 *
 * The writers of `openConnection()` and `startServer()` write to the connection's socket,
 * which is `transport`. A writer dropped without `close()` while its connection is open is
 * closed when it is garbage-collected, with a `console.warn` that starts `unclosed <StreamWriter`
 * (CPython's ResourceWarning); keep a writer referenced for as long as its connection should live.
 *
 * @example
 * ```ts
 * import { StreamWriter } from 'asyncio-streams';
 *
 * const chunks: Uint8Array[] = [];
 * const writable = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) },
 *   new ByteLengthQueuingStrategy({ highWaterMark: 65536 }));
 * const writer = StreamWriter.from(writable);
 * writer.write('HELO example\r\n');
 * await writer.drain();
 * writer.close();
 * await writer.waitClosed();
 * ```
 */
export class StreamWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: StreamReader | null;
  readonly #state: WriterState;
  readonly #extra: Readonly<Record<string, unknown>>;
  readonly #serverSide: boolean;
  #closed: Promise<void>;
  /** The transport's `tryWrite`, bound; null when it has none. */
  #tryWrite: ((chunk: Uint8Array) => boolean) | null;
  /** Writes handed to the writable and not settled yet: while there are any, order needs the queue. */
  #queued = 0;
  /** The latest of them: writes settle in order, so once it has, all have. */
  #lastWrite: Promise<void> = RESOLVED;
  #upgrading = false;
  readonly #settleQueued = (): void => {
    this.#queued -= 1;
  };
  #closing = false;
  #eof = false;
  /** The writable closing (after `writeEof()` or `close()`). */
  #ending: Promise<void> | null = null;
  #proxy: WritableStream<Uint8Array | string> | null = null;

  private constructor(writable: WritableStream<Uint8Array>, options: StreamWriterOptions) {
    this.#writer = writable.getWriter();
    this.#reader = options.reader ?? null;
    this.#state = { transport: options.transport ?? null, reader: this.#reader, lost: null, writer: null, writableFailed: false };
    this.#extra = options.extra ?? {};
    this.#serverSide = options.serverSide === true;
    this.#tryWrite = tryWriteOf(this.#state.transport);
    this.#closed = this.#watchClosed();
    if (isTransport(this.#state.transport)) abandoned?.register(this, this.#state, this.#state);
  }

  get #transport(): unknown {
    return this.#state.transport;
  }

  /** What `waitClosed()` waits for: the transport's `closed`, else the writable's; notes the loss. */
  #watchClosed(): Promise<void> {
    const transport = this.#transport;
    const transportClosed = isTransport(transport) && transport.closed instanceof Promise ? transport.closed : null;
    const closed = transportClosed ?? this.#writer.closed;
    // These reactions live as long as the transport: they must not hold the writer.
    const state = this.#state;
    const writer = this.#writer;
    state.writer = writer;
    state.writableFailed = false;
    // A released writer's closed rejects too: only the one in use counts.
    writer.closed.catch(() => {
      if (state.writer === writer) state.writableFailed = true;
    });
    closed.then(
      () => {
        if (transportClosed !== null) state.lost ??= { diedOf: null };
      },
      (error: unknown) => {
        state.lost ??= { diedOf: error };
      },
    );
    return closed;
  }

  /**
   * Creates a writer over `writable`, which it locks.
   *
   * @param writable where the bytes go
   * @param options the connection's `reader`, its `transport`, and `extra` info
   * @returns the writer
   * @throws {TypeError} when `writable` is locked
   * @example
   * ```ts
   * const reader = StreamReader.from(socket.readable);
   * const writer = StreamWriter.from(socket.writable, { reader, transport: socket });
   * ```
   */
  static from(writable: WritableStream<Uint8Array>, options: StreamWriterOptions = {}): StreamWriter {
    if (typeof (writable as { getWriter?: unknown } | null)?.getWriter !== 'function') {
      throw new TypeError('StreamWriter.from() needs a WritableStream');
    }
    return new StreamWriter(writable, options);
  }

  /** The connection this writer writes to (the socket), or `null` for a bare writable. */
  get transport(): unknown {
    return this.#transport;
  }

  /**
   * A `WritableStream` that writes through this writer, for `pipeTo`: each chunk is a
   * `write()` followed by `drain()`, closing it is `writeEof()` and aborting it closes the
   * connection. (The stream given to `from()` stays locked by the writer.)
   *
   * @example
   * ```ts
   * await (await fetch(url)).body!.pipeTo(writer.writable); // then the peer sees EOF
   * ```
   */
  get writable(): WritableStream<Uint8Array | string> {
    this.#proxy ??= new WritableStream<Uint8Array | string>({
      write: (chunk) => {
        this.write(chunk);
        return this.drain();
      },
      close: () => {
        this.writeEof();
        return this.#ending ?? undefined;
      },
      abort: (reason) => {
        this.#closing = true;
        return this.#abort(reason);
      },
    });
    return this.#proxy;
  }

  /**
   * Queues `data` to be sent; returns at once. Empty data does nothing. Once the connection is
   * lost, writes are dropped silently (CPython): the error comes from `drain()`.
   *
   * @param data bytes, or a string sent as UTF-8
   * @throws {TypeError} when `data` is neither a `Uint8Array` nor a string
   * @throws {Error} after `writeEof()` or `close()`
   * @example
   * ```ts
   * writer.write('GET / HTTP/1.0\r\n\r\n');
   * await writer.drain();
   * ```
   */
  write(data: Uint8Array | string): void {
    const chunk = toBytes(data);
    if (this.#eof) throw new Error('Cannot call write() after writeEof()');
    if (this.#closing) throw new Error('Cannot call write() after close()');
    if (chunk.byteLength === 0) return;
    this.#enqueue(chunk);
  }

  /**
   * Queues every chunk of `lines`, in order. Checks them all before queueing any.
   *
   * @param lines bytes or strings
   * @throws {TypeError} when a chunk is neither a `Uint8Array` nor a string
   * @throws {Error} after `writeEof()` or `close()`
   * @example
   * ```ts
   * writer.writelines(['HELO example\r\n', 'QUIT\r\n']);
   * ```
   */
  writelines(lines: Iterable<Uint8Array | string>): void {
    if (typeof (lines as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] !== 'function') {
      throw new TypeError(`writelines() needs an iterable of Uint8Array or string: ${lines === null ? 'null' : typeof lines} is not iterable`);
    }
    const chunks = Array.from(lines, toBytes);
    if (this.#eof) throw new Error('Cannot call writelines() after writeEof()');
    if (this.#closing) throw new Error('Cannot call writelines() after close()');
    for (const chunk of chunks) {
      if (chunk.byteLength > 0) this.#enqueue(chunk);
    }
  }

  /**
   * Waits until the queue is under its high-water mark (`writer.ready`); resolves at once when
   * it already is. Any number of calls may wait together.
   *
   * @throws the reader's stored exception, first (the error the connection died of)
   * @throws the connection's error, or `Error('Connection lost')` with `code: 'ECONNRESET'`,
   *   when the writer is closing or the connection is gone (after yielding once, so a loop of
   *   `write(); await drain()` against a dead peer ends instead of spinning)
   * @example
   * ```ts
   * for (const chunk of chunks) {
   *   writer.write(chunk);
   *   await writer.drain();
   * }
   * ```
   */
  drain(): Promise<void> {
    const exception = this.#reader?.exception() ?? null;
    if (exception !== null) return Promise.reject(exception);
    if (this.isClosing()) return this.#drainClosing();
    // Nothing queued: under any mark (even 0), and awaiting ready would cost a turn. A failed
    // writable's ready rejects with its error.
    if (this.#queued === 0 && !this.#state.writableFailed) return RESOLVED;
    // Or once every write has gone through: a high-water mark of 0 keeps ready pending.
    return Promise.race([this.#writer.ready, this.#lastWrite]);
  }

  async #drainClosing(): Promise<void> {
    await yieldOnce();
    throw this.#state.lost?.diedOf ?? connectionLost();
  }

  /** Whether `writeEof()` is possible: true unless the transport says otherwise (TLS cannot). */
  canWriteEof(): boolean {
    const transport = this.#transport;
    return !isTransport(transport) || typeof transport.canWriteEof !== 'function' || transport.canWriteEof();
  }

  /**
   * Half-closes: the queued bytes go out, then the peer sees EOF, and reading goes on. Does
   * nothing when already done or closing.
   *
   * @throws {Error} when the transport cannot half-close (`canWriteEof()` is false)
   * @example
   * ```ts
   * writer.write(request);
   * writer.writeEof();
   * const response = await reader.read(); // everything until the peer closes
   * ```
   */
  writeEof(): void {
    if (this.#eof || this.#closing) return;
    if (!this.canWriteEof()) throw new Error('This transport cannot half-close (writeEof)');
    this.#eof = true;
    this.#ending = this.#writer.close();
    this.#ending.catch(ignore);
  }

  /**
   * Closes the connection: the queued bytes go out first, then the transport is closed.
   * Returns at once; `waitClosed()` tells when it is done. Idempotent.
   *
   * @example
   * ```ts
   * writer.close();
   * await writer.waitClosed();
   * ```
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    abandoned?.unregister(this.#state);
    const flushed = this.#ending ?? this.#writer.close();
    this.#ending = flushed;
    const transport = this.#transport;
    const closeTransport = (): void => {
      if (isTransport(transport) && typeof transport.close === 'function') {
        Promise.resolve(transport.close()).catch(ignore);
      }
    };
    flushed.then(closeTransport, closeTransport);
  }

  /** Whether `close()` was called or the connection is gone. */
  isClosing(): boolean {
    return this.#closing || this.#state.lost !== null;
  }

  /**
   * Resolves once the connection is closed (the transport's `closed`, else the writable's).
   *
   * @throws the error the connection died of
   */
  waitClosed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Connection details, by CPython's names: `peername` and `sockname` (`[host, port]`, or the
   * path of a Unix socket), `socket` (the runtime's socket); over TLS also `sslcontext`,
   * `peercert`, `cipher`, `compression` and `ssl_object` (unknown, so `defaultValue`, on a
   * plain connection).
   *
   * @param name the detail wanted
   * @param defaultValue what to return when it is unknown: `null`, as CPython's `None`
   * @example
   * ```ts
   * const [host, port] = writer.getExtraInfo('peername') as [string, number];
   * ```
   */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    if (Object.hasOwn(this.#extra, name)) return this.#extra[name];
    const transport = this.#transport;
    const value = isTransport(transport) && typeof transport.getExtraInfo === 'function'
      ? transport.getExtraInfo(name)
      : undefined;
    return value === undefined ? defaultValue : value;
  }

  /**
   * Upgrades the connection to TLS in place (asyncio's `StreamWriter.start_tls()`): once
   * everything written so far has reached the socket, does the handshake on this connection's
   * side (a writer from `startServer()` does the server's) and resolves when it is done. From
   * then on `transport` is the TLS socket, writes are encrypted, and the reader goes on with
   * what TLS decrypts; `canWriteEof()` is false.
   *
   * Bytes the reader had buffered when the upgrade starts are neither lost nor misread
   * (CPython gh-142352): a client reads them first, as plain text (a server sends no TLS before
   * the client's hello), and a server hands them to TLS (they are the client's hello, which
   * may arrive together with the request to upgrade).
   *
   * @param ssl `true` (a client trusting the runtime's default store) or TLS options; a server
   *   needs `cert` and `key`
   * @param options `serverHostname` (default: the host the connection was opened with; needed
   *   when there is none), `sslHandshakeTimeout` (seconds, default 60)
   * @throws {TypeError} when the transport cannot start TLS (it is TLS already, or a bare pair
   *   of streams), or for options of the wrong type
   * @throws {RangeError} for options CPython refuses (see `openConnection()`)
   * @throws {Error} after `writeEof()`, or while another `startTls()` is running
   * @throws the connection's error, the handshake's (an untrusted certificate, ...), or a
   *   timeout error (`code: 'ETIMEDOUT'`); the connection is then closed
   * @example
   * ```ts
   * writer.write('STARTTLS\r\n');
   * await reader.readline(); // '220 Ready to start TLS'
   * await writer.startTls(true, { serverHostname: 'mail.example.com' });
   * ```
   */
  async startTls(ssl: true | TlsOptions, options: StartTlsOptions = {}): Promise<void> {
    if (this.#eof) throw new Error('Cannot call startTls() after writeEof()');
    if (this.#upgrading) throw new Error('startTls() is already in progress');
    const transport = this.#transport;
    if (!isTransport(transport) || typeof transport.startTls !== 'function') {
      throw new TypeError(`transport ${String(transport)} is not supported by startTls()`);
    }
    this.#upgrading = true;
    try {
      await this.drain();
      // The plain bytes must all be out before the first TLS record.
      await this.#flushed();
      if (this.isClosing()) await this.#drainClosing();
      const reader = this.#reader;
      const buffered = this.#serverSide && reader !== null ? reader._peekBuffer() : undefined;
      const secure = transport.startTls({
        ssl,
        serverSide: this.#serverSide,
        serverHostname: options?.serverHostname,
        sslHandshakeTimeout: options?.sslHandshakeTimeout,
        received: buffered,
      });
      // Taken only now that TLS has them: a refused upgrade leaves the reader as it was.
      if (buffered !== undefined && buffered.byteLength > 0) reader!.read(buffered.byteLength).catch(ignore);
      reader?._continueWith(secure);
      this.#switchTo(secure);
      await secure.opened;
    } finally {
      this.#upgrading = false;
    }
  }

  /** Writes to `transport` from now on (its writable is fresh: the old one is flushed). */
  #switchTo(transport: Transport): void {
    const previous = this.#writer;
    this.#writer = transport.writable.getWriter();
    previous.releaseLock();
    this.#state.transport = transport;
    this.#tryWrite = tryWriteOf(transport);
    this.#closed = this.#watchClosed();
  }

  /** CPython's `repr()`: `<StreamWriter transport=... reader=...>`. */
  toString(): string {
    const info = ['StreamWriter'];
    if (this.#transport !== null) info.push(`transport=${String(this.#transport)}`);
    if (this.#reader !== null) info.push(`reader=${String(this.#reader)}`);
    return `<${info.join(' ')}>`;
  }

  /** Sends straight to the transport while nothing is queued, else through the writable. */
  #enqueue(chunk: Uint8Array): void {
    if (this.#queued === 0 && this.#tryWrite !== null && this.#tryWrite(chunk)) return;
    this.#queued += 1;
    const written = this.#writer.write(chunk);
    written.then(this.#settleQueued, this.#settleQueued);
    this.#lastWrite = written;
  }

  /** Resolves once every write so far has reached the transport (or failed). */
  async #flushed(): Promise<void> {
    while (this.#queued > 0) await this.#lastWrite.catch(ignore);
  }

  #abort(reason: unknown): Promise<void> {
    const transport = this.#transport;
    if (isTransport(transport) && typeof transport.close === 'function') {
      return Promise.resolve(transport.close(reason)).catch(ignore);
    }
    return this.#writer.abort(reason);
  }
}
