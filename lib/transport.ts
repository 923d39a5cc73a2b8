import type { ClaimedReadable } from './_socket-reads.ts';

/** A TCP socket's address as CPython's `getsockname()` gives it (IPv6 flow info and scope left out). */
export type HostPort = readonly [host: string, port: number];

/** A socket's address as CPython's `getsockname()` gives it: `[host, port]`, or a Unix socket's path. */
export type SocketName = HostPort | string;

/** Any connection given as a pair of streams (a Deno connection, an in-memory pipe, ...). */
export interface StreamPair {
  /** The peer's bytes. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Where bytes for the peer go; closing it ends our side. */
  readonly writable: WritableStream<Uint8Array>;
}

/** PEM text: a string, or its bytes. */
export type Pem = string | Uint8Array;

/**
 * TLS options (`ssl`), with PEM text. `ssl: true` is the same as `{}`: the runtime's default
 * trust store, nothing else.
 */
export interface TlsOptions {
  /**
   * The certificates to trust instead of the runtime's default store. On a server, giving
   * `ca` asks every client for a certificate and checks it against them (mutual TLS).
   */
  ca?: Pem | ReadonlyArray<Pem>;
  /** Our certificate (chain): a server needs one; a client sends it when the server asks. */
  cert?: Pem;
  /** The private key of `cert`. */
  key?: Pem;
  /**
   * Default true: a peer whose certificate does not verify (or, for a client, does not match
   * `serverHostname`) is refused. On a server with `ca`, false makes the client's
   * certificate optional: a client may present none, and one it presents must still verify
   * (CPython's `CERT_OPTIONAL`). On a client, false checks nothing.
   */
  rejectUnauthorized?: boolean;
  /** The ALPN protocols to offer (client) or accept (server), most preferred first. */
  alpnProtocols?: ReadonlyArray<string>;
}

/**
 * The callback side of a connection (CPython's `asyncio.Protocol`): a transport calls these as
 * events arrive. `StreamReaderProtocol` is the implementation that feeds a `StreamReader`.
 */
export interface Protocol {
  /** The connection is up; `transport` is the connection it arrived on. */
  connectionMade(transport: Transport): void;
  /** Bytes arrived from the peer. The protocol may keep `data`: the transport does not reuse it. */
  dataReceived(data: Uint8Array): void;
  /** The peer will send no more. Returning `true` keeps our side writable (half-close). */
  eofReceived(): boolean | void;
  /** The connection is gone: `null` after a clean close, else the error it died of. */
  connectionLost(error: unknown): void;
  /**
   * The connection goes on over `transport`, the TLS socket its transport's `startTls()`
   * returned (CPython's `_replace_transport`); events keep coming to this protocol without a
   * second `connectionMade`.
   * @internal
   */
  _replaceTransport?(transport: Transport): void;
}

/** Options of `StreamWriter.startTls()`, after CPython's keyword arguments. */
export interface StartTlsOptions {
  /**
   * The name to verify the server's certificate against and to send as SNI (client side).
   * Defaults to the host the connection was opened with.
   */
  serverHostname?: string | null;
  /** Seconds the handshake may take; default 60. */
  sslHandshakeTimeout?: number | null;
  /**
   * Seconds closing the TLS connection waits for the peer's close_notify after sending ours,
   * before it drops the connection; default 30.
   */
  sslShutdownTimeout?: number | null;
}

/** Options of a socket's `startTls()`: the writer's, plus what the writer knows of the connection. */
export interface SocketStartTlsOptions extends StartTlsOptions {
  /** `true` (the default: the runtime's default trust store) or TLS options. */
  ssl?: true | TlsOptions;
  /** Whether to do the server's side of the handshake (default false). */
  serverSide?: boolean;
  /**
   * Bytes already taken from this connection that belong to the TLS stream, ahead of what the
   * socket still holds: a server's reader may have buffered the client's first TLS record
   * (CPython gh-142352).
   */
  received?: Uint8Array;
}

/**
 * Hears once that a connection is gone (`error` null or undefined after a clean close).
 * @internal
 */
export interface LossWatcher {
  connectionLost(error: unknown): void;
}

/**
 * The writable side of a transport as its one owner has it (see `Transport._claimWritable()`).
 * @internal
 */
export interface ClaimedWritable {
  /** The writer of `writable`, made on the first call (the same one every time). */
  writer(): WritableStreamDefaultWriter<Uint8Array>;
  /**
   * Ends our side without making `writable`, for an owner that never needed its writer (every
   * byte went through `tryWrite()`): as `writer.close()` would, once the bytes are out.
   */
  end(): Promise<void>;
}

