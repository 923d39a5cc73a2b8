import { checkStartTls } from '../../_checks.ts';
import type { ClaimedWritable, Transport } from '../../transport.ts';
import type { DenoAddr, DenoConn } from './namespace.ts';
import { writeAll } from './conn-duplex.ts';
import { socketClosedError, upgradedError } from '../../errors.ts';
import { startNodeTls } from './tls.ts';
import {
  CLOSED,
  DEFAULT_HIGH_WATER_MARK,
  FIRST_OWN_FLAG,
  READ_DONE,
  WRITE_DONE,
  type RuntimeStartTlsOptions,
  type SocketInfo,
} from '../_socket.ts';
import { describeSocket, socketNameText } from '../../_socket-name.ts';
import { NO_EXTRA } from '../../_extra-info.ts';
import { LazyWritable, type SocketSink } from '../_lazy-writable.ts';
import { ClosedSignal, type ClosedWatcher } from '../_closed-signal.ts';
import { offerSocketRead, type ClaimedReadable } from '../../_socket-reads.ts';

/** Options of {@link DenoSocket}. */
export interface DenoSocketOptions {
  /** Bytes the writable queues before `writer.ready` (and so `drain()`) waits. Default 65536. */
  writableHighWaterMark?: number;
  /** Extra-info values that win over the ones read from the connection. */
  extra?: Readonly<Record<string, unknown>>;
  /**
   * The host name the connection was opened to: `startTls()` verifies the server's
   * certificate against it unless given another `serverHostname`.
   */
  serverHostname?: string | null;
}

/* Bits of `DenoSocket.#flags` of its own, after `CLOSED`, `READ_DONE` and `WRITE_DONE` (see `_socket.ts`). */
/** A `conn.read()` is in flight (`startTls()` needs none). */
const READING = FIRST_OWN_FLAG;
/** A `conn.write()` is in flight (`startTls()` needs none). */
const WRITING = FIRST_OWN_FLAG << 1;
/** The connection's `StreamReader` owns `readable` (see `Transport._claimReadable()`). */
const READ_CLAIMED = FIRST_OWN_FLAG << 2;

/** The buffer a default (non-BYOB) reader of `readable` gets per read. */
const CHUNK_SIZE = 65536;

/** CPython's address forms: `[host, port]` for TCP, the path (or `''`) for a Unix socket. */
function socketName(addr: DenoAddr): readonly [string, number] | string {
  return 'path' in addr ? (addr.path ?? '') : [addr.hostname, addr.port];
}

function describe(addr: DenoAddr): string | null {
  if ('path' in addr) return addr.path || null;
  return socketNameText([addr.hostname, addr.port]);
}

/**
 * A `Deno.Conn` in the shape of the WinterTC Sockets API (`{ readable, writable, opened,
 * closed, close(), startTls() }`), plus the transport calls the writer and `Server` use.
 * It owns the connection from then on.
 *
 * `readable` is a byte stream whose pulls are `conn.read()` straight into the reader's view,
 * so a BYOB reader (what `StreamReader.from()` uses) gets the bytes with no copy; it is made
 * on first access, and the connection functions' reader reads the connection past it, making
 * it only to learn how reading ended (see `ClaimedReadable`). It is not
 * `conn.readable`: Deno closes the whole connection when `conn.readable` reaches EOF, and
 * asyncio code often answers after reading to EOF. Likewise `writable` ends with
 * `conn.closeWrite()` (half-close) where `conn.writable`'s `close()` would close the whole
 * connection. `writable` queues up to `writableHighWaterMark` bytes, and a write finishes once
 * the kernel took all of its bytes (`conn.write()` may take part of a chunk).
 *
 * `startTls()` upgrades the connection in place and returns the TLS socket, a `NodeSocket`
 * running Deno's `node:tls` over the connection (client and server side alike). This socket
 * then stands for the connection it became, as `NodeSocket` does.
 *
 * @example
 * ```ts
 * import { DenoSocket } from 'asyncio-streams';
 *
 * const socket = new DenoSocket(await Deno.connect({ hostname: '127.0.0.1', port: 8888 }));
 * const writer = socket.writable.getWriter();
 * await writer.write(new TextEncoder().encode('ping\n'));
 * await writer.close(); // half-close: the peer sees EOF, we still read
 * for await (const chunk of socket.readable) console.log(chunk);
 * await socket.close();
 * ```
 */
