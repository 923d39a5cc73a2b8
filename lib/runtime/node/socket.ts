import type { Socket as NetSocket } from 'node:net';
import type { Duplex } from 'node:stream';
import { checkStartTls, type CheckedTls } from '../../_checks.ts';
import type { ClaimedWritable, HostPort, Protocol, Transport } from '../../transport.ts';
import { socketClosedError, unreadBeforeTlsError, upgradedError } from '../../errors.ts';
import {
  CLOSED,
  DEFAULT_HIGH_WATER_MARK,
  FIRST_OWN_FLAG,
  READ_DONE,
  WRITE_DONE,
  type RuntimeStartTlsOptions,
  type SocketInfo,
} from '../_socket.ts';
import {
  alpnOf,
  MAX_TIMER_MS,
  secureContextOf,
  startTlsOver,
  tlsExtraInfo,
  watchHandshake,
  type SecureContext,
  type TlsLayer,
} from './tls.ts';
import { NO_EXTRA } from '../../_extra-info.ts';
import { WriteBatcher } from './write-batcher.ts';
import { describeSocket, describeSocketName } from '../../_socket-name.ts';
import { LazyWritable, type SocketSink } from '../_lazy-writable.ts';
import { ClosedSignal, type ClosedWatcher } from '../_closed-signal.ts';

/** Options of {@link NodeSocket}. */
export interface NodeSocketOptions {
  /** Bytes the writable queues before `writer.ready` (and so `drain()`) waits. Default 65536. */
  writableHighWaterMark?: number;
  /** Bytes the readable queues before the socket is paused. Default 65536. */
  readableHighWaterMark?: number;
  /**
   * Extra-info values that win over the ones read from the socket. A Unix socket needs them:
   * Node reports no address for it, so the connection functions pass the path here.
   */
  extra?: Readonly<Record<string, unknown>>;
  /**
   * The host name the socket was connected to: `startTls()` verifies the server's
   * certificate against it unless given another `serverHostname`.
   */
  serverHostname?: string | null;
}


/** Where a TLS socket runs and what it answers for its connection's addresses. */
export interface SecureSocketOptions extends NodeSocketOptions {
  /** The peer's address, as `getExtraInfo('peername')` gives it; read from the socket when absent. */
  peername?: unknown;
  /** Our address, as `getExtraInfo('sockname')` gives it; read from the socket when absent. */
  sockname?: unknown;
  /**
   * The protocol of the plain socket, which the TLS socket takes over (its events go on, with
   * no second `connectionMade`).
   */
  protocol?: Protocol;
  /** Whether that protocol had paused reading: the TLS socket starts paused too. */
  protocolPaused?: boolean;
}

/** What makes a `NodeSocket` a TLS socket (see `NodeSocket.#tlsSocket()`), and what it keeps of it. */
interface TlsSetup {
  layer: TlsLayer;
  /** The addresses to report; read from the socket under TLS when undefined. */
  peername: unknown;
  sockname: unknown;
  /** Seconds closing waits for the peer's close_notify (`sslShutdownTimeout`). */
  shutdownTimeout: number;
  /** Stops the handshake's timer and watch, once the socket closes. */
  stopHandshakeTimer: () => void;
}

/**
 * The `NodeSocket` a `net.Socket` belongs to. Its event listeners are shared by every socket
 * (a closure each, with its context, would cost an idle connection about a kilobyte a pair):
 * Node calls them with `this` set to the `net.Socket`, and they find their `NodeSocket` here.
 */
const OWNER = Symbol('NodeSocket');

/** A `net.Socket` (or `TLSSocket`) that a `NodeSocket` owns. */
type OwnedSocket = NetSocket & { [OWNER]?: NodeSocket };

/* Bits of `NodeSocket.#flags` of its own, after `CLOSED`, `READ_DONE` and `WRITE_DONE` (see `_socket.ts`). */
/** The socket is paused because `readable`'s queue is full. */
const READ_PAUSED = FIRST_OWN_FLAG;
/** `readable` was cancelled: its reader let go, so the close does not finish it. */
const READ_CANCELLED = FIRST_OWN_FLAG << 1;
/** The protocol paused reading: the TLS socket starts paused too. */
const PROTOCOL_PAUSED = FIRST_OWN_FLAG << 2;
/** Our side was ended because the peer ended its own: later writes are dropped. */
const ENDED_AFTER_PEER = FIRST_OWN_FLAG << 3;
/** The TLS handshake is done. */
const SECURE = FIRST_OWN_FLAG << 4;
/** The socket's 'data' and 'end' go to `readable` or a protocol. */
const LISTENING = FIRST_OWN_FLAG << 5;
/** A TLS close waits for the peer's close_notify: another `close()` closes at once. */
const AWAITING_PEER_CLOSE = FIRST_OWN_FLAG << 6;

