import { runClientCallback, type ClientConnectedCallback } from './_client-callback.ts';
import type { ClientErrorHandler } from './options.ts';
import type { StreamReader } from './stream-reader.ts';
import { StreamWriter, type LossRecord } from './stream-writer.ts';
import type { LossWatcher, Protocol, Transport } from './transport.ts';

/** Options of {@linkcode StreamReaderProtocol}. */
export interface StreamReaderProtocolOptions {
  /** Hears about a client callback that threw; the default logs it with `console.error`. */
  onError?: ClientErrorHandler;
}

function ignore(): void {}

const NOT_LOST = Symbol('not lost');

/** A transport that cannot half-close is TLS, whose EOF closes the connection (CPython's `_over_ssl`). */
function isOverTls(transport: Transport): boolean {
  return typeof transport.canWriteEof === 'function' && !transport.canWriteEof();
}

/**
 * Lets a callback-style transport feed a `StreamReader` (CPython's `StreamReaderProtocol`):
 * `dataReceived` feeds the reader, `eofReceived` feeds its EOF, `connectionLost` feeds EOF
 * after a clean close or stores the error otherwise, so that every later read (and the
 * writer's next `drain()`) raises it.
 *
 * Given a `clientConnectedCb`, it is the server side: `connectionMade` creates the
 * connection's `StreamWriter` and calls `clientConnectedCb(reader, writer)`; a callback that
 * throws or rejects is reported to `onError` and its connection closed.
 *
 * @example
 * ```ts
 * import { StreamReader, StreamReaderProtocol } from 'asyncio-streams';
 *
 * const reader = new StreamReader();
 * const protocol = new StreamReaderProtocol(reader);
 * protocol.dataReceived(new TextEncoder().encode('hello\n'));
 * protocol.connectionLost(null);
 * await reader.readline(); // 'hello\n'
 * await reader.read();     // empty: EOF
 * ```
 */
export class StreamReaderProtocol implements Protocol {
  /**
   * Weak, as CPython's `_stream_reader_wr`: the transport keeps this protocol, and must not
   * keep a connection nobody can read or write any more (see `StreamWriter`). A read that waits
   * keeps its reader in `_waitingReader`, so the code awaiting it is not collected.
   */
  readonly #reader: WeakRef<StreamReader>;
  /**
   * The reader while one of its reads waits, else `null` (the reader sets it).
   * @internal
   */
  _waitingReader: StreamReader | null = null;
  readonly #clientConnectedCb: ClientConnectedCallback | null;
  readonly #onError: ClientErrorHandler | undefined;
  #transport: Transport | null = null;
  /** Weak: the transport keeps this protocol, and must not keep an abandoned writer alive (gh-114914). */
  #writer: WeakRef<StreamWriter> | null = null;
  /**
   * The writer while the client callback runs, else `null` (see `CallbackKeeper`).
   * @internal
   */
  _held: StreamWriter | null = null;
  #overTls = false;
  /**
   * What `connectionLost` was given (`null` for a clean close), `NOT_LOST` before. `closed` is
   * made from it on first access: most connections never ask.
   */
  #lostWith: unknown = NOT_LOST;
  #closed: Promise<void> | null = null;
  #settleClosed: ((error: unknown) => void) | null = null;
  /** The state of the writer of this connection, which hears of the loss from here (see `_notifyLoss()`). */
  #writerState: LossRecord | null = null;
  /** Who else hears of the loss: the server that counts this connection as its client (see `_watchLoss()`). */
  #lossWatcher: LossWatcher | null = null;

  /**
   * Makes the protocol of one connection, feeding `reader`.
   *
   * @param reader the reader to feed
   * @param clientConnectedCb the server's callback, called once connected with the reader and
   *   a new writer; none on the client side
   * @param options `onError`, for a callback that throws
   */
  constructor(
    reader: StreamReader,
    clientConnectedCb: ClientConnectedCallback | null = null,
    options: StreamReaderProtocolOptions = {},
  ) {
    this.#reader = new WeakRef(reader);
    reader._holdWhileWaiting(this);
    this.#clientConnectedCb = clientConnectedCb;
    this.#onError = options.onError;
  }