export class DenoSocket implements Transport {
  readonly #conn: DenoConn;
  readonly #extra: Readonly<Record<string, unknown>>;
  readonly #serverHostname: string | null;
  /** `CLOSED`, `READ_DONE`, ...: the state a boolean field each would hold (see `_socket.ts`). */
  #flags = 0;
  /** What waits for the write in flight to finish (see `#writesDone()`); made only when something does. */
  #written: Promise<void> | null = null;
  #wakeWritten: (() => void) | null = null;
  #upgradedTo: Transport | null = null;
  /** `readable`, once made (see `#madeReadable()`). */
  #readable: ReadableStream<Uint8Array> | null = null;
  #readController: ReadableByteStreamController | undefined;
  /** The reader of `readable` that the connection's `StreamReader` owns, once made (see `_claimReadable()`). */
  #claimedReader: ReadableStreamBYOBReader | null = null;
  /** Why reading failed, for a `readable` made afterwards to start errored with it. */
  #readFailure: { error: unknown } | null = null;
  readonly #writable: LazyWritable<DenoSocket>;
  #opened: Promise<SocketInfo> | null = null;
  /** `closed` and its watchers, made when first needed (see `#closed`). */
  #closedSignal: ClosedSignal | null = null;

  /**
   * Wraps a `Deno.Conn` as a WinterTC socket.
   *
   * @param conn a connected `Deno.Conn`
   * @param options the writable's high-water mark, extra-info overrides, the host name for `startTls()`
   */
  constructor(conn: DenoConn, options: DenoSocketOptions = {}) {
    this.#conn = conn;
    this.#extra = options.extra ?? NO_EXTRA;
    this.#writable = new LazyWritable<DenoSocket>(this, DenoSocket.#sinkOf, options.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK);
    this.#serverHostname = options.serverHostname ?? null;
  }

  /**
   * The source of `readable`: the stream calls its methods with `this` set to it, and it names
   * its socket. Methods shared by every socket, where three closures each would cost an idle
   * connection about 200 bytes.
   */
  static readonly #ReadSource = class implements UnderlyingByteSource {
    readonly socket: DenoSocket;

    constructor(socket: DenoSocket) {
      this.socket = socket;
    }

    get type(): 'bytes' {
      return 'bytes';
    }

    get autoAllocateChunkSize(): number {
      return CHUNK_SIZE;
    }