/**
 * A connection as the writer, the protocol and the server see it: the WinterTC socket shape
 * (`writable`, `closed`, `close()`) plus the flow-control and extra-info calls of CPython's
 * transports. The runtime adapters (`lib/runtime/`) implement it.
 */
export interface Transport {
  /** Where the writer's bytes go; a byte high-water mark makes `drain()` meaningful. */
  readonly writable: WritableStream<Uint8Array>;
  /** The peer's bytes, for a reader that pulls them (transports without `connectProtocol()`). */
  readonly readable?: ReadableStream<Uint8Array>;
  /** Settles once the connection is fully closed; rejects with the error it died of. */
  readonly closed: Promise<void>;
  /**
   * Calls `watcher` once the connection is fully closed, with `null` after a clean close, else
   * the error it died of (in a microtask, when it is closed already): what `closed` tells,
   * for the library's own watchers (the writer, the server), without a promise. A socket
   * makes its `closed` only when asked for, so an idle connection holds none.
   * @internal
   */
  _whenClosed?(watcher: (error: unknown) => void): void;
  /** Closes both directions at once, dropping unsent bytes (WinterTC `close()`, CPython `abort()`). */
  close(reason?: unknown): Promise<void>;
  /** Stops taking bytes from the peer until `resumeReading()` (the reader's buffer is full). */
  pauseReading(): void;
  /** Takes bytes from the peer again. */
  resumeReading(): void;
  /**
   * Writes `chunk` at once and returns true when the connection has room for it; returns
   * false, doing nothing, when it has not. The writer calls it only while nothing is queued
   * in `writable`, so the common case (an empty queue) skips the stream's per-chunk promises,
   * and only with chunks of its own, which the transport may keep until they are sent. (The
   * library's own sockets get views of the write pool all writers share, which they neither
   * change nor transfer; any other transport gets chunks with buffers of their own.)
   */
  tryWrite?(chunk: Uint8Array): boolean;
  /**
   * Sends what the connection takes of `data` at once, keeping none of it (the caller may reuse
   * `data` when this returns), and returns how many bytes that was: 0 when it cannot send now
   * (bytes of its own are waiting, it is ending). Only a transport whose sends finish in the
   * call has it (Bun's sockets, whose `write()` keeps nothing): the writer then copies only
   * what was not taken, where `tryWrite()` needs a copy the transport may keep.
   * @internal
   */
  _sendNow?(data: Uint8Array): number;
  /**
   * Resolves once the chunks `tryWrite()` took are all written to the connection (never
   * rejects: a failed write fails the connection). Only a transport whose `tryWrite()` starts
   * writes it finishes later has it: `startTls()` must wait for them.
   * @internal
   */
  _tryWritten?(): Promise<void>;
  /**
   * Makes the connection's `StreamWriter` the one owner of `writable`, which it then makes only
   * on first need (an idle connection holds no stream). Anyone else asking for `writable`
   * meanwhile gets it locked, as after `getWriter()`.
   * @internal
   */
  _claimWritable?(): ClaimedWritable;
  /**
   * Makes the connection's `StreamReader` the one owner of `readable`, read with the socket's
   * own read, and the stream made only on first need (an idle connection holds none). Anyone
   * else asking for `readable` meanwhile gets it locked, as after `getReader()`.
   * @throws {TypeError} when `readable` was made and is locked already
   * @internal
   */
  _claimReadable?(): ClaimedReadable;
  /** Whether closing `writable` half-closes the connection (false over TLS). Assumed true when absent. */
  canWriteEof?(): boolean;
  /** Connection details by CPython's names (`peername`, `sockname`, `socket`); `undefined` when unknown. */
  getExtraInfo?(name: string): unknown;
  /**
   * Delivers the connection's events to `protocol` from now on, starting with
   * `connectionMade(this)`. Transports without it are read through their `readable` instead.
   */
  connectProtocol?(protocol: Protocol): void;
  /** Settles once the connection is usable: connected, and for TLS the handshake done. */
  readonly opened?: Promise<unknown>;
  /**
   * Upgrades the connection to TLS in place (WinterTC `startTls()`) and returns the TLS
   * transport, whose `opened` settles with the handshake. A connected protocol moves to it.
   */
  startTls?(options: SocketStartTlsOptions): Transport;
}