  /** Settles at `connectionLost`: resolves after a clean close, rejects with the error. */
  get closed(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    const lostWith = this.#lostWith;
    if (lostWith === NOT_LOST) {
      this.#closed = new Promise<void>((resolve, reject) => {
        this.#settleClosed = (error) => (error === null || error === undefined ? resolve() : reject(error));
      });
    } else {
      this.#closed = lostWith === null || lostWith === undefined ? Promise.resolve() : Promise.reject(lostWith);
    }
    // Nobody may ever wait on it (CPython retrieves the exception in __del__ for the same reason).
    this.#closed.catch(ignore);
    return this.#closed;
  }

  /**
   * Marks `state` lost when the connection is: a writer over this protocol's transport learns
   * of the loss here, at once, rather than through reactions to the transport's `closed`.
   * @internal
   */
  _notifyLoss(state: LossRecord): void {
    this.#writerState = state;
    if (this.#lostWith !== NOT_LOST) state.lost ??= { diedOf: this.#lostWith ?? null };
  }

  /**
   * Calls `watcher.connectionLost(error)` once the connection is gone: how a server learns
   * that a client left, without a promise and reactions per connection.
   * @internal
   */
  _watchLoss(watcher: LossWatcher): void {
    this.#lossWatcher = watcher;
    if (this.#lostWith !== NOT_LOST) watcher.connectionLost(this.#lostWith);
  }

  /** The reader this protocol feeds; `null` once it was dropped and garbage-collected. */
  get reader(): StreamReader | null {
    return this.#reader.deref() ?? null;
  }

  /** The transport given to `connectionMade`, or `null` before it. */
  get transport(): Transport | null {
    return this.#transport;
  }

  /**
   * The writer made for the server's callback, or `null` on the client side, or once the
   * callback dropped it and it was garbage-collected.
   */
  get writer(): StreamWriter | null {
    return this.#writer?.deref() ?? null;
  }

  /**
   * Connects the reader to `transport` (for flow control) and, on the server side, creates
   * the writer and calls the client callback.
   */
  connectionMade(transport: Transport): void {
    this.#transport = transport;
    this.#overTls = isOverTls(transport);
    const reader = this.reader;
    if (reader === null) return;
    reader.setTransport(transport);
    const callback = this.#clientConnectedCb;
    if (callback === null) return;
    const writer = StreamWriter._overTransport(transport, reader, true, this);
    this.#writer = new WeakRef(writer);
    runClientCallback(callback, reader, writer, this, this.#onError);
  }

  /**
   * The connection goes on over `transport`, the TLS socket `startTls()` made (CPython's
   * `_replace_transport`); the reader now pauses and resumes the TLS socket itself (gh-152431).
   * @internal
   */
  _replaceTransport(transport: Transport): void {
    this.#transport = transport;
    this.reader?._replaceTransport(transport);
    this.#overTls = isOverTls(transport);
  }

  /**
   * Feeds `data` to the reader, which may keep it: a transport hands each chunk over for good
   * (see `Protocol.dataReceived`).
   */
  dataReceived(data: Uint8Array): void {
    // A waiting read holds its reader here already: `deref()` is a runtime call on V8 that
    // adds the reader to a set kept until the microtasks have run, per chunk received.
    (this._waitingReader ?? this.reader)?._feedReceived(data);
  }

  /**
   * Feeds EOF to the reader.
   * @returns `true` to keep our side open (half-close), `false` over TLS, which cannot
   */
  eofReceived(): boolean {
    this.reader?.feedEof();
    return !this.#overTls;
  }

  /** Feeds EOF (`error` null) or stores `error` in the reader, then settles `closed`. */
  connectionLost(error: unknown): void {
    const reader = this.reader;
    if (error === null || error === undefined) reader?.feedEof();
    else reader?.setException(error);
    if (this.#lostWith !== NOT_LOST) return;
    this.#lostWith = error;
    if (this.#writerState !== null) this.#writerState.lost ??= { diedOf: error ?? null };
    this.#lossWatcher?.connectionLost(error);
    this.#settleClosed?.(error);
    this.#settleClosed = null;
  }
}
