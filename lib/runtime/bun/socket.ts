import type { ClaimedWritable, HostPort, Protocol, Transport } from '../../transport.ts';
import { checkStartTls } from '../../_checks.ts';
import { socketClosedError, upgradedError } from '../../errors.ts';
import {
  CLOSED,
  DEFAULT_HIGH_WATER_MARK,
  FIRST_OWN_FLAG,
  READ_DONE,
  WRITE_DONE,
  type RuntimeStartTlsOptions,
  type SocketInfo,
} from '../_socket.ts';
import { describeSocket, describeSocketName } from '../../_socket-name.ts';
import { LazyWritable, type SocketSink } from '../_lazy-writable.ts';
import { ClosedSignal, type ClosedWatcher } from '../_closed-signal.ts';
import type { BunNativeSocket, BunSocketHandlers } from './namespace.ts';
import { lockedByteStream, type NodeSocket } from '../node/socket.ts';
import { startTlsOverDuplex } from '../node/tls-over-duplex.ts';
import { BunSocketDuplex } from './socket-duplex.ts';
import { sendQueued } from './send-queued.ts';
import { NO_EXTRA } from '../../_extra-info.ts';

/** Options of {@link BunSocket}. */
export interface BunSocketOptions {
  /** Bytes the writable queues before `writer.ready` (and so `drain()`) waits. Default 65536. */
  writableHighWaterMark?: number;
  /**
   * The host name the socket was connected to: `startTls()` verifies the server's
   * certificate against it unless given another `serverHostname`.
   */
  serverHostname?: string | null;
  /**
   * Extra-info values that win over the ones read from the socket. A Unix socket needs them:
   * Bun reports no address for it, so the connection functions pass the path here.
   */
  extra?: Readonly<Record<string, unknown>>;
}

/* Bits of `BunSocket.#flags` of its own, after `CLOSED`, `READ_DONE` and `WRITE_DONE` (see `_socket.ts`). */
/** Our side was ended because the peer ended its own: later writes are dropped (as `NodeSocket`). */
const ENDED_AFTER_PEER = FIRST_OWN_FLAG;
/** The protocol paused reading: the TLS socket starts paused too. */
const PROTOCOL_PAUSED = FIRST_OWN_FLAG << 1;
/** The socket is paused because `readable`'s queue is full, or nobody reads yet. */
const READ_PAUSED = FIRST_OWN_FLAG << 2;
/** `readable` was cancelled: its reader let go, so ending our side closes the connection. */
const READ_CANCELLED = FIRST_OWN_FLAG << 3;
/**
 * A write found the socket closed under us (`write()` gave -1): the `end` Bun reports next is
 * not the peer's FIN, and the `close` after it carries the reason (ECONNRESET after a reset).
 */
const WRITE_FAILED = FIRST_OWN_FLAG << 4;

/** A native socket whose `data` slot holds its `BunSocket`. */
type OwnedSocket = BunNativeSocket<BunSocket>;

/**
 * What the `data` slot of a native socket of this adapter holds: its `BunSocket`, or, for one
 * of `Bun.connect()` still connecting, the options its `BunSocket` is to be made with.
 */
export type BunSocketSlot = BunSocket | BunSocketOptions | undefined;

function ignore(): void {}

/**
 * A `Bun.Socket` (TCP or Unix, from `Bun.listen`/`Bun.connect`) as a WinterTC socket and the
 * transport the core needs: what the Bun entry's connections and servers run over. The peer's
 * bytes are pushed to the connection's protocol (`connectProtocol()`, no stream in between),
 * or to `readable` for a reader that pulls; writes go straight to `socket.write()`, and
 * `writable` is made only when a write must wait. Bun keeps nothing of a write the kernel did
 * not take, so this socket keeps the rest (`#unsent`) until Bun's `drain`. `startTls()` runs
 * Bun's `node:tls` over the socket (see `BunSocketDuplex`).
 *
 * The handlers are one object for every socket (Bun's design), which finds its `BunSocket` in
 * the native socket's `data` slot: an idle connection holds no closure. A socket of
 * `Bun.connect()` made with {@link BunSocket.handlers} is wrapped as it opens (its `data`, if
 * given, is the options); a listener's `open` wraps its own with the constructor.
 *
 * @example
 * ```ts
 * declare const Bun: { connect(options: object): Promise<{ data: unknown }> }; // Bun's own types have it
 * const native = await Bun.connect({ hostname: '127.0.0.1', port: 8888, allowHalfOpen: true, socket: BunSocket.handlers });
 * const socket = native.data as BunSocket;
 * const writer = socket.writable.getWriter();
 * await writer.write(new TextEncoder().encode('ping\n'));
 * const { value } = await socket.readable.getReader().read();
 * ```
 */