/** `NodeSocket.#tlsSocket()`, for `secureSocketOver()`: set by the class as it is defined. */
let makeTlsSocket: (raw: NetSocket | Duplex, tls: CheckedTls, context: SecureContext, options: SecureSocketOptions) => NodeSocket;

/**
 * Starts TLS over `raw` and returns the TLS socket, a `NodeSocket` whose `opened` settles with
 * the handshake: what `NodeSocket.startTls()` does once it has let go of its socket. The Deno
 * adapter uses it over a stream of a `Deno.Conn` for the TLS that Deno's own API lacks.
 *
 * @param raw the connection, which nobody else may read or write from now on
 * @param tls checked TLS options (see `checkStartTls()`)
 * @param context the `SecureContext` made of them
 * @param options high-water marks, extra-info overrides and the addresses to report
 */
export function secureSocketOver(
  raw: NetSocket | Duplex,
  tls: CheckedTls,
  context: SecureContext,
  options: SecureSocketOptions = {},
): NodeSocket {
  return makeTlsSocket(raw, tls, context, options);
}

/**
 * A connected (or connecting) `net.Socket` in the shape of the WinterTC Sockets API:
 * `{ readable, writable, opened, closed, close(), startTls() }`, plus the transport calls the
 * writer, `StreamReaderProtocol` and `Server` use. It owns the `net.Socket` from then on.
 *
 * `readable` is a byte stream: a pending BYOB read gets the socket's bytes copied straight into
 * its view, and the socket is paused while the stream's queue is full. `writable` queues up to
 * `writableHighWaterMark` bytes; its sink hands bytes to the socket, and the writes of one tick
 * go out as one system call. Closing `writable` half-closes the connection and reading goes on.
 *
 * The socket's data goes either to `readable` or, after `connectProtocol()`, to a protocol (this
 * is how `openConnection` feeds its `StreamReader`, without a stream in between); not both.
 *
 * `startTls()` upgrades the connection in place and returns a new `NodeSocket` for the TLS
 * session, of the same shape: its `opened` resolves once the handshake is done, `readable` is a
 * byte stream, `writable` has the same byte high-water mark. This socket then stands for the
 * connection it became: its own streams are finished, `close()` closes the TLS socket and
 * `closed` settles with it.
 *
 * @example
 * ```ts
 * import { connect } from 'node:net';
 * import { NodeSocket } from 'asyncio-streams';
 *
 * const socket = new NodeSocket(connect(8888, '127.0.0.1'));
 * await socket.opened;
 * const writer = socket.writable.getWriter();
 * await writer.write(new TextEncoder().encode('ping\n'));
 * await writer.close(); // half-close: the peer sees EOF, we still read
 * for await (const chunk of socket.readable) console.log(chunk);
 * await socket.close();
 * ```
 */
export class NodeSocket implements Transport {
  /** The TLS setup of the socket `#tlsSocket()` is constructing, for the constructor to take; null otherwise. */
  static #settingUp: TlsSetup | null = null;

  static {
    // The Deno adapter makes TLS sockets too, from another module: private members are
    // reachable only in the class body, so the class hands the module its factory.
    makeTlsSocket = (raw, tls, context, options) => NodeSocket.#tlsSocket(raw, tls, context, options);
  }