    start(controller: ReadableByteStreamController): void {
      const socket = this.socket;
      socket.#readController = controller;
      // Made once reading is over (the socket's own read met the end): it starts as reading ended.
      if ((socket.#flags & READ_DONE) === 0) return;
      const failure = socket.#readFailure;
      if (failure === null) controller.close();
      else controller.error(failure.error);
    }

    pull(controller: ReadableByteStreamController): Promise<void> {
      return this.socket.#pull(controller);
    }

    cancel(): void {
      const socket = this.socket;
      socket.#flags |= READ_DONE;
      if ((socket.#flags & WRITE_DONE) !== 0) socket.#finish(null);
    }
  };

  /**
   * The peer's bytes, as a byte stream (`getReader({ mode: 'byob' })` works). Made on first
   * access, so an idle connection holds no stream; while the connection's `StreamReader` owns
   * it (the connection functions' sockets), it is locked.
   */
  get readable(): ReadableStream<Uint8Array> {
    if ((this.#flags & READ_CLAIMED) !== 0) this._claimedReader();
    return this.#madeReadable();
  }

  /** @internal See `Transport._claimReadable()`. */
  _claimReadable(): ClaimedReadable {
    // A stream made already is locked now, as `StreamReader.from()` would lock it.
    if (this.#readable !== null) this._claimedReader();
    this.#flags |= READ_CLAIMED;
    return this;
  }

  /** @internal See `ClaimedReadable._claimedReader()`. */
  _claimedReader(): ReadableStreamBYOBReader {
    this.#claimedReader ??= this.#madeReadable().getReader({ mode: 'byob' });
    return this.#claimedReader;
  }

  #madeReadable(): ReadableStream<Uint8Array> {
    if (this.#readable !== null) return this.#readable;
    this.#readable = new ReadableStream(new DenoSocket.#ReadSource(this), { highWaterMark: 0 });
    // Whoever locks it reads the connection itself, past the stream (see `SocketReader`); an
    // owner who claimed it has that read already.
    if ((this.#flags & READ_CLAIMED) === 0) offerSocketRead(this.#readable, this);
    return this.#readable;
  }

  /**
   * Settles when the connection is fully closed: resolves after a clean close, rejects with the
   * error it died of. Made on first access (an idle connection holds no promise), already
   * settled when the connection closed before; never an unhandled rejection.
   */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** @internal See `Transport._whenClosed()`. */
  _whenClosed(watcher: ClosedWatcher): void {
    this.#closed.watch(watcher);
  }

  /**
   * Who hears of the close: made on the first `closed` or `_whenClosed()`, or at the close, so
   * that an idle connection nobody watches holds none.
   */
  get #closed(): ClosedSignal {
    this.#closedSignal ??= new ClosedSignal();
    return this.#closedSignal;
  }

  /** Resolves at once: a `Deno.Conn` is connected (made when first asked for). */
  get opened(): Promise<SocketInfo> {
    this.#opened ??= Promise.resolve({
      remoteAddress: describe(this.#conn.remoteAddr),
      localAddress: describe(this.#conn.localAddr),
      alpn: null,
    });
    return this.#opened;
  }

  /**
   * Where to write; closing it half-closes the connection (`conn.closeWrite()`). Made on first
   * access, so an idle connection holds no stream; while a `StreamWriter` owns it (the
   * connection functions' sockets), it is locked.
   */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable.stream;
  }

  /** @internal See `Transport._claimWritable()`. */
  _claimWritable(): ClaimedWritable {
    return this.#writable.claim();
  }

  /**
   * Starts writing `chunk` now, unless a write is in flight (see `Transport.tryWrite`): what
   * the writer writes skips the stream's per-chunk promises. A chunk above the high-water mark
   * goes through `writable`, which counts it until it is written.
   */
  tryWrite(chunk: Uint8Array): boolean {
    if ((this.#flags & (WRITING | WRITE_DONE | CLOSED)) !== 0 || chunk.byteLength > this.#writable.highWaterMark) return false;
    // A failed write fails the connection, which the writer hears of from `closed`.
    void this.#send(chunk);
    return true;
  }

  /** @internal See `Transport._tryWritten()`. */
  _tryWritten(): Promise<void> {
    return this.#writesDone();
  }

  /** Reading is pulled by the reader, so there is nothing to pause: a no-op. */
  pauseReading(): void {}

  /** A no-op, as `pauseReading()`. */
  resumeReading(): void {}

  /** A plain TCP or Unix connection can be half-closed; after `startTls()`, a TLS one cannot (as in asyncio). */
  canWriteEof(): boolean {
    return this.#upgradedTo?.canWriteEof?.() ?? true;
  }

  /**
   * `peername` and `sockname` (`[host, port]`, or the path for a Unix socket), `socket` (the
   * `Deno.Conn`); `undefined` for any other name. After `startTls()` this socket answers for
   * the TLS one (`peercert`, `cipher`, `sslcontext`, ... as on Node).
   */
  getExtraInfo(name: string): unknown {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) return upgraded.getExtraInfo?.(name);
    if (Object.hasOwn(this.#extra, name)) return this.#extra[name];
    switch (name) {
      case 'peername':
        return socketName(this.#conn.remoteAddr);
      case 'sockname':
        return socketName(this.#conn.localAddr);
      case 'socket':
        return this.#conn;
      default:
        return undefined;
    }
  }

  /** What the socket connects, for warnings and logs: `<DenoSocket 127.0.0.1:5000 -> 127.0.0.1:8888>` (`tls` after `startTls()`). */
  toString(): string {
    const states = [];
    if (this.#upgradedTo !== null) states.push('tls');
    if ((this.#flags & CLOSED) !== 0) states.push('closed');
    return describeSocket('DenoSocket', this, states);
  }

  /**
   * Closes both directions now, dropping what is still queued (WinterTC `close()`): `readable`
   * ends (errors with `reason` when one is given) and `writable` errors. After `startTls()`,
   * closes the TLS socket.
   * @returns the `closed` promise
   */
  close(reason?: unknown): Promise<void> {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) {
      void upgraded.close(reason);
    } else if ((this.#flags & CLOSED) === 0) {
      this.#failWritable(reason ?? null);
      if (reason !== undefined) this.#failReadable(reason);
      this.#finish(null);
    }
    return this.#closed.promise;
  }

  /**
   * Starts TLS on this connection (WinterTC `startTls()`) and returns the TLS socket; its
   * `opened` resolves once the handshake is done and rejects if it fails or takes longer than
   * `sslHandshakeTimeout` seconds (60 by default); then the connection is closed at once.
   *
   * TLS runs through Deno's `node:tls` over the connection (see `startNodeTls()`), on a client's
   * side as on a server's (which `Deno.startTls()` lacks), over TCP or a Unix socket: the TLS
   * socket is a `NodeSocket`, with its `peercert` and `cipher`. Not `Deno.startTls()`: Deno
   * closes a connection it upgraded only once its handshake is over (denoland/deno#14547).
   * This socket's `readable` ends and its `writable` errors.
   *
   * @param options `ssl` (`true`, the default, or TLS options), `serverSide`,
   *   `serverHostname` (default: the `serverHostname` this socket was made with),
   *   `sslHandshakeTimeout`, `received` (a server's bytes read ahead), `secureContext`
   * @returns the TLS socket
   * @throws {TypeError} on a second call, for bad options
   * @throws {RangeError} for options CPython refuses (a server without `cert` and `key`, no
   *   name to verify, ...)
   * @throws {Error} while a read or a write is in flight (Deno upgrades only an idle
   *   connection), or when the socket is closed
   * @example
   * ```ts
   * // After the peer agreed to STARTTLS:
   * const secure = socket.startTls({ serverHostname: 'mail.example.com' });
   * await secure.opened;
   * ```
   */
  startTls(options: RuntimeStartTlsOptions = {}): Transport {
    if (this.#upgradedTo !== null) throw new TypeError('startTls can only be called once');
    if ((this.#flags & CLOSED) !== 0) throw socketClosedError();
    const tls = checkStartTls(options.ssl ?? true, options, options.serverSide === true, this.#serverHostname);
    if ((this.#flags & (READING | WRITING)) !== 0) {
      throw new Error('startTls() cannot start while a read or a write is in flight: Deno upgrades only an idle connection');
    }
    const conn = this.#conn;
    const secure = startNodeTls(conn, tls, {
      received: options.received,
      secureContext: options.secureContext,
      writableHighWaterMark: this.#writable.highWaterMark,
      extra: this.#extra,
      peername: socketName(conn.remoteAddr),
      sockname: socketName(conn.localAddr),
    });
    this.#upgradedTo = secure;
    this.#failWritable(upgradedError());
    // A reader of this stream goes on with the TLS socket's (StreamReader does, see startTls()).
    if ((this.#flags & READ_DONE) === 0) this.#endReadable();
    secure._whenClosed((error) => this.#closed.settle(error));
    return secure;
  }

  async #pull(controller: ReadableByteStreamController): Promise<void> {
    // autoAllocateChunkSize gives every read, BYOB or not, a request with a view.
    const request = controller.byobRequest!;
    const view = request.view!;
    const n = await this._readInto(new Uint8Array(view.buffer as ArrayBuffer, view.byteOffset, view.byteLength));
    if (n > 0) request.respond(n);
  }

  /**
   * One `conn.read()` into `target`: how many bytes it read, or 0 once `readable` is done
   * with (the peer's EOF or an error ends it, as our close does), or was already.
   * @internal See `SocketReader`.
   */
  _readInto(target: Uint8Array<ArrayBuffer>): Promise<number> {
    if ((this.#flags & READ_DONE) !== 0) return Promise.resolve(0);
    this.#flags |= READING;
    // Reactions rather than an async function: a promise fewer per read.
    return this.#conn.read(target).then(
      (n) => {
        this.#flags &= ~READING;
        // 0 is not EOF: Deno reports it for a read that was woken without data.
        if (n === 0) return this._readInto(target);
        if (n === null) {
          this.#endReadable();
          if ((this.#flags & WRITE_DONE) !== 0) this.#finish(null);
          return 0;
        }
        // Cancelled (or upgraded) while the read was in flight: nobody wants these bytes.
        return (this.#flags & READ_DONE) !== 0 ? 0 : n;
      },
      (error: unknown) => {
        this.#flags &= ~READING;
        if ((this.#flags & CLOSED) !== 0) {
          // Our own close() interrupted the read: the stream ends, or already errored.
          this.#endReadable();
        } else {
          this.#died(error);
        }
        return 0;
      },
    );
  }

  /** `readable` ends, now or as it is made (see `#ReadSource.start()`). */
  #endReadable(): void {
    this.#flags |= READ_DONE;
    const controller = this.#readController;
    if (controller === undefined) return;
    try {
      controller.close();
      controller.byobRequest?.respond(0);
    } catch {
      // Already errored by close(reason).
    }
  }

  /** Resolves once no write is in flight. */
  #writesDone(): Promise<void> {
    if ((this.#flags & WRITING) === 0) return Promise.resolve();
    this.#written ??= new Promise<void>((resolve) => (this.#wakeWritten = resolve));
    return this.#written;
  }

  /** A write of `writable` that comes while one `tryWrite()` started is in flight: one at a time. */
  async #writeAfter(chunk: Uint8Array): Promise<void> {
    while ((this.#flags & WRITING) !== 0) await this.#writesDone();
    return this.#write(chunk);
  }

  /** A write of `writable`: rejects with what failed the connection, if anything did. */
  async #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`A socket takes Uint8Array chunks, not ${typeof chunk}`);
    if ((this.#flags & CLOSED) !== 0) throw this.#closedError();
    const error = await this.#send(chunk);
    if (error !== null) throw error;
  }

  /**
   * Writes all of `chunk`, one write in flight at a time. Never rejects: resolves with the
   * error that failed the connection (`closed` rejects with it), or null. Reactions rather
   * than an async function, which would cost `tryWrite()` two promises more per write.
   */
  #send(chunk: Uint8Array): Promise<unknown> {
    this.#flags |= WRITING;
    return writeAll(this.#conn, chunk).then(
      () => {
        this.#wrote();
        return null;
      },
      (error: unknown) => {
        const closed = (this.#flags & CLOSED) !== 0;
        if (!closed) this.#died(error);
        this.#wrote();
        return closed ? this.#closedError() : error;
      },
    );
  }

  /**
   * Why a write after the close fails: the error the connection died of (a write that waited
   * behind the one that met the reset rejects with that reset too), else that it is closed.
   */
  #closedError(): unknown {
    return this.#closedSignal?.error ?? socketClosedError();
  }

  /** The write in flight is done: what waits for it goes on. */
  #wrote(): void {
    this.#flags &= ~WRITING;
    const wake = this.#wakeWritten;
    this.#written = null;
    this.#wakeWritten = null;
    wake?.();
  }

  async #closeWrite(): Promise<void> {
    this.#flags |= WRITE_DONE;
    // After what tryWrite() is still writing.
    while ((this.#flags & WRITING) !== 0) await this.#writesDone();
    if ((this.#flags & CLOSED) !== 0) return;
    try {
      await this.#conn.closeWrite();
    } catch (error) {
      if ((this.#flags & CLOSED) !== 0) return;
      this.#died(error);
      throw error;
    }
    if ((this.#flags & READ_DONE) !== 0) this.#finish(null);
  }

  #failWritable(error: unknown): void {
    if ((this.#flags & WRITE_DONE) !== 0) return;
    this.#flags |= WRITE_DONE;
    this.#writable.fail(error);
  }

  /** `readable` errors with `error`, now or as it is made (see `#ReadSource.start()`). */
  #failReadable(error: unknown): void {
    if ((this.#flags & READ_DONE) !== 0) return;
    this.#flags |= READ_DONE;
    const controller = this.#readController;
    if (controller === undefined) this.#readFailure = { error };
    else controller.error(error);
  }

  /** The connection failed (reset, broken pipe): both streams error and `closed` rejects. */
  #died(error: unknown): void {
    this.#failWritable(error);
    this.#failReadable(error);
    this.#finish(error);
  }

  #finish(error: unknown): void {
    // After startTls() the connection belongs to the TLS socket, which closes it.
    if ((this.#flags & CLOSED) !== 0 || this.#upgradedTo !== null) return;
    this.#flags |= CLOSED;
    try {
      this.#conn.close();
    } catch {
      // Already closed by Deno.
    }
    this.#closed.settle(error);
  }

  /** The sink of `writable` (see `LazyWritable`): one function for every socket. */
  static #sinkOf(socket: DenoSocket): SocketSink {
    return {
      write: (chunk) => ((socket.#flags & WRITING) !== 0 ? socket.#writeAfter(chunk) : socket.#write(chunk)),
      close: () => socket.#closeWrite(),
      abort: (reason) => void socket.close(reason),
    };
  }
}