export class BunSocket implements Transport {
  readonly #socket: OwnedSocket;
  /** `CLOSED`, `READ_DONE`, ...: the state a boolean field each would hold (see `_socket.ts`). */
  #flags = 0;
  #protocol: Protocol | null = null;
  /** `readable`, once asked for: a byte stream, or locked while the bytes go to a protocol. */
  #readable: ReadableStream<Uint8Array> | null = null;
  /** The byte stream's controller, while `readable` is read and not finished. */
  #readController: ReadableByteStreamController | null = null;
  /**
   * What arrived before a protocol or `readable` took it (a server not serving yet): rare, so
   * made then; Bun stops reading once it holds the high-water mark (see `#keep()`).
   */
  #early: Uint8Array[] | null = null;
  readonly #writable: LazyWritable<BunSocket>;
  /** Bytes the kernel has not taken yet, in order; null while there are none (the common case). */
  #unsent: Uint8Array[] | null = null;
  #unsentBytes = 0;
  /** Who waits for `#unsent` to be sent (a sink write, the end of our side); made only then. */
  #flushWaiter: { resolve(): void; reject(error: unknown): void } | null = null;
  /** The error the connection died of (a reset, or a protocol that threw); null otherwise. */
  #error: unknown = null;
  /** The addresses, noted at once: Bun forgets them at the close. */
  readonly #peerHost: string | undefined;
  readonly #peerPort: number;
  readonly #localHost: string | undefined;
  readonly #localPort: number;
  readonly #extra: Readonly<Record<string, unknown>>;
  #opened: Promise<SocketInfo> | null = null;
  /** `closed` and its watchers, made when first needed. */
  #closedSignal: ClosedSignal | null = null;
  readonly #serverHostname: string | null;
  /** The TLS socket `startTls()` made of this one, which owns the connection from then on. */
  #upgradedTo: NodeSocket | null = null;

  /**
   * The handlers every native socket of this adapter is made with (listeners add their own
   * `open`, which makes the `BunSocket`). Each event goes to the socket's owner in its `data`
   * slot: its `BunSocket`, or once upgraded, the `BunSocketDuplex` TLS runs over. The owner
   * changes by that slot alone, never by `reload()`: on a socket a listener accepted, that
   * gives new handlers to every connection of the listener, not to the one.
   */
  static readonly handlers: BunSocketHandlers<BunSocketSlot | BunSocketDuplex> = {
    binaryType: 'uint8array',
    // A connection of Bun.connect() is wrapped as it opens, before it can read (its `data`
    // slot holds the options until then); a listener's connections get their own `open`.
    open(socket) {
      if (!(socket.data instanceof BunSocket)) new BunSocket(socket, socket.data as BunSocketOptions | undefined);
    },
    data(socket, data) {
      const owner = socket.data;
      if (owner instanceof BunSocket) owner.#received(data);
      else (owner as BunSocketDuplex)._bunData(data);
    },
    drain(socket) {
      const owner = socket.data;
      if (owner instanceof BunSocket) owner.#drained();
      else (owner as BunSocketDuplex)._bunDrain();
    },
    end(socket) {
      const owner = socket.data;
      if (owner instanceof BunSocket) owner.#peerEnded();
      else (owner as BunSocketDuplex)._bunEnd();
    },
    // A connect that failed closes a socket that never opened (its slot holds the options).
    close(socket, error) {
      const owner = socket.data;
      if (owner instanceof BunSocket) owner.#closedNow(error);
      else if (owner instanceof BunSocketDuplex) owner._bunClose(error);
    },
    error(socket, error) {
      const owner = socket.data;
      if (owner instanceof BunSocket) owner.#noteError(error);
      else if (owner instanceof BunSocketDuplex) owner._bunError(error);
    },
  };

