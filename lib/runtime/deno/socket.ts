import { checkStartTls } from '../../_checks.ts';
import type { ClaimedWritable, Transport } from '../../transport.ts';
import type { DenoAddr, DenoConn } from './namespace.ts';
import { writeAll } from './conn-duplex.ts';
import { socketClosedError, upgradedError } from '../../errors.ts';
import { startNodeTls } from './tls.ts';
import { DEFAULT_HIGH_WATER_MARK, type RuntimeStartTlsOptions, type SocketInfo } from '../_socket.ts';
import { socketNameText } from '../../_socket-name.ts';
import { NO_EXTRA } from '../../_extra-info.ts';
import { LazyWritable } from '../_lazy-writable.ts';
import { offerSocketRead } from '../../_socket-reads.ts';

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

/** The buffer a default (non-BYOB) reader of `readable` gets per read. */
const CHUNK_SIZE = 65536;

function ignore(): void {}

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
 * so a BYOB reader (what `StreamReader.from()` uses) gets the bytes with no copy. It is not
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
  readonly #writableHighWaterMark: number;
  readonly #serverHostname: string | null;
  #isClosed = false;
  #readDone = false;
  #writeDone = false;
  /** Whether a `conn.read()` or `conn.write()` is in flight: `startTls()` needs neither. */
  #reading = false;
  #writing = false;
  /** What waits for the write in flight to finish (see `#writesDone()`); made only when something does. */
  #written: Promise<void> | null = null;
  #wakeWritten: () => void = ignore;
  #upgradedTo: Transport | null = null;
  #readController: ReadableByteStreamController | undefined;
  readonly #writable: LazyWritable;

  /** The peer's bytes, as a byte stream (`getReader({ mode: 'byob' })` works). */
  readonly readable: ReadableStream<Uint8Array>;
  #opened: Promise<SocketInfo> | null = null;
  /** Settles when the connection is fully closed: resolves after a clean close, rejects with the error it died of. */
  readonly closed: Promise<void>;
  #settleClosed!: (error: unknown) => void;

  /**
   * Wraps a `Deno.Conn` as a WinterTC socket.
   *
   * @param conn a connected `Deno.Conn`
   * @param options the writable's high-water mark, extra-info overrides, the host name for `startTls()`
   */
  constructor(conn: DenoConn, options: DenoSocketOptions = {}) {
    this.#conn = conn;
    this.#extra = options.extra ?? NO_EXTRA;
    this.#writableHighWaterMark = options.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#writable = new LazyWritable(
      () => ({
        write: (chunk) => (this.#writing ? this.#writeAfter(chunk) : this.#write(chunk)),
        close: () => this.#closeWrite(),
        abort: (reason) => void this.close(reason),
      }),
      this.#writableHighWaterMark,
    );
    this.#serverHostname = options.serverHostname ?? null;
    this.closed = new Promise<void>((resolve, reject) => {
      this.#settleClosed = (error) => (error === null ? resolve() : reject(error));
    });
    this.closed.catch(ignore);
    this.readable = new ReadableStream({
      type: 'bytes',
      autoAllocateChunkSize: CHUNK_SIZE,
      start: (controller) => {
        this.#readController = controller;
      },
      pull: (controller) => this.#pull(controller),
      cancel: () => {
        this.#readDone = true;
        if (this.#writeDone) this.#finish(null);
      },
    }, { highWaterMark: 0 });
    // The library's reader reads the connection itself, past the stream (see `SocketRead`).
    offerSocketRead(this.readable, (view) => this.#readInto(view));
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
    if (this.#writing || this.#writeDone || this.#isClosed || chunk.byteLength > this.#writableHighWaterMark) return false;
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
    } else if (!this.#isClosed) {
      this.#failWritable(reason ?? null);
      if (reason !== undefined) this.#failReadable(reason);
      this.#finish(null);
    }
    return this.closed;
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
    if (this.#isClosed) throw socketClosedError();
    const tls = checkStartTls(options.ssl ?? true, options, options.serverSide === true, this.#serverHostname);
    if (this.#reading || this.#writing) {
      throw new Error('startTls() cannot start while a read or a write is in flight: Deno upgrades only an idle connection');
    }
    const conn = this.#conn;
    const secure = startNodeTls(conn, tls, {
      received: options.received,
      secureContext: options.secureContext,
      writableHighWaterMark: this.#writableHighWaterMark,
      extra: this.#extra,
      peername: socketName(conn.remoteAddr),
      sockname: socketName(conn.localAddr),
    });
    this.#upgradedTo = secure;
    this.#failWritable(upgradedError());
    if (!this.#readDone) {
      this.#readDone = true;
      // A reader of this stream goes on with the TLS socket's (StreamReader does, see startTls()).
      this.#endReadable(this.#readController!);
    }
    secure.closed.then(
      () => this.#settleClosed(null),
      (error: unknown) => this.#settleClosed(error),
    );
    return secure;
  }

  async #pull(controller: ReadableByteStreamController): Promise<void> {
    // autoAllocateChunkSize gives every read, BYOB or not, a request with a view.
    const request = controller.byobRequest!;
    const view = request.view!;
    const n = await this.#readInto(new Uint8Array(view.buffer as ArrayBuffer, view.byteOffset, view.byteLength));
    if (n > 0) request.respond(n);
  }

  /**
   * One `conn.read()` into `target`: how many bytes it read, or 0 once `readable` is done
   * with (the peer's EOF or an error ends it, as our close does), or was already.
   */
  #readInto(target: Uint8Array<ArrayBuffer>): Promise<number> {
    if (this.#readDone) return Promise.resolve(0);
    this.#reading = true;
    // Reactions rather than an async function: a promise fewer per read.
    return this.#conn.read(target).then(
      (n) => {
        this.#reading = false;
        // 0 is not EOF: Deno reports it for a read that was woken without data.
        if (n === 0) return this.#readInto(target);
        if (n === null) {
          this.#readDone = true;
          this.#endReadable(this.#readController!);
          if (this.#writeDone) this.#finish(null);
          return 0;
        }
        // Cancelled (or upgraded) while the read was in flight: nobody wants these bytes.
        return this.#readDone ? 0 : n;
      },
      (error: unknown) => {
        this.#reading = false;
        if (this.#isClosed) {
          // Our own close() interrupted the read: the stream ends, or already errored.
          this.#endReadable(this.#readController!);
        } else {
          this.#died(error);
        }
        return 0;
      },
    );
  }

  #endReadable(controller: ReadableByteStreamController): void {
    try {
      controller.close();
      controller.byobRequest?.respond(0);
    } catch {
      // Already errored by close(reason).
    }
  }

  /** Resolves once no write is in flight. */
  #writesDone(): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    this.#written ??= new Promise<void>((resolve) => (this.#wakeWritten = resolve));
    return this.#written;
  }

  /** A write of `writable` that comes while one `tryWrite()` started is in flight: one at a time. */
  async #writeAfter(chunk: Uint8Array): Promise<void> {
    while (this.#writing) await this.#writesDone();
    return this.#write(chunk);
  }

  /** A write of `writable`: rejects with what failed the connection, if anything did. */
  async #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`A socket takes Uint8Array chunks, not ${typeof chunk}`);
    if (this.#isClosed) throw socketClosedError();
    const error = await this.#send(chunk);
    if (error !== null) throw error;
  }

  /**
   * Writes all of `chunk`, one write in flight at a time. Never rejects: resolves with the
   * error that failed the connection (`closed` rejects with it), or null. Reactions rather
   * than an async function, which would cost `tryWrite()` two promises more per write.
   */
  #send(chunk: Uint8Array): Promise<unknown> {
    this.#writing = true;
    return writeAll(this.#conn, chunk).then(
      () => {
        this.#wrote();
        return null;
      },
      (error: unknown) => {
        const failure = this.#isClosed ? socketClosedError() : error;
        if (!this.#isClosed) this.#died(error);
        this.#wrote();
        return failure;
      },
    );
  }

  /** The write in flight is done: what waits for it goes on. */
  #wrote(): void {
    this.#writing = false;
    const wake = this.#wakeWritten;
    this.#written = null;
    this.#wakeWritten = ignore;
    wake();
  }

  async #closeWrite(): Promise<void> {
    this.#writeDone = true;
    // After what tryWrite() is still writing.
    while (this.#writing) await this.#writesDone();
    if (this.#isClosed) return;
    try {
      await this.#conn.closeWrite();
    } catch (error) {
      if (this.#isClosed) return;
      this.#died(error);
      throw error;
    }
    if (this.#readDone) this.#finish(null);
  }

  #failWritable(error: unknown): void {
    if (this.#writeDone) return;
    this.#writeDone = true;
    this.#writable.fail(error);
  }

  #failReadable(error: unknown): void {
    if (this.#readDone) return;
    this.#readDone = true;
    this.#readController?.error(error);
  }

  /** The connection failed (reset, broken pipe): both streams error and `closed` rejects. */
  #died(error: unknown): void {
    this.#failWritable(error);
    this.#failReadable(error);
    this.#finish(error);
  }

  #finish(error: unknown): void {
    // After startTls() the connection belongs to the TLS socket, which closes it.
    if (this.#isClosed || this.#upgradedTo !== null) return;
    this.#isClosed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by Deno.
    }
    this.#settleClosed(error);
  }
}