  /** Starts TLS over `raw` and makes the TLS socket (see `secureSocketOver()`). */
  static #tlsSocket(raw: NetSocket | Duplex, tls: CheckedTls, context: SecureContext, options: SecureSocketOptions): NodeSocket {
    const layer = startTlsOver(raw, tls, context);
    NodeSocket.#settingUp = {
      layer,
      peername: options.peername,
      sockname: options.sockname,
      shutdownTimeout: tls.shutdownTimeout,
      stopHandshakeTimer: ignore,
    };
    const secure = new NodeSocket(layer.socket, {
      readableHighWaterMark: options.readableHighWaterMark,
      writableHighWaterMark: options.writableHighWaterMark,
      extra: options.extra,
    });
    if (options.protocol !== undefined) secure.#adopt(options.protocol, options.protocolPaused === true);
    return secure;
  }

  readonly #socket: OwnedSocket;
  readonly #readableHighWaterMark: number;
  readonly #extra: Readonly<Record<string, unknown>>;
  readonly #serverHostname: string | null;
  /** Our end's address, noted once connected: Node forgets its own at the close (see `#noteAddresses()`). */
  #localHost: string | undefined;
  #localPort = 0;
  /** The TLS session of a socket made by `startTls()`, with what it keeps of it; null for a plain one. */
  readonly #tls: TlsSetup | null;
  /** The TLS socket `startTls()` made of this one. */
  #upgradedTo: NodeSocket | null = null;
  /** `CLOSED`, `READ_DONE`, ...: the state a boolean field each would hold (see `_socket.ts`). */
  #flags = 0;

  /** The error the socket died of; null while it is healthy or after a clean close. */
  #error: unknown = null;
  /** What `readable` gave: the byte stream, or while the bytes go to a protocol, a locked stream. */
  #readable: ReadableStream<Uint8Array> | undefined;
  /** The byte stream's controller, once `readable` was made for reading. */
  #readController: ReadableByteStreamController | undefined;
  #protocol: Protocol | undefined;

  readonly #writable: LazyWritable<NodeSocket>;
  /**
   * The `net.Socket`'s own high-water mark, fixed when it was made: read once, as each of Node's
   * stream getters costs about 20 ns and a write asks for it twice.
   */
  readonly #socketMark: number;
  /** The small writes of this tick; made on the first one (an idle connection holds none). */
  #batch: WriteBatcher | null = null;
  /** A sink write waiting for the socket to drain; the socket has a 'drain' listener only meanwhile. */
  #drainWaiter: { resolve(): void; reject(error: unknown): void } | null = null;
  /** The stream TLS runs over when it is no `net.Socket` (see `TlsLayer.stream`), whose backlog counts too. */
  readonly #under: Duplex | null;

  /** `opened`; made on first access for a socket connected from the start (an accepted one). */
  #opened: Promise<SocketInfo> | null = null;
  /** Rejects `opened` while it is pending; null once it has settled, or when it was never pending. */
  #failOpening: ((error: unknown) => void) | null = null;
  /** `closed` and its watchers, made when first needed (see `#closed`). */
  #closedSignal: ClosedSignal | null = null;

  /**
   * Wraps a `net.Socket` as a WinterTC socket.
   *
   * @param socket a `net.Socket`, connected or still connecting; it is switched to half-open mode
   * @param options high-water marks, extra-info overrides, the host name for `startTls()`
   */
  constructor(socket: NetSocket, options: NodeSocketOptions = {}) {
    // Taken first, so that no other construction sees it.
    const tls = NodeSocket.#settingUp;
    NodeSocket.#settingUp = null;
    this.#socket = socket;
    this.#socketMark = socket.writableHighWaterMark;
    this.#readableHighWaterMark = options.readableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#writable = new LazyWritable<NodeSocket>(this, NodeSocket.#sinkOf, options.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK);
    this.#extra = options.extra ?? NO_EXTRA;
    this.#serverHostname = options.serverHostname ?? null;
    this.#tls = tls;
    this.#under = tls?.layer.stream ?? null;
    // Its 'drain' goes to the shared listener, which finds this socket as on the socket's own.
    if (this.#under !== null) (this.#under as unknown as OwnedSocket)[OWNER] = this;
    // Our side ends only when the writer says so, whatever the peer does (CPython's
    // eof_received returning True).
    socket.allowHalfOpen = true;

    if (tls === null && !socket.connecting) {
      // Open from the start: `opened` is made, resolved, when asked for.
      this.#noteAddresses();
    } else {
      this.#opened = this.#opening(socket, tls);
    }

    (socket as OwnedSocket)[OWNER] = this;
    socket.on('error', NodeSocket.#onError);
    socket.on('close', NodeSocket.#onClose);
    if (socket.destroyed) this.#closedNow();
  }

  /**
   * Settles when the socket is fully closed: resolves after a clean close, rejects with the
   * error it died of. Made on first access (an idle connection holds no promise), already
   * settled when the socket closed before; never an unhandled rejection.
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

  /**
   * Resolves once connected (at once for a socket that already is; for a TLS socket, once the
   * handshake is done); rejects if connecting fails.
   */
  get opened(): Promise<SocketInfo> {
    this.#opened ??= Promise.resolve(this.#info());
    return this.#opened;
  }

  /** What `opened` is while the socket connects, or does its TLS handshake. */
  #opening(socket: NetSocket, tls: TlsSetup | null): Promise<SocketInfo> {
    const opened = new Promise<SocketInfo>((onOpen, reject) => {
      this.#failOpening = reject;
      const resolve = (info: SocketInfo): void => {
        this.#failOpening = null;
        onOpen(info);
      };
      if (tls !== null) {
        tls.stopHandshakeTimer = watchHandshake(tls.layer, () => {
          this.#flags |= SECURE;
          // Upgraded while still connecting: our address is known only now, and Node forgets it at the close.
          tls.sockname ??= this.#address('local');
          resolve(this.#info());
        });
        return;
      }
      socket.once('connect', () => {
        this.#noteAddresses();
        resolve(this.#info());
      });
    });
    opened.catch(ignore);
    return opened;
  }

  /**
   * Where the bytes for the peer go, with a byte-counting high-water mark (`writableHighWaterMark`),
   * so `writer.ready` waits while the socket is full. Closing it ends our side (half-close; over
   * TLS, close_notify). Created on first access: `StreamWriter` writes through `tryWrite()`
   * while the socket has room, so an idle connection holds no stream. While a `StreamWriter`
   * owns it (the connection functions' sockets), it is locked.
   */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable.stream;
  }

  /** @internal See `Transport._claimWritable()`. */
  _claimWritable(): ClaimedWritable {
    return this.#writable.claim();
  }

  /**
   * The peer's bytes, as a byte stream (`type: 'bytes'`, so `getReader({ mode: 'byob' })` works).
   * Ends at the peer's EOF (or at `startTls()`: the bytes before it stay readable), errors with
   * the socket's error. Created on first access. While the data goes to a protocol (a
   * `StreamReader`, see `connectProtocol()`), it is a locked stream: read the reader instead.
   */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= this.#protocol === undefined ? this.#createReadable() : lockedByteStream();
    return this.#readable;
  }

  /**
   * Delivers the socket's events to `protocol` instead of `readable`: `connectionMade(this)`
   * at once, then `dataReceived`, `eofReceived` and `connectionLost`.
   * @throws {Error} when `readable` was used, a protocol is already connected, or the socket
   *   was upgraded by `startTls()`
   */
  connectProtocol(protocol: Protocol): void {
    if (this.#readController !== undefined || this.#protocol !== undefined || this.#upgradedTo !== null) {
      throw new Error('The socket is already being read');
    }
    this.#protocol = protocol;
    protocol.connectionMade(this);
    this.#deliverTo(protocol);
  }

  /** Stops taking bytes from the peer (the reader's buffer is full). */
  pauseReading(): void {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) {
      // The reader keeps the transport it was given; it reads through the TLS socket now.
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
   * Hands `chunk` to the socket now if it has room (see `Transport.tryWrite`); false when the
   * socket is full, closed, ending or upgraded, or a sink write waits for it to drain.
   */
  tryWrite(chunk: Uint8Array): boolean {
    const socket = this.#socket;
    if ((this.#flags & (WRITE_DONE | ENDED_AFTER_PEER)) !== 0 || this.#drainWaiter !== null || socket.destroyed || this.#needsDrain()) return false;
    // Full, or a chunk that alone passes the mark: it goes through the writable, whose queue
    // counts it until the socket takes it, so that drain() waits for it.
    if (this.#queuedBytes() + chunk.byteLength > this.#socketMark) return false;
    this.#batcher().push(chunk);
    return true;
  }

  /** A plain TCP or Unix connection can be half-closed; a TLS one cannot (as in CPython). */
  canWriteEof(): boolean {
    return this.#upgradedTo?.canWriteEof() ?? this.#tls === null;
  }

  /**
   * `peername` and `sockname` (`[host, port]`, or the path for a Unix socket, as CPython gives),
   * `socket` (the `net.Socket`; under TLS, the one TLS runs over). A TLS socket adds CPython's
   * `sslcontext` (Node's `SecureContext`) and, once the handshake is done, `peercert` (Node's
   * certificate object, `null` when the peer sent none), `cipher` (Node's `getCipher()`),
   * `compression` (`null`) and `ssl_object` (the `TLSSocket`). After `startTls()` this socket
   * answers for the TLS one. `undefined` for any other name.
   */
  getExtraInfo(name: string): unknown {
    const upgraded = this.#upgradedTo;
    if (upgraded !== null) return upgraded.getExtraInfo(name);
    if (Object.hasOwn(this.#extra, name)) return this.#extra[name];
    const tls = this.#tls;
    switch (name) {
      case 'peername':
        return tls?.peername ?? this.#address('remote');
      case 'sockname':
        return tls?.sockname ?? this.#address('local');
      default:
    }
    if (tls !== null) return tlsExtraInfo(tls.layer, name, (this.#flags & SECURE) !== 0);
    return name === 'socket' ? this.#socket : undefined;
  }

  /**
   * Closes both directions now, dropping what is still queued (WinterTC `close()`): `readable`
   * ends (errors with `reason` when one is given), `writable` errors, and a pending `opened`
   * rejects with `reason`. After `startTls()`, closes the TLS socket.
   *
   * A TLS socket whose `writable` was closed (its close_notify sent) first waits for the peer's
   * close_notify, up to `sslShutdownTimeout` seconds (30 by default), taking what the peer
   * still sends: closed at once, a socket with bytes unread answers the peer with a reset, and
   * the peer loses what it had not read yet of ours. A second `close()` meanwhile closes at once
   * (`abortClients()` after `writer.close()`: CPython's `abort()`).
   * @returns the `closed` promise
   */
  close(reason?: unknown): Promise<void> {
    const upgraded = this.#upgradedTo;
    const flags = this.#flags;
    if (upgraded !== null) {
      void upgraded.close(reason);
    } else if (reason === undefined && (flags & (SECURE | AWAITING_PEER_CLOSE)) === SECURE && this.#socket.writableFinished) {
      this.#flags = flags | AWAITING_PEER_CLOSE;
      this.#closeOncePeerHas();
    } else if ((this.#flags & CLOSED) === 0) {
      if (reason !== undefined) this.#failOpening?.(reason);
      this.#finishWritable(reason ?? null);
      if (reason !== undefined) this.#finishReadable(reason);
      this.#socket.destroy();
    }
    return this.#closed.promise;
  }

  /**
   * Starts TLS on this connection (WinterTC `startTls()`) and returns the TLS socket; its
   * `opened` resolves once the handshake is done and rejects if it fails or takes longer than
   * `sslHandshakeTimeout` seconds (60 by default; the socket is then closed).
   *
   * What this socket wrote is sent first. Its `readable` ends and its `writable` errors; a
   * connected protocol goes on receiving, now from the TLS socket. A client refuses to start
   * while the socket holds bytes it read but had not delivered (its reader paused): the
   * server cannot have sent any TLS yet, so they came in the clear, and read after the upgrade
   * they would pass for TLS's. A server feeds them, after `received`, to TLS: they are the
   * client's first record.
   *
   * @param options `ssl` (`true`, the default, or TLS options), `serverSide`,
   *   `serverHostname` (default: the `serverHostname` this socket was made with),
   *   `sslHandshakeTimeout`, `received`, `secureContext`
   * @returns the TLS socket
   * @throws {TypeError} on a TLS socket, on a second call, for bad options
   * @throws {RangeError} for options CPython refuses (a server without `cert` and `key`, no
   *   name to verify, ...)
   * @throws the socket's error (or `ERR_SOCKET_CLOSED`) when it is closed
   * @throws {Error} `ERR_TLS_UNREAD_PLAINTEXT` on a client whose socket holds unread bytes
   * @example
   * ```ts
   * // After the peer agreed to STARTTLS:
   * const secure = socket.startTls({ serverHostname: 'mail.example.com' });
   * const { alpn } = await secure.opened;
   * ```
   */
  startTls(options: RuntimeStartTlsOptions = {}): NodeSocket {
    if (this.#tls !== null) throw new TypeError('Cannot startTls on a TLS socket');
    if (this.#upgradedTo !== null) throw new TypeError('startTls can only be called once');
    const raw = this.#socket;
    if ((this.#flags & CLOSED) !== 0 || raw.destroyed) throw this.#error ?? socketClosedError();
    const tls = checkStartTls(options.ssl ?? true, options, options.serverSide === true, this.#serverHostname);
    // Bad PEM text throws here, before anything is changed.
    const context = options.secureContext ?? secureContextOf(tls);
    // A client's plain bytes the socket holds unread (its reader paused) would be read as if TLS had brought them.
    if (!tls.serverSide && raw.readableLength > 0) throw unreadBeforeTlsError(raw.readableLength);
    this.#batch?.flush();
    this.#detach();
    const received = options.received;
    if (received !== undefined && received.byteLength > 0 && !raw.readableEnded) raw.unshift(received);
    const secure = NodeSocket.#tlsSocket(raw, tls, context, {
      readableHighWaterMark: this.#readableHighWaterMark,
      writableHighWaterMark: this.#writable.highWaterMark,
      extra: this.#extra,
      peername: this.#address('remote'),
      sockname: this.#address('local'),
      protocol: this.#protocol,
      protocolPaused: (this.#flags & PROTOCOL_PAUSED) !== 0,
    });
    this.#upgradedTo = secure;
    this.#finishWritable(upgradedError());
    this.#finishReadable(null);
    secure.#closed.watch((error) => this.#closed.settle(error));
    return secure;
  }

  /** Destroys the socket once the peer has ended its side too, or after the shutdown timeout. */
  #closeOncePeerHas(): void {
    const socket = this.#socket;
    if ((this.#flags & CLOSED) !== 0) return;
    if (socket.readableEnded) {
      socket.destroy();
      return;
    }
    const ms = this.#tls!.shutdownTimeout * 1000;
    // A timeout beyond what a timer can hold (about 24.8 days) is no timeout.
    const timer = ms <= MAX_TIMER_MS ? setTimeout(() => socket.destroy(), ms) : undefined;
    socket.once('end', () => socket.destroy());
    socket.once('close', () => clearTimeout(timer));
    // Nobody may read any more: what arrives is taken (and dropped) so the end can arrive.
    socket.resume();
  }

  /** Takes over the protocol of the socket this TLS socket was made from (no second `connectionMade`). */
  #adopt(protocol: Protocol, paused: boolean): void {
    this.#protocol = protocol;
    protocol._replaceTransport?.(this);
    if (paused) this.pauseReading();
    this.#deliverTo(protocol);
  }

  #deliverTo(protocol: Protocol): void {
    if ((this.#flags & CLOSED) !== 0) {
      protocol.connectionLost(this.#error);
      return;
    }
    this.#listen();
  }

  /**
   * Sends the socket's `data` and `end` on, to the protocol or else to `readable`. A socket
   * whose `end` came before anyone listened (the peer's FIN with no data, while a server held
   * the connection until `startServing()`, or a `sock` whose peer had ended) ends at once.
   */
  #listen(): void {
    const socket = this.#socket;
    socket.on('data', NodeSocket.#onData);
    socket.on('end', NodeSocket.#onEnd);
    this.#flags |= LISTENING;
    if (socket.readableEnded) this.#peerEnded();
  }

  /** Stops listening to the socket, which `startTls()` hands to TLS. */
  #detach(): void {
    const socket = this.#socket;
    socket.pause();
    socket.off('error', NodeSocket.#onError);
    socket.off('close', NodeSocket.#onClose);
    socket.off('drain', NodeSocket.#onDrain);
    if ((this.#flags & LISTENING) !== 0) {
      socket.off('data', NodeSocket.#onData);
      socket.off('end', NodeSocket.#onEnd);
      this.#flags &= ~LISTENING;
    }
  }

  /** The peer's bytes, for the protocol or `readable`. */
  #received(data: Uint8Array<ArrayBuffer>): void {
    const protocol = this.#protocol;
    if (protocol === undefined) {
      this.#streamData(data);
      return;
    }
    // A protocol that throws kills its connection, not the process (CPython's _fatal_error).
    try {
      protocol.dataReceived(data);
    } catch (error) {
      this.#socket.destroy(error as Error);
    }
  }

  /** The peer's EOF, for the protocol or `readable`. */
  #peerEnded(): void {
    const protocol = this.#protocol;
    if (protocol === undefined) {
      this.#streamEnd();
      return;
    }
    // Node may end a TLS socket after its error (a fatal alert): the protocol hears of the
    // error at the close, not of a clean EOF now.
    if (this.#error !== null) return;
    let keepOpen: boolean | void;
    try {
      keepOpen = protocol.eofReceived();
    } catch (error) {
      this.#socket.destroy(error as Error);
      return;
    }
    if (keepOpen !== true) this.#endAfterPeer();
  }

  /** What the socket connects, for warnings and logs: `<NodeSocket 127.0.0.1:5000 -> 127.0.0.1:8888 tls>`. */
  toString(): string {
    const states = [];
    if (this.#tls !== null || this.#upgradedTo !== null) states.push('tls');
    if ((this.#flags & CLOSED) !== 0) states.push('closed');
    return describeSocket('NodeSocket', this, states);
  }

  #info(): SocketInfo {
    return {
      remoteAddress: describeSocketName(this.getExtraInfo('peername')),
      localAddress: describeSocketName(this.getExtraInfo('sockname')),
      alpn: this.#tls === null ? null : alpnOf(this.#tls.layer),
    };
  }

  /**
   * Reads the addresses of the connected socket: Node caches the peer's (`_peername`) and
   * keeps it after the close, so that `getExtraInfo('peername')` still answers with no copy of
   * ours; our own (`_sockname`) it forgets at the close, so its two parts are noted here.
   */
  #noteAddresses(): void {
    const socket = this.#socket;
    void socket.remoteAddress;
    this.#localHost = socket.localAddress;
    this.#localPort = socket.localPort ?? 0;
  }

  /**
   * `[host, port]` of an end of the connection, made when asked for (an idle connection keeps
   * no tuple). Under TLS, the socket TLS runs over answers.
   */
  #address(end: 'remote' | 'local'): HostPort | undefined {
    const tls = this.#tls;
    if (tls === null && end === 'local') return this.#localHost === undefined ? undefined : [this.#localHost, this.#localPort];
    const socket = (tls?.layer.raw ?? this.#socket) as Partial<NetSocket>;
    const host = end === 'remote' ? socket.remoteAddress : socket.localAddress;
    return host === undefined ? undefined : [host, (end === 'remote' ? socket.remotePort : socket.localPort)!];
  }

  #createReadable(): ReadableStream<Uint8Array> {
    const socket = this.#socket;
    const readable = new ReadableStream(
      {
        type: 'bytes',
        start: (controller) => {
          this.#readController = controller;
        },
        pull: () => {
          if ((this.#flags & READ_PAUSED) !== 0) {
            this.#flags &= ~READ_PAUSED;
            socket.resume();
          }
        },
        cancel: () => {
          this.#flags |= READ_DONE | READ_CANCELLED;
          socket.pause();
          if ((this.#flags & WRITE_DONE) !== 0) socket.destroy();
        },
      },
      { highWaterMark: this.#readableHighWaterMark },
    );
    if ((this.#flags & CLOSED) !== 0) {
      this.#finishReadable(this.#error);
    } else if (this.#upgradedTo !== null) {
      this.#finishReadable(null);
    } else {
      this.#listen();
    }
    return readable;
  }

  /** A chunk for `readable`: into a waiting BYOB read, else queued. */
  #streamData(chunk: Uint8Array<ArrayBuffer>): void {
    const controller = this.#readController!;
    if ((this.#flags & READ_DONE) !== 0) return;
    const request = controller.byobRequest;
    if (request !== null && request.view !== null) {
      const view = request.view;
      const n = Math.min(view.byteLength, chunk.byteLength);
      new Uint8Array(view.buffer, view.byteOffset, n).set(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      request.respond(n);
      if (n < chunk.byteLength) controller.enqueue(owned(chunk, n));
    } else {
      controller.enqueue(owned(chunk, 0));
    }
    if ((controller.desiredSize ?? 1) <= 0 && (this.#flags & READ_PAUSED) === 0) {
      this.#flags |= READ_PAUSED;
      this.#socket.pause();
    }
  }

  /** The peer's EOF, for `readable`. */
  #streamEnd(): void {
    this.#finishReadable(null);
    if ((this.#flags & WRITE_DONE) !== 0) {
      this.#socket.destroy();
    } else if (this.#tls !== null) {
      // TLS cannot half-close: the peer's close_notify ends our side too, as CPython's SSL
      // transport does (and the protocol path, whose eofReceived() says so).
      this.#endAfterPeer();
    }
  }

  /**
   * Ends our side because the peer ended its own (a protocol that did not keep it open, or
   * TLS): what is written later is dropped, as CPython drops writes to a closing transport,
   * instead of failing the connection with "write after end".
   */
  #endAfterPeer(): void {
    this.#batch?.flush();
    this.#flags |= ENDED_AFTER_PEER;
    this.#socket.end();
  }

  /** Ends `readable`: closed when `error` is null, else errored with it. */
  #finishReadable(error: unknown): void {
    const controller = this.#readController;
    // A readable made later starts finished (see #createReadable).
    if ((this.#flags & READ_DONE) !== 0 || controller === undefined) return;
    this.#flags |= READ_DONE;
    if (error !== null) {
      controller.error(error);
      return;
    }
    controller.close();
    // A BYOB read still waiting gets `done` only once it is answered.
    controller.byobRequest?.respond(0);
  }

  /**
   * Errors `writable` with `error` (null: the socket is closed, an error made only if someone is
   * there to see it, which a closing idle connection spares) and wakes a sink write waiting for
   * the socket to drain.
   */
  #finishWritable(error: unknown): void {
    const waiter = this.#drainWaiter;
    if (waiter !== null) {
      this.#stopWaitingForDrain();
      waiter.reject(error ?? socketClosedError());
    }
    if ((this.#flags & WRITE_DONE) !== 0) return;
    this.#flags |= WRITE_DONE;
    this.#writable.fail(error);
  }

  #write(chunk: Uint8Array): Promise<void> | undefined {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(`A socket takes Uint8Array chunks, not ${typeof chunk}`);
    }
    const socket = this.#socket;
    if ((this.#flags & CLOSED) !== 0 || socket.destroyed) throw this.#error ?? socketClosedError();
    if ((this.#flags & ENDED_AFTER_PEER) !== 0) return undefined;
    if (this.#send(chunk)) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.#drainWaiter = { resolve, reject };
      // The batch goes out at the end of the tick: no 'drain' can come before this.
      socket.on('drain', NodeSocket.#onDrain);
      this.#under?.on('drain', NodeSocket.#onDrain);
    });
  }

  /**
   * Queues `chunk` for the end of the tick; false once the socket (with this tick's batch) is
   * at its high-water mark.
   */
  #send(chunk: Uint8Array): boolean {
    this.#batcher().push(chunk);
    return !this.#isFull();
  }

  #batcher(): WriteBatcher {
    // A batch the socket took whole ends a sink write's wait, as a 'drain' would.
    this.#batch ??= new WriteBatcher(this.#socket, () => this.#drained());
    return this.#batch;
  }

  #isFull(): boolean {
    return this.#needsDrain() || this.#queuedBytes() >= this.#socketMark;
  }

  /** Whether the socket, or the stream TLS runs over, said it is full and will tell when it drains. */
  #needsDrain(): boolean {
    return this.#socket.writableNeedDrain || this.#under?.writableNeedDrain === true;
  }

  /** The bytes written and not yet sent: the socket's own queue and this tick's batch, which it does not count yet. */
  #queuedBytes(): number {
    return this.#socket.writableLength + (this.#batch?.byteLength ?? 0);
  }

  #end(): Promise<void> {
    this.#flags |= WRITE_DONE;
    const socket = this.#socket;
    if ((this.#flags & CLOSED) !== 0 || socket.destroyed) {
      return this.#error === null ? Promise.resolve() : Promise.reject(this.#error);
    }
    if ((this.#flags & ENDED_AFTER_PEER) !== 0) return Promise.resolve();
    this.#batch?.flush();
    return new Promise<void>((resolve, reject) => {
      socket.end((error?: Error | null) => {
        if (error) {
          reject(this.#error ?? error);
          return;
        }
        resolve();
        if ((this.#flags & READ_DONE) !== 0 && this.#readController !== undefined) socket.destroy();
      });
    });
  }

  /** The socket took what it was given: a sink write waiting for it goes on. */
  #drained(): void {
    const waiter = this.#drainWaiter;
    // Bun's TLS socket drains while the stream under it is still full: that one's 'drain' counts.
    if (waiter === null || this.#under?.writableNeedDrain === true) return;
    this.#stopWaitingForDrain();
    waiter.resolve();
  }

  #stopWaitingForDrain(): void {
    this.#drainWaiter = null;
    this.#socket.off('drain', NodeSocket.#onDrain);
    this.#under?.off('drain', NodeSocket.#onDrain);
  }

  #failed(error: unknown): void {
    this.#error ??= error;
    this.#finishWritable(error);
    this.#finishReadable(error);
    // A net.Socket is destroyed before its 'error'; a TLS socket past its handshake only
    // emits a fatal alert, and would stay open.
    this.#socket.destroy();
  }

  #closedNow(): void {
    const flags = this.#flags;
    if ((flags & CLOSED) !== 0) return;
    this.#flags = flags | CLOSED;
    const tls = this.#tls;
    if (tls !== null) {
      tls.stopHandshakeTimer();
      // TLS closes the socket under it as it closes; this makes sure of it.
      tls.layer.raw.destroy();
    }
    const error = this.#error;
    this.#failOpening?.(error ?? socketClosedError());
    this.#finishWritable(error);
    if ((flags & READ_CANCELLED) === 0) this.#finishReadable(error);
    this.#protocol?.connectionLost(error);
    this.#closed.settle(error);
  }

  /** The sink of `writable` (see `LazyWritable`): one function for every socket. */
  static #sinkOf(socket: NodeSocket): SocketSink {
    return {
      write: (chunk) => socket.#write(chunk),
      close: () => socket.#end(),
      abort: () => {
        socket.#flags |= WRITE_DONE;
        socket.#socket.destroy();
      },
    };
  }

  /*
   * The socket's listeners, shared by every socket: `this` is the `net.Socket` (see `OWNER`).
   * A property lookup per chunk costs less than a closure per connection.
   */
  static #onData(this: OwnedSocket, data: Uint8Array<ArrayBuffer>): void {
    this[OWNER]!.#received(data);
  }

  static #onEnd(this: OwnedSocket): void {
    this[OWNER]!.#peerEnded();
  }

  static #onDrain(this: OwnedSocket): void {
    this[OWNER]!.#drained();
  }

  static #onError(this: OwnedSocket, error: unknown): void {
    this[OWNER]!.#failed(error);
  }

  static #onClose(this: OwnedSocket): void {
    this[OWNER]!.#closedNow();
  }
}

/**
 * A byte stream that is locked and never gives a byte: `getReader()` throws the platform's
 * own TypeError, as it does for any stream someone else reads. What a socket whose bytes go to
 * a protocol gives as its `readable` (`BunSocket`'s too).
 *
 * @example
 * ```ts
 * lockedByteStream().locked; // true
 * ```
 */
export function lockedByteStream(): ReadableStream<Uint8Array> {
  const stream = new ReadableStream<Uint8Array>({ type: 'bytes' });
  stream.getReader();
  return stream;
}

function ignore(): void {}

/**
 * A chunk the stream may own from byte `start` on. Enqueueing transfers the chunk's whole
 * ArrayBuffer, which is safe only for a buffer nobody else holds: a socket's read buffer is
 * its own allocation, a slice of a pooled one is copied.
 */
function owned(chunk: Uint8Array<ArrayBuffer>, start: number): Uint8Array<ArrayBuffer> {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) return chunk.subarray(start);
  // Not chunk.slice(): on a Buffer that is a view, not a copy.
  return Uint8Array.prototype.slice.call(chunk, start) as Uint8Array<ArrayBuffer>;
}