  /**
   * Takes over a connected `Bun.Socket` of `Bun.connect()` made elsewhere (given as `sock`): its
   * events come to this adapter's handlers from now on (`socket.reload()`), and it is wrapped.
   * Bytes it read before went to its old handlers. Made with `allowHalfOpen: true`, it keeps our
   * side open after the peer's EOF, as asyncio does; without, Bun closes it at the peer's EOF.
   * A socket a listener accepted is refused: its handlers are its listener's, shared by every
   * connection the listener accepts, so taking them would take those connections too.
   *
   * @param socket a connected native socket of `Bun.connect()`, which nothing else may read or
   *   write from now on
   * @param options as the constructor's
   * @returns the socket, wrapped
   * @throws TypeError for a socket a listener accepted
   * @example
   * ```ts
   * declare const native: Parameters<typeof BunSocket.adopt>[0]; // from Bun.connect(), with your own handlers
   * const socket = BunSocket.adopt(native);
   * ```
   */
  static adopt(socket: BunNativeSocket<unknown>, options: BunSocketOptions = {}): BunSocket {
    if (socket.listener !== undefined) {
      throw new TypeError(
        'sock: a socket a Bun.listen() listener accepted cannot be taken over, as its handlers are those of every connection of the listener; give startServer() the listener as sock, or pass a socket of Bun.connect()',
      );
    }
    (socket as BunNativeSocket<BunSocketSlot | BunSocketDuplex>).reload({ socket: BunSocket.handlers });
    return new BunSocket(socket, options);
  }

  /**
   * Wraps a connected native socket made with `BunSocket.handlers` and `allowHalfOpen: true`.
   *
   * @param socket the native socket, which this one owns from now on
   * @param options the writable's high-water mark, the host name for `startTls()`, extra-info overrides
   */
  constructor(socket: BunNativeSocket<unknown>, options: BunSocketOptions = {}) {
    const owned = socket as OwnedSocket;
    this.#socket = owned;
    owned.data = this;
    this.#writable = new LazyWritable<BunSocket>(this, BunSocket.#sinkOf, options.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK);
    this.#peerHost = owned.remoteAddress;
    this.#peerPort = owned.remotePort ?? 0;
    this.#localHost = owned.localAddress;
    this.#localPort = owned.localPort ?? 0;
    this.#serverHostname = options.serverHostname ?? null;
    this.#extra = options.extra ?? NO_EXTRA;
  }

  /** Settles when the connection is fully closed; rejects with the error it died of. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** @internal See `Transport._whenClosed()`. */
  _whenClosed(watcher: ClosedWatcher): void {
    this.#closed.watch(watcher);
  }

