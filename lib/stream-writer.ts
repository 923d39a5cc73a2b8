import { connectionLost, unreadBeforeTlsError } from './errors.ts';
import { checkLines, checkOptionNames, checkWritable, checkWriteData, START_TLS_OPTIONS, STREAM_WRITER_FROM_OPTIONS } from './_checks.ts';
import type { ClaimedWritable, StartTlsOptions, StreamPair, TlsOptions, Transport } from './transport.ts';
import type { StreamReader } from './stream-reader.ts';
import { NO_EXTRA, type ExtraInfo } from './_extra-info.ts';
import { ownBuffer, WriteQueue } from './_write-queue.ts';
import { abortable } from './_abortable.ts';
import { whenClosed } from './_when-closed.ts';

/**
 * Options of {@linkcode StreamWriter.from}.
 *
 * @typeParam T the type of `transport`, which `writer.transport` gives back
 */
export interface StreamWriterOptions<T = unknown> {
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
  transport?: T;
  /** Values for `getExtraInfo(name)`, by name (`peername`, `sockname`, `socket`, ...). */
  extra?: Readonly<Record<string, unknown>>;
  /**
   * Whether this is the server's end of the connection (default false): `startTls()` then
   * does the server's side of the handshake. `startServer()`'s writers are.
   */
  serverSide?: boolean;
}

function ignore(): void {}

const RESOLVED = Promise.resolve();

/**
 * The queue of every writer that has not queued a byte yet, shared and empty: an idle
 * connection's writer holds no queue. Only `#enqueue()` adds to a queue, and it gives the
 * writer one of its own first.
 */
const NOTHING_WRITTEN = new WriteQueue();

/** A macrotask turn, CPython's `sleep(0)`: lets a pending connection loss be delivered. */
function yieldOnce(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(error: unknown): void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

function isTransport(value: unknown): value is Partial<Transport> {
  return typeof value === 'object' && value !== null;
}

/**
 * Whether a writer's connection is gone, as whoever hears of the loss first records it.
 * @internal
 */
export interface LossRecord {
  /** Set once the connection is gone; `diedOf` is the error when it died of one. */
  lost: { diedOf: unknown } | null;
}

/**
 * Where a writer hears that its connection is gone when it does not watch the transport's
 * `closed` itself: the connection's `StreamReaderProtocol`, which the transport tells at once.
 * @internal
 */
export interface LossNotifier {
  _notifyLoss(record: LossRecord): void;
}

/**
 * What a writer's connection needs known after the writer itself is gone. Nothing the
 * transport keeps (its `closed` reactions, the registry below) may reach the writer: this
 * holds the state they need instead, so an abandoned writer can be collected.
 */
interface WriterState extends LossRecord {
  transport: unknown;
  /** The writer of the writable in use, and whether that writable has errored (its `ready` rejects). */
  writer: WritableStreamDefaultWriter<Uint8Array> | null;
  writableFailed: boolean;
}

/**
 * An abandoned connection: its writer and its reader were both collected while it was open.
 * It is closed, with a warning, as CPython's `StreamWriter.__del__` does (ResourceWarning
 * `unclosed <StreamWriter ...>`), so a client callback that forgets `close()` leaks no socket.
 * The writer holds its reader, so the reader going means both did: what is registered is the
 * reader, and a program that keeps only its reader (a client reading a long stream, a handler
 * that only reads) keeps its connection (CPython's server keeps the writer in its protocol; a
 * client that drops it there loses the connection at once).
 */
function closeAbandoned(state: WriterState): void {
  const transport = state.transport;
  if (state.lost !== null || !isTransport(transport) || typeof transport.close !== 'function') return;
  console.warn(`unclosed <StreamWriter transport=${String(transport)}>: close() it (and await waitClosed()) when done`);
  Promise.resolve(transport.close()).catch(ignore);
}

const abandoned = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(closeAbandoned) : null;

/** The writable side of `transport` made the writer's own, if it lets the writer make its stream only when needed. */
function claimWritable(transport: Transport | StreamPair): ClaimedWritable | null {
  const claimable = transport as Partial<Transport>;
  return typeof claimable._claimWritable === 'function' ? claimable._claimWritable() : null;
}

/** A transport that takes bytes synchronously; perhaps without keeping them (`_sendNow`). */
type TryWriter = Required<Pick<Transport, 'tryWrite'>> & Pick<Transport, '_sendNow'>;

/**
 * `transport`, when it can take bytes synchronously (`tryWrite`). The library's own sockets
 * (those whose writable a writer can claim) take the queue's chunks as they are, views of the
 * write pool; any other transport gets chunks with buffers of their own (see `ownBuffer()`).
 */
function tryWriterOf(transport: unknown): TryWriter | null {
  if (!isTransport(transport) || typeof transport.tryWrite !== 'function') return null;
  if (typeof transport._claimWritable === 'function') return transport as TryWriter;
  const foreign = transport as TryWriter;
  return { tryWrite: (chunk) => foreign.tryWrite(ownBuffer(chunk)) };
}

/**
 * Writes to a connection the way asyncio's `StreamWriter` does: `write()` is synchronous and
 * queues, `drain()` waits while the queue is over its high-water mark, `writeEof()`
 * half-closes, `close()` flushes and then closes.
 *
 * It writes to any `WritableStream<Uint8Array>`. `write()` takes a copy of the bytes, so the
 * caller may change or reuse its buffer as soon as it returns (asyncio's transports copy what
 * they cannot send at once). The writer keeps its own queue and hands the stream one chunk at
 * a time, small writes gathered into large chunks; `drain()` counts the bytes of both queues
 * against the stream's high-water mark (a `ByteLengthQueuingStrategy`, as socket writables have).
 *
 * The writers of `openConnection()` and `startServer()` write to the connection's socket,
 * which is `transport`. A connection whose writer and reader are both dropped without
 * `close()` is closed when they are garbage-collected, with a `console.warn` that starts
 * `unclosed <StreamWriter` (CPython's ResourceWarning); keeping either one referenced keeps
 * the connection, and so does a server's async client callback until its promise settles.
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
export class StreamWriter<T = Transport | StreamPair | null> {
  /**
   * The writer of the stream in use; over a transport, made on first need (see
   * `#streamWriter()`): most writes go through `tryWrite`, and an idle connection then holds
   * no `WritableStream` at all.
   */
  #writer: WritableStreamDefaultWriter<Uint8Array> | null;
  /** The transport's writable side, when the writer owns it (see `Transport._claimWritable()`). */
  #claimed: ClaimedWritable | null;
  readonly #reader: StreamReader | null;
  readonly #state: WriterState;
  readonly #extra: Readonly<Record<string, unknown>>;
  readonly #serverSide: boolean;
  /** What `waitClosed()` returns; made on first need when the loss is heard of through a protocol. */
  #closed: Promise<void> | null = null;
  /** Whether a protocol tells `#state` of the loss (see `LossNotifier`), so `closed` need not be watched. */
  readonly #lossNotified: boolean;
  /** The transport, when it has `tryWrite`; null otherwise. */
  #tryWriter: TryWriter | null;
  /** Copies of the bytes written and not handed to the writable yet; `NOTHING_WRITTEN` until the first write. */
  #queue = NOTHING_WRITTEN;
  #flushScheduled = false;
  /**
   * Whether a write went to `#tryWriter` at once since the last flush point (the flush
   * microtask, `drain()`): the writes after it gather in the queue (see `#enqueue()`).
   */
  #burstStarted = false;
  /**
   * The callbacks of the flush microtask and of the writable's writes, made on first use: an
   * idle connection's writer holds no closures.
   */
  #scheduledFlush: (() => void) | null = null;
  #onWritten: (() => void) | null = null;
  #onWriteFailed: ((error: unknown) => void) | null = null;
  /** Chunks handed to the writable and not settled yet: while there are any, order needs the queue. */
  #inStream = 0;
  /** The latest of them: writes settle in order, so once it has, all have. */
  #lastWrite: Promise<void> = RESOLVED;
  /** What waiting `drain()` calls share; settled when the queues go under the mark or a write fails. */
  #drainWaiters: { promise: Promise<void>; resolve(): void; reject(error: unknown): void } | null = null;
  #upgrading = false;
  /** While TLS starts, what is written waits here: it must not go out in the clear. */
  #held = false;
  #closing = false;
  #eof = false;
  /** The writable closing (after `writeEof()` or `close()`). */
  #ending: Promise<void> | null = null;
  #proxy: WritableStream<Uint8Array | string> | null = null;

  private constructor(
    writable: WritableStream<Uint8Array> | ClaimedWritable,
    options: StreamWriterOptions,
    lossNotifier: LossNotifier | null = null,
  ) {
    this.#reader = options.reader ?? null;
    this.#state = { transport: options.transport ?? null, lost: null, writer: null, writableFailed: false };
    this.#extra = options.extra ?? NO_EXTRA;
    this.#serverSide = options.serverSide === true;
    this.#tryWriter = tryWriterOf(this.#state.transport);
    // A writable of any realm or ponyfill has getWriter(); a claimed side has writer().
    const stream = 'getWriter' in writable ? writable : null;
    this.#claimed = stream === null ? (writable as ClaimedWritable) : null;
    this.#writer = stream === null ? null : this.#watchWriter(stream.getWriter());
    this.#lossNotified = lossNotifier !== null;
    if (lossNotifier !== null) lossNotifier._notifyLoss(this.#state);
    else this.#watchLoss();
    if (isTransport(this.#state.transport)) abandoned?.register(this.#reader ?? this, this.#state, this.#state);
  }

  get #transport(): unknown {
    return this.#state.transport;
  }

  /** The writer of the transport's writable, got on first need (see `Transport._claimWritable()`). */
  #streamWriter(): WritableStreamDefaultWriter<Uint8Array> {
    this.#writer ??= this.#watchWriter(this.#claimed!.writer());
    return this.#writer;
  }

  /** Closes the writable (what is queued goes out first), without making it if it was never needed. */
  #endWritable(): Promise<void> {
    if (this.#writer === null && this.#claimed !== null) return this.#claimed.end();
    return this.#streamWriter().close();
  }

  /** Notes when `writer`'s stream fails, as long as it is the one in use. */
  #watchWriter(writer: WritableStreamDefaultWriter<Uint8Array>): WritableStreamDefaultWriter<Uint8Array> {
    // These reactions live as long as the transport: they must not hold the writer.
    const state = this.#state;
    state.writer = writer;
    state.writableFailed = false;
    // A released writer's closed rejects too: only the one in use counts.
    writer.closed.catch(() => {
      if (state.writer === writer) state.writableFailed = true;
    });
    return writer;
  }

  /** What `waitClosed()` waits for: the transport's `closed`, else the writable's. */
  #closedPromise(): Promise<void> {
    return this.#transportClosed() ?? this.#streamWriter().closed;
  }

  #transportClosed(): Promise<void> | null {
    const transport = this.#transport;
    const closed = isTransport(transport) ? transport.closed : undefined;
    return closed instanceof Promise ? closed : null;
  }

  /**
   * Notes the loss in `#state` once the transport closes (see `whenClosed()`); with no
   * transport to tell, once the writable errors.
   */
  #watchLoss(): void {
    const state = this.#state;
    const lost = (error: unknown): void => {
      state.lost ??= { diedOf: error };
    };
    const transport = this.#transport;
    if (isTransport(transport) && whenClosed(transport, lost)) return;
    this.#streamWriter().closed.then(undefined, lost);
  }

  /**
   * Creates a writer over `writable`, which it locks.
   *
   * @param writable where the bytes go
   * @param options the connection's `reader`, its `transport`, and `extra` info
   * @returns the writer
   * @throws {TypeError} when `writable` is locked, and for an option it does not take
   * @example
   * ```ts
   * const reader = StreamReader.from(socket.readable);
   * const writer = StreamWriter.from(socket.writable, { reader, transport: socket });
   * ```
   */
  static from<T = null>(writable: WritableStream<Uint8Array>, options: StreamWriterOptions<T> = {}): StreamWriter<T> {
    checkWritable(writable);
    checkOptionNames(options, STREAM_WRITER_FROM_OPTIONS, 'StreamWriter.from()');
    return new StreamWriter<T>(writable, options);
  }

  /**
   * The writer of a connection function's connection: as `from(transport.writable, ...)`, but
   * the transport's writable is only made (and locked) once a write needs it.
   * @internal
   */
  static _overTransport(
    transport: Transport | StreamPair,
    reader: StreamReader,
    serverSide: boolean,
    lossNotifier: LossNotifier | null = null,
  ): StreamWriter {
    return new StreamWriter(claimWritable(transport) ?? transport.writable, { reader, transport, serverSide }, lossNotifier);
  }

  /**
   * The connection this writer writes to: for the connection functions' writers the socket (a
   * `Transport`), or the `{ readable, writable }` pair given as `sock`; after `startTls()`, the
   * TLS socket; `null` for a writer over a bare writable.
   */
  get transport(): T {
    return this.#transport as T;
  }

  /**
   * A `WritableStream` that writes through this writer, for `pipeTo`: each chunk is a
   * `write()` followed by `drain()`. Closing it ends our side as the transport can: a
   * half-close (`writeEof()`) where it can, else (TLS) `close()`, and the close resolves once
   * every byte is delivered. Aborting it closes the connection. (The stream given to `from()`
   * stays locked by the writer.)
   *
   * @example
   * ```ts
   * await (await fetch(url)).body!.pipeTo(writer.writable); // then the peer sees EOF
   * ```
   */
  get writable(): WritableStream<Uint8Array | string> {
    this.#proxy ??= new WritableStream<Uint8Array | string>({
      // An abort (pipeTo's signal, abort() on its writer) waits for the write in flight: its
      // drain must end then, or a peer that does not read would hold the abort as long.
      write: (chunk, controller) => {
        this.write(chunk);
        return abortable(this.drain(), controller.signal as AbortSignal | undefined, ignore);
      },
      close: () => {
        if (this.canWriteEof()) this.writeEof();
        else this.close();
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
   * Queues a copy of `data` to be sent; returns at once, and the caller may reuse `data`.
   * Empty data does nothing. Once the connection is lost, writes are dropped silently
   * (CPython): the error comes from `drain()`. Written after `startTls()` was called, the
   * bytes wait for the handshake and go out encrypted (or are dropped if it fails).
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
    const chunk = checkWriteData(data);
    if (this.#eof) throw new Error('Cannot call write() after writeEof()');
    if (this.#closing) throw new Error('Cannot call write() after close()');
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
    const chunks = Array.from(checkLines(lines), checkWriteData);
    if (this.#eof) throw new Error('Cannot call writelines() after writeEof()');
    if (this.#closing) throw new Error('Cannot call writelines() after close()');
    for (const chunk of chunks) this.#enqueue(chunk);
  }

  /**
   * Waits until the bytes queued (the writer's and the writable's) are under the writable's
   * high-water mark; resolves at once when they already are. Any number of calls may wait
   * together.
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
    this.#flush();
    this.#burstStarted = false;
    if (this.#underMark()) return RESOLVED;
    this.#drainWaiters ??= deferred();
    return this.#drainWaiters.promise;
  }

  async #drainClosing(): Promise<void> {
    await yieldOnce();
    const state = this.#state;
    // A writable that failed before the loss was heard of: its ready rejects with its error.
    if (state.lost === null && state.writableFailed) return this.#streamWriter().ready;
    throw state.lost?.diedOf ?? connectionLost();
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
   * @throws {Error} when the transport cannot half-close (`canWriteEof()` is false), or while
   *   `startTls()` runs
   * @example
   * ```ts
   * writer.write(request);
   * writer.writeEof();
   * const response = await reader.read(); // everything until the peer closes
   * ```
   */
  writeEof(): void {
    if (this.#eof || this.#closing) return;
    if (this.#upgrading) throw new Error('Cannot call writeEof() while startTls() is in progress');
    if (!this.canWriteEof()) throw new Error('This transport cannot half-close (writeEof)');
    this.#eof = true;
    this.#flushAll();
    this.#ending = this.#endWritable();
    this.#ending.catch(ignore);
  }

  /**
   * Closes the connection: the queued bytes go out first, then the transport is closed.
   * Returns at once; `waitClosed()` tells when it is done. Idempotent. During `startTls()`
   * the close waits for the handshake, so that what was written goes out encrypted.
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
    if (this.#held) return; // startTls() closes once the handshake is over
    this.#endAndClose();
  }

  /** Sends what is queued, closes the writable, then closes the transport. */
  #endAndClose(): void {
    this.#flushAll();
    const flushed = this.#ending ?? this.#endWritable();
    this.#ending = flushed;
    const transport = this.#transport;
    const closeTransport = (): void => {
      if (isTransport(transport) && typeof transport.close === 'function') {
        Promise.resolve(transport.close()).catch(ignore);
      }
    };
    flushed.then(closeTransport, closeTransport);
  }

  /** Whether `close()` was called, a write failed, or the connection is gone. */
  isClosing(): boolean {
    // A writable that failed (a write met a reset) is closing, as CPython's transport is once a
    // write error closed it, before the loss itself is heard of.
    return this.#closing || this.#state.lost !== null || this.#state.writableFailed;
  }

  /**
   * Resolves once the connection is closed (the transport's `closed`, else the writable's).
   *
   * @throws the error the connection died of
   */
  waitClosed(): Promise<void> {
    this.#closed ??= this.#closedPromise();
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
   * const peer = writer.getExtraInfo('peername'); // SocketName | null
   * const cipher = writer.getExtraInfo('cipher')?.name ?? 'plain';
   * ```
   */
  getExtraInfo<Name extends keyof ExtraInfo>(name: Name): ExtraInfo[Name] | null;
  /**
   * A detail by a name `getExtraInfo()` knows, or `defaultValue` when the connection cannot tell.
   *
   * @param name the detail wanted
   * @param defaultValue what to return when it is unknown
   */
  getExtraInfo<Name extends keyof ExtraInfo, Default>(name: Name, defaultValue: Default): ExtraInfo[Name] | Default;
  /**
   * Any other detail, by name: a transport's own (`undefined` there gives `defaultValue`).
   *
   * @param name the detail wanted
   * @param defaultValue what to return when it is unknown (default `null`)
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
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
   * everything written before the call has reached the socket, does the handshake on this
   * connection's side (a writer from `startServer()` does the server's) and resolves when it is
   * done. From then on `transport` is the TLS socket, writes are encrypted, and the reader goes
   * on with what TLS decrypts; `canWriteEof()` is false.
   *
   * What is written after the call waits for the handshake and goes out encrypted; if the
   * upgrade fails, it is dropped and the connection closed with the error. Nothing written
   * after the call goes out in the clear (CPython sends such bytes in the clear, ahead of the
   * hello).
   *
   * Bytes the reader had buffered when the upgrade starts are never misread. A server hands
   * them to TLS: they are the client's hello, which may arrive together with the request to
   * upgrade (CPython gh-142352). A client refuses to start (`ERR_TLS_UNREAD_PLAINTEXT`, the
   * connection left as it was): a server sends nothing between its answer to STARTTLS and the
   * handshake, so such bytes were injected in the clear, and read after the upgrade they would
   * pass for TLS's (CPython's reader keeps them: the STARTTLS injection of CVE-2011-0411).
   *
   * @param ssl `true` (a client trusting the runtime's default store) or TLS options; a server
   *   needs `cert` and `key`
   * @param options `serverHostname` (default: the host the connection was opened with; needed
   *   when there is none), `sslHandshakeTimeout` (seconds, default 60), `sslShutdownTimeout`
   *   (seconds closing waits for the peer's close_notify, default 30)
   * @throws {TypeError} when the transport cannot start TLS (it is TLS already, or a bare pair
   *   of streams), for an option it does not take, or for options of the wrong type
   * @throws {RangeError} for options CPython refuses (see `openConnection()`)
   * @throws {Error} after `writeEof()`, or while another `startTls()` is running; on a client
   *   whose reader (or socket) holds unread bytes, with `code: 'ERR_TLS_UNREAD_PLAINTEXT'`
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
    checkOptionNames(options, START_TLS_OPTIONS, 'startTls()');
    if (this.#eof) throw new Error('Cannot call startTls() after writeEof()');
    if (this.#upgrading) throw new Error('startTls() is already in progress');
    const transport = this.#transport;
    if (!isTransport(transport) || typeof transport.startTls !== 'function') {
      throw new TypeError(`transport ${String(transport)} is not supported by startTls()`);
    }
    // A client's unread plain bytes would be read as if TLS had brought them: refused.
    const unread = this.#serverSide ? 0 : (this.#reader?._peekBuffer().byteLength ?? 0);
    if (unread > 0) throw unreadBeforeTlsError(unread);
    this.#upgrading = true;
    // What was written before the call goes out in the clear; from now on, writes wait for TLS.
    this.#flushAll();
    this.#held = true;
    let upgraded = false;
    try {
      // The plain bytes must all be out before the first TLS record.
      await this.#flushed();
      await transport._tryWritten?.();
      const exception = this.#reader?.exception() ?? null;
      if (exception !== null) throw exception;
      if (this.#state.lost !== null) await this.#drainClosing();
      const startTls = transport.startTls.bind(transport);
      const start = (received: Uint8Array | undefined): Transport => startTls({
        ssl,
        serverSide: this.#serverSide,
        serverHostname: options?.serverHostname,
        sslHandshakeTimeout: options?.sslHandshakeTimeout,
        sslShutdownTimeout: options?.sslShutdownTimeout,
        received,
      });
      const secure = this.#reader === null ? start(undefined) : this.#reader._startTls(this.#serverSide, start);
      this.#switchTo(secure);
      await secure.opened;
      upgraded = true;
    } catch (error) {
      this.#dropHeld(error);
      throw error;
    } finally {
      this.#upgrading = false;
      this.#held = false;
      if (this.#closing && this.#ending === null) this.#endAndClose();
      else if (upgraded) this.#flush();
    }
  }

  /**
   * The upgrade failed: what was written for TLS cannot go out, so it is dropped and the
   * connection closed with `error`, which `drain()` then raises. With nothing written for
   * TLS, a refused upgrade leaves the connection as it was.
   */
  #dropHeld(error: unknown): void {
    if (this.#queue.length === 0) return;
    this.#queue.clear();
    this.#state.lost ??= { diedOf: error };
    this.#settleDrainWaiters(error);
    void this.#abort(error);
  }

  /** Writes to `transport` from now on (its writable is fresh: the old one is flushed). */
  #switchTo(transport: Transport): void {
    // A released writer's closed rejects: it must no longer count as the one in use.
    this.#state.writer = null;
    this.#writer?.releaseLock();
    this.#claimed = claimWritable(transport);
    this.#writer = this.#claimed === null ? this.#watchWriter(transport.writable.getWriter()) : null;
    this.#state.transport = transport;
    this.#tryWriter = tryWriterOf(transport);
    // A protocol follows its connection onto the new transport, and goes on telling of the loss.
    this.#closed = null;
    if (!this.#lossNotified) this.#watchLoss();
  }

  /** CPython's `repr()`: `<StreamWriter transport=... reader=...>`. */
  toString(): string {
    const info = ['StreamWriter'];
    if (this.#transport !== null) info.push(`transport=${String(this.#transport)}`);
    if (this.#reader !== null) info.push(`reader=${String(this.#reader)}`);
    return `<${info.join(' ')}>`;
  }

  /**
   * Queues a copy of `chunk`; the stream gets it at the end of this microtask, or at `drain()`.
   * The first write after a flush point goes to a transport that takes bytes synchronously at
   * once instead (such a transport gathers a tick's writes itself): a reply written before
   * `await drain()` then costs no microtask of its own, where the one `drain()` left idle cost a
   * small HTTP server up to a few percent of its requests. The writes after it gather in the
   * queue and leave together, as before. A transport that sends without keeping the bytes
   * (`_sendNow`, Bun's sockets) gets that first write before it is copied: only what it did
   * not take is.
   */
  #enqueue(chunk: Uint8Array): void {
    if (chunk.byteLength === 0 || this.#state.lost !== null || this.#state.writableFailed) return;
    const tryWriter = this.#tryWriter;
    if (tryWriter?._sendNow && !this.#burstStarted && !this.#held && this.#queue.length + this.#inStream === 0) {
      // Nothing is ahead of it: what the transport sends now needs no copy, only the rest does.
      const taken = tryWriter._sendNow(chunk);
      this.#burstStarted = true;
      if (taken === chunk.byteLength) return;
      chunk = chunk.subarray(taken);
    }
    if (this.#queue === NOTHING_WRITTEN) this.#queue = new WriteQueue();
    this.#queue.push(chunk);
    if (this.#flushScheduled || this.#held) return;
    if (!this.#burstStarted && tryWriter !== null) {
      this.#burstStarted = true;
      this.#flush();
      return;
    }
    this.#flushScheduled = true;
    // A reaction rather than queueMicrotask(), which on Node wraps each callback in an
    // AsyncResource and a bound function: a microtask all the same, in the same order.
    void RESOLVED.then((this.#scheduledFlush ??= () => {
      this.#flushScheduled = false;
      this.#burstStarted = false;
      this.#flush();
    }));
  }

  /**
   * Hands queued chunks on while the writable has none in flight: straight to the transport
   * while it takes them (`tryWrite`), else one to the writable, whose settling hands the
   * next. One chunk at a time keeps the stream's own queue short, whatever it costs per chunk.
   */
  #flush(): void {
    if (this.#held) return;
    while (this.#inStream === 0) {
      const chunk = this.#queue.shift();
      if (chunk === null) break;
      if (this.#tryWriter === null || !this.#tryWriter.tryWrite(chunk)) this.#handOver(chunk);
    }
    if (this.#drainWaiters !== null && this.#underMark()) this.#settleDrainWaiters(null);
  }

  /** Hands everything queued to the writable now, in order: before it closes or TLS starts. */
  #flushAll(): void {
    for (let chunk = this.#queue.shift(); chunk !== null; chunk = this.#queue.shift()) {
      if (this.#inStream > 0 || this.#tryWriter === null || !this.#tryWriter.tryWrite(chunk)) this.#handOver(chunk);
    }
  }

  #handOver(chunk: Uint8Array): void {
    this.#inStream += 1;
    // A writable not claimed from the library's own socket is anyone's: it may keep or transfer
    // the chunk's buffer (a byte stream's enqueue() does), which must not be the shared pool.
    const written = this.#streamWriter().write(this.#claimed === null ? ownBuffer(chunk) : chunk);
    written.then((this.#onWritten ??= () => {
      this.#inStream -= 1;
      this.#flush();
    }), (this.#onWriteFailed ??= (error: unknown) => {
      this.#inStream -= 1;
      // The connection is gone: nothing queued can reach it.
      this.#queue.clear();
      this.#settleDrainWaiters(error);
    }));
    this.#lastWrite = written;
  }

  /** Whether `drain()` may resolve: everything is through, or the bytes queued are under the mark. */
  #underMark(): boolean {
    const queued = this.#queue.length;
    if (queued === 0 && this.#inStream === 0) return true;
    const desiredSize = this.#streamWriter().desiredSize;
    return desiredSize !== null && desiredSize - queued > 0;
  }

  /** Resolves the waiting `drain()` calls, or rejects them with `error`. */
  #settleDrainWaiters(error: unknown): void {
    const waiters = this.#drainWaiters;
    if (waiters === null) return;
    this.#drainWaiters = null;
    if (error === null) waiters.resolve();
    else waiters.reject(error);
  }

  /** Resolves once every chunk handed to the writable so far has gone through (or failed). */
  async #flushed(): Promise<void> {
    while (this.#inStream > 0) await this.#lastWrite.catch(ignore);
  }

  #abort(reason: unknown): Promise<void> {
    const transport = this.#transport;
    if (isTransport(transport) && typeof transport.close === 'function') {
      return Promise.resolve(transport.close(reason)).catch(ignore);
    }
    return this.#streamWriter().abort(reason);
  }
}