  get #closed(): ClosedSignal {
    this.#closedSignal ??= new ClosedSignal();
    return this.#closedSignal;
  }

  /** Resolves at once: a socket from `Bun.listen`/`Bun.connect` is open when it is handed over. */
  get opened(): Promise<SocketInfo> {
    this.#opened ??= Promise.resolve({
      remoteAddress: describeSocketName(this.getExtraInfo('peername')),
      localAddress: describeSocketName(this.getExtraInfo('sockname')),
      alpn: null,
    });
    return this.#opened;
  }

  /**
   * The peer's bytes, as a byte stream (`type: 'bytes'`, so `getReader({ mode: 'byob' })` works):
   * Bun's `data` fills it, the socket pauses while its queue is full and resumes when read. Ends
   * at the peer's EOF, errors with the connection's error. While the bytes go to a protocol (a
   * `StreamReader`, see `connectProtocol()`), a locked stream: read the reader instead.
   */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= this.#protocol === null ? this.#createReadable() : lockedByteStream();
    return this.#readable;
  }

  /** Where to write; closing it half-closes the connection (`shutdown()`). Made on first access. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable.stream;
  }

  /** @internal See `Transport._claimWritable()`. */
  _claimWritable(): ClaimedWritable {
    return this.#writable.claim();
  }

  /**
   * Delivers the connection's events to `protocol`: `connectionMade(this)` at once, then what
   * arrived meanwhile, then `dataReceived`, `eofReceived` and `connectionLost` as they come.
   * @throws {Error} when a protocol is connected already, `readable` was taken, or the socket
   *   was upgraded by `startTls()`
   */
  connectProtocol(protocol: Protocol): void {
    if (this.#protocol !== null || this.#readable !== null || this.#upgradedTo !== null) throw new Error('The socket is already being read');
    this.#protocol = protocol;
    protocol.connectionMade(this);
    const early = this.#early;
    this.#early = null;
    // Reading again before the kept bytes go: a protocol that pauses for them has the last word.
    this.#resumeIfPaused();
    if (early !== null) for (const chunk of early) this.#received(chunk);
    const flags = this.#flags;
    if ((flags & CLOSED) !== 0) protocol.connectionLost(this.#error);
    else if ((flags & READ_DONE) !== 0) this.#peerEnded();
  }

  /** Stops taking bytes from the peer (the reader's buffer is full): Bun stops reading the socket. */
  pauseReading(): void {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) {
      upgraded.pauseReading();
      return;
    }
    this.#flags |= PROTOCOL_PAUSED;
    this.#socket.pause();
  }

  /** Takes bytes from the peer again. */
  resumeReading(): void {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) {
      upgraded.resumeReading();
      return;
    }
    this.#flags &= ~PROTOCOL_PAUSED;
    this.#socket.resume();
  }

  /**
   * Sends `chunk` now (see `Transport.tryWrite`): what the kernel does not take is kept and sent
   * at `drain`. False, doing nothing, for a chunk that would keep more than the high-water mark
   * unsent: it goes through `writable`, whose queue counts it, so that `drain()` waits for it.
   */
  tryWrite(chunk: Uint8Array): boolean {
    if ((this.#flags & (WRITE_DONE | CLOSED)) !== 0) return false;
    if (this.#unsentBytes + chunk.byteLength > this.#writable.highWaterMark) return false;
    this.#send(chunk);
    return true;
  }

  /**
   * Sends what the kernel takes of `data` now and keeps none of it (see `Transport._sendNow`):
   * the writer copies only the rest. 0 while bytes of this socket wait for `drain`, or once
   * our side is ending.
   * @internal
   */
  _sendNow(data: Uint8Array): number {
    if ((this.#flags & (WRITE_DONE | CLOSED)) !== 0 || this.#unsent !== null) return 0;
    return this.#writeNow(data);
  }

  /**
   * Starts TLS on this connection (WinterTC `startTls()`) and returns the TLS socket; its
   * `opened` resolves once the handshake is done and rejects if it fails or takes longer than
   * `sslHandshakeTimeout` seconds (60 by default; the connection is then closed).
   *
   * TLS runs through Bun's `node:tls` over the native socket made a `Duplex`
   * (`BunSocketDuplex`), client or server side, as the Deno adapter's does over a `Deno.Conn`:
   * the TLS socket is a `NodeSocket`, with its `peercert` and `cipher`, and the checks and
   * timeouts of the Node adapter. What the kernel had not taken of this socket's writes goes
   * out first; `received` (a server's bytes read ahead) and the bytes that came before a
   * protocol was connected go to TLS first. A connected protocol goes on receiving, now from
   * the TLS socket; this socket's `writable` errors, and it stands for the connection it
   * became: `close()` closes the TLS socket and `closed` settles with it.
   *
   * @param options `ssl` (`true`, the default, or TLS options), `serverSide`,
   *   `serverHostname` (default: the `serverHostname` this socket was made with),
   *   `sslHandshakeTimeout`, `sslShutdownTimeout`, `received`, `secureContext`
   * @returns the TLS socket
   * @throws {TypeError} on a second call, for bad options
   * @throws {RangeError} for options CPython refuses (a server without `cert` and `key`, no
   *   name to verify, ...)
   * @throws the socket's error (or `ERR_SOCKET_CLOSED`) when it is closed; Bun's error for
   *   PEM text it cannot use. Whatever it throws, the socket is left as it was.
   * @example
   * ```ts
   * // After the peer agreed to STARTTLS:
   * const secure = socket.startTls({ serverHostname: 'mail.example.com' });
   * const { alpn } = await secure.opened;
   * ```
   */
  startTls(options: RuntimeStartTlsOptions = {}): NodeSocket {
    if (this.#upgradedTo !== null) throw new TypeError('startTls can only be called once');
    if ((this.#flags & CLOSED) !== 0) throw this.#error ?? socketClosedError();
    const tls = checkStartTls(options.ssl ?? true, options, options.serverSide === true, this.#serverHostname);
    const native = this.#socket;
    const { secure } = startTlsOverDuplex(native, () => this.#handOver(options.received), tls, {
      secureContext: options.secureContext,
      writableHighWaterMark: this.#writable.highWaterMark,
      peername: this.getExtraInfo('peername'),
      sockname: this.getExtraInfo('sockname'),
      protocol: this.#protocol ?? undefined,
      protocolPaused: (this.#flags & PROTOCOL_PAUSED) !== 0,
    });
    this.#upgradedTo = secure;
    this.#flags |= WRITE_DONE | READ_DONE;
    this.#settleFlush(upgradedError());
    this.#writable.fail(upgradedError());
    // A reader of `readable` has had the bytes before TLS; the TLS socket reads on.
    this.#finishReadable(null);
    secure._whenClosed((error) => this.#closed.settle(error));
    return secure;
  }

  /**
   * Hands the native socket to a `Duplex` for TLS, with what this socket holds of the
   * connection: the bytes the kernel has not taken, and the peer's bytes and EOF nobody read.
   */
  #handOver(received: Uint8Array | undefined): BunSocketDuplex {
    const early = this.#early ?? [];
    const duplex = new BunSocketDuplex(this.#socket, {
      received: received === undefined ? early : [received, ...early],
      unsent: this.#unsent ?? undefined,
      peerEnded: (this.#flags & READ_DONE) !== 0,
    });
    this.#early = null;
    this.#dropUnsent();
    return duplex;
  }

  /** A plain TCP connection can be half-closed; after `startTls()`, a TLS one cannot (as in asyncio). */
  canWriteEof(): boolean {
    return this.#upgradedTo?.canWriteEof() ?? true;
  }

  /**
   * `peername`, `sockname` (`[host, port]`, or the path for a Unix socket, as CPython gives) and
   * `socket` (the native socket); `undefined` for any other name. After `startTls()` this socket
   * answers for the TLS one (`peercert`, `cipher`, `sslcontext`, ... as on Node).
   */
  getExtraInfo(name: string): unknown {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) return upgraded.getExtraInfo(name);
    if (Object.hasOwn(this.#extra, name)) return this.#extra[name];
    switch (name) {
      case 'peername':
        return this.#peerHost === undefined ? undefined : ([this.#peerHost, this.#peerPort] satisfies HostPort);
      case 'sockname':
        return this.#localHost === undefined ? undefined : ([this.#localHost, this.#localPort] satisfies HostPort);
      case 'socket':
        return this.#socket;
      default:
        return undefined;
    }
  }

  /**
   * Closes both directions now, dropping what is unsent (WinterTC `close()`, CPython `abort()`).
   * After `startTls()`, closes the TLS socket.
   * @returns the `closed` promise
   */
  close(reason?: unknown): Promise<void> {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) {
      void upgraded.close(reason);
    } else if ((this.#flags & CLOSED) === 0) {
      // As `NodeSocket` and `DenoSocket`: a reason fails `writable`; `closed` resolves.
      this.#writable.fail(reason ?? null);
      this.#flags |= WRITE_DONE;
      this.#dropUnsent();
      // Bun runs the close handler before end() returns.
      this.#socket.end();
    }
    return this.#closed.promise;
  }

  /** What the socket connects, for warnings and logs: `<BunSocket 127.0.0.1:5000 -> 127.0.0.1:8888>` (`tls` after `startTls()`). */
  toString(): string {
    const states = [];
    if (this.#upgradedTo !== null) states.push('tls');
    if ((this.#flags & CLOSED) !== 0) states.push('closed');
    return describeSocket('BunSocket', this, states);
  }

  /** Writes `chunk` behind what is unsent, keeping what the kernel does not take. */
  #send(chunk: Uint8Array): void {
    const unsent = this.#unsent;
    if (unsent !== null) {
      unsent.push(chunk);
      this.#unsentBytes += chunk.byteLength;
      return;
    }
    const taken = this.#writeNow(chunk);
    if (taken === chunk.byteLength) return;
    this.#unsent = [taken === 0 ? chunk : chunk.subarray(taken)];
    this.#unsentBytes = chunk.byteLength - taken;
  }

  /** Writes `data` to the socket: how many bytes the kernel took. */
  #writeNow(data: Uint8Array): number {
    const taken = this.#socket.write(data);
    if (taken >= 0) return taken;
    // Closed under us: the close handler tells the protocol, and the bytes count as taken, lost
    // as CPython loses writes to a lost connection.
    this.#flags |= WRITE_FAILED;
    return data.byteLength;
  }

  /** Bun's `drain`: sends what is unsent, as far as the kernel takes it. */
  #drained(): void {
    const unsent = this.#unsent;
    if (unsent === null) return;
    const sent = sendQueued(this.#socket, unsent);
    if (sent < 0) {
      // Closed under us: the close handler settles the waiter.
      this.#flags |= WRITE_FAILED;
      return;
    }
    this.#unsentBytes -= sent;
    if (unsent.length > 0) return;
    this.#dropUnsent();
    this.#settleFlush(null);
  }

  /** Forgets what is unsent (closed, or handed to TLS). */
  #dropUnsent(): void {
    this.#unsent = null;
    this.#unsentBytes = 0;
  }

  /** Tells the one waiting for `#unsent` that it is sent (`error` null), or never will be. */
  #settleFlush(error: unknown): void {
    const waiter = this.#flushWaiter;
    this.#flushWaiter = null;
    if (error === null) waiter?.resolve();
    else waiter?.reject(error);
  }

  /** Resolves once nothing is unsent; rejects if the connection closes first. */
  #whenSent(): Promise<void> {
    if (this.#unsent === null) return Promise.resolve();
    return new Promise<void>((resolve, reject) => (this.#flushWaiter = { resolve, reject }));
  }

  /** A write of `writable`: done once the kernel took it all. */
  #write(chunk: Uint8Array): Promise<void> | undefined {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`A socket takes Uint8Array chunks, not ${typeof chunk}`);
    if ((this.#flags & CLOSED) !== 0) throw this.#error ?? socketClosedError();
    if ((this.#flags & ENDED_AFTER_PEER) !== 0) return undefined;
    this.#send(chunk);
    return this.#unsent === null ? undefined : this.#whenSent();
  }

  /** Ends our side once what is unsent is out: `shutdown()`, or a full close if the peer ended already. */
  async #end(): Promise<void> {
    this.#flags |= WRITE_DONE;
    if ((this.#flags & ENDED_AFTER_PEER) !== 0) return;
    await this.#whenSent();
    if ((this.#flags & CLOSED) !== 0) {
      if (this.#error !== null) throw this.#error;
      return;
    }
    // Bun closes a connection both sides shut down; shutdown() after the peer's FIN does it too.
    // A cancelled `readable` reads no more, so it would never see the peer's FIN: close now.
    if ((this.#flags & READ_CANCELLED) !== 0) this.#socket.end();
    else this.#socket.shutdown();
  }

  /** The peer's bytes, for the protocol or `readable`, or kept until one of them reads. */
  #received(data: Uint8Array): void {
    const protocol = this.#protocol;
    if (protocol === null) {
      const controller = this.#readController;
      if (controller !== null) this.#streamData(controller, data);
      // Nobody took the bytes yet (a finished `readable` drops them).
      else if (this.#readable === null) this.#keep(data);
      return;
    }
    // A protocol that throws kills its connection, not the process (CPython's _fatal_error).
    try {
      protocol.dataReceived(data);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The peer's EOF, for the protocol (unless it keeps our side open, our side ends too) or `readable`. */
  #peerEnded(): void {
    // After a failed write, Bun reports `end` for a connection that was reset, before the `close`
    // with its ECONNRESET: a reader that saw EOF would take a cut-off request for a whole one.
    // The close comes next and ends reading, with the error or, if there is none, at EOF.
    if ((this.#flags & WRITE_FAILED) !== 0) return;
    this.#flags |= READ_DONE;
    const protocol = this.#protocol;
    if (protocol === null) {
      this.#finishReadable(null);
      return;
    }
    let keepOpen: boolean | void;
    try {
      keepOpen = protocol.eofReceived();
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (keepOpen === true) return;
    this.#flags |= ENDED_AFTER_PEER;
    void this.#end().catch(ignore);
  }

  #noteError(error: unknown): void {
    this.#error ??= error;
  }

  /** A protocol threw: the connection is closed with its error. */
  #fail(error: unknown): void {
    this.#error ??= error;
    this.close();
  }

  /** Bun's `close`: the connection is gone (`error` after a reset). */
  #closedNow(error: Error | undefined): void {
    if ((this.#flags & CLOSED) !== 0) return;
    this.#flags |= CLOSED | WRITE_DONE | READ_DONE;
    // After a failed write, a close with no error (Bun's over a Unix socket) is still a broken pipe.
    const failure = (this.#error ??= error ?? ((this.#flags & WRITE_FAILED) !== 0 ? brokenPipeError() : null));
    this.#dropUnsent();
    this.#settleFlush(failure ?? socketClosedError());
    this.#writable.fail(failure);
    this.#finishReadable(failure);
    this.#protocol?.connectionLost(failure);
    this.#closed.settle(failure);
  }

  /** `readable` for a reader that pulls: what arrived already first, then Bun's `data`. */
  #createReadable(): ReadableStream<Uint8Array> {
    const readable = new ReadableStream(
      {
        type: 'bytes',
        start: (controller) => {
          this.#readController = controller;
        },
        pull: () => this.#resumeIfPaused(),
        cancel: () => {
          this.#readController = null;
          this.#flags |= READ_CANCELLED;
          if ((this.#flags & WRITE_DONE) !== 0) this.#socket.end();
          else this.#socket.pause();
        },
      },
      { highWaterMark: DEFAULT_HIGH_WATER_MARK },
    );
    const early = this.#early;
    this.#early = null;
    if (early !== null) for (const chunk of early) this.#streamData(this.#readController!, chunk);
    const flags = this.#flags;
    if ((flags & CLOSED) !== 0) this.#finishReadable(this.#error);
    else if ((flags & READ_DONE) !== 0) this.#finishReadable(null);
    return readable;
  }

  /**
   * A chunk for `readable`: into a waiting BYOB read, else queued as it is (Bun gives each chunk
   * an `ArrayBuffer` of its own, which the stream may take over). A full queue pauses the socket.
   */
  #streamData(controller: ReadableByteStreamController, chunk: Uint8Array): void {
    const request = controller.byobRequest;
    const view = request?.view;
    if (view) {
      const n = Math.min(view.byteLength, chunk.byteLength);
      new Uint8Array(view.buffer, view.byteOffset, n).set(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      request!.respond(n);
      if (n < chunk.byteLength) controller.enqueue(chunk.subarray(n) as Uint8Array<ArrayBuffer>);
    } else {
      controller.enqueue(chunk as Uint8Array<ArrayBuffer>);
    }
    if ((controller.desiredSize ?? 1) <= 0 && (this.#flags & READ_PAUSED) === 0) this.#pauseForReader();
  }

  /** Keeps bytes nobody reads yet; past the high-water mark, Bun stops reading (and holds the EOF) until someone does. */
  #keep(data: Uint8Array): void {
    const early = (this.#early ??= []);
    early.push(data);
    if ((this.#flags & READ_PAUSED) !== 0) return;
    let kept = 0;
    for (const chunk of early) kept += chunk.byteLength;
    if (kept >= DEFAULT_HIGH_WATER_MARK) this.#pauseForReader();
  }

  /** Stops Bun reading until the reader wants more. */
  #pauseForReader(): void {
    this.#flags |= READ_PAUSED;
    this.#socket.pause();
  }

  /** Reads again, if stopped for the reader. */
  #resumeIfPaused(): void {
    if ((this.#flags & READ_PAUSED) === 0) return;
    this.#flags &= ~READ_PAUSED;
    this.#socket.resume();
  }

  /** Ends `readable`, if it is read: closed when `error` is null, else errored with it. */
  #finishReadable(error: unknown): void {
    const controller = this.#readController;
    if (controller === null) return;
    this.#readController = null;
    if (error !== null) {
      controller.error(error);
      return;
    }
    controller.close();
    // A BYOB read still waiting gets `done` only once it is answered.
    controller.byobRequest?.respond(0);
  }

  /** The sink of `writable` (see `LazyWritable`): one function for every socket. */
  static #sinkOf(socket: BunSocket): SocketSink {
    return {
      write: (chunk) => socket.#write(chunk),
      close: () => socket.#end(),
      abort: (reason) => void socket.close(reason),
    };
  }
}

/** Node's error for a write to a connection the peer closed, for a failed write Bun gave no error for. */
function brokenPipeError(): Error {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' });
}
