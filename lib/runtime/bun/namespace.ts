/**
 * The part of Bun's global namespace the `Bun.listen`/`Bun.connect` adapter uses, typed here so
 * that the package type-checks without Bun's own declarations (the project compiles against
 * Node's types). Behaviours noted here were checked by experiment on Bun 1.4.5.
 */

/**
 * A connected `Bun.Socket` (uSockets underneath). `write()` sends at once and keeps nothing:
 * what the kernel did not take is the caller's to send again after `drain`.
 */
export interface BunNativeSocket<Data = unknown> {
  /** Sends what the kernel takes now; how many bytes that was (-1 once closed or shut down). */
  write(data: Uint8Array): number;
  /** `shutdown(SHUT_WR)`: the peer sees EOF, reading goes on (with `allowHalfOpen`). */
  shutdown(halfClose?: boolean): void;
  /** Closes the connection now (FIN); its `close` handler runs before this returns. */
  end(): void;
  /** Closes the connection with a reset (RST); its `close` handler runs before this returns. */
  terminate(): void;
  /** Stops reading: neither `data` nor `end` comes until `resume()`. */
  pause(): void;
  /** Reads again. */
  resume(): void;
  /** Turns Nagle's algorithm off or on. */
  setNoDelay(noDelay?: boolean): boolean;
  /** Turns TCP keep-alive probes on or off. */
  setKeepAlive(enable?: boolean, initialDelay?: number): boolean;
  /** The peer's address; `undefined` once closed, and for a Unix socket. */
  readonly remoteAddress: string | undefined;
  /** The peer's port; `undefined` once closed, and for a Unix socket. */
  readonly remotePort: number | undefined;
  /** Our address; `undefined` once closed, and for a Unix socket. */
  readonly localAddress: string | undefined;
  /** Our port; `undefined` once closed, and for a Unix socket. */
  readonly localPort: number | undefined;
  /**
   * Gives other handlers to the handler set the socket shares: its `Bun.connect()` call's, which
   * is its own, or its listener's, which every connection the listener accepted shares. So the
   * adapter takes over only sockets of `Bun.connect()` with it (`BunSocket.adopt()`).
   */
  reload(options: { socket: BunSocketHandlers<Data> }): void;
  /** The listener that accepted the socket; `undefined` for a socket of `Bun.connect()`. */
  readonly listener?: unknown;
  /** The program's slot on the socket: the adapter keeps its `BunSocket` here. */
  data: Data;
}

/**
 * The handlers of every socket of a listener or of a `Bun.connect()` call: one set shared by
 * all of them, each called with the socket (Bun's design: no closure per socket).
 */
export interface BunSocketHandlers<Data = unknown> {
  /** Bytes from the peer, each chunk in an `ArrayBuffer` of its own (never reused by Bun). */
  binaryType?: 'uint8array' | 'buffer' | 'arraybuffer';
  /** The connection is open (a listener's accepted one, or `Bun.connect()`'s, before it resolves). */
  open?(socket: BunNativeSocket<Data>): void;
  /** Bytes from the peer. */
  data?(socket: BunNativeSocket<Data>, data: Uint8Array): void;
  /** The socket can take more after a `write()` that took less than it was given. */
  drain?(socket: BunNativeSocket<Data>): void;
  /** The peer's FIN (not called when our side was shut down first: `close` comes instead). */
  end?(socket: BunNativeSocket<Data>): void;
  /** The connection is closed: `error` after a reset or a failed read or write. */
  close?(socket: BunNativeSocket<Data>, error?: Error): void;
  /** A handler threw, or a TLS session failed; `close` follows. */
  error?(socket: BunNativeSocket<Data>, error: Error): void;
  /** Connecting failed (`Bun.connect()` rejects as well). */
  connectError?(socket: BunNativeSocket<Data>, error: Error): void;
}

/** What `Bun.listen()` returns. */
export interface BunListener {
  /** Stops listening; `true` also closes the connections it accepted. A Unix listener's file is removed. */
  stop(closeActive?: boolean): void;
  /** Gives the connections it accepts from now on other handlers. */
  reload(options: { socket: BunSocketHandlers<never> }): void;
  /** The path of a Unix listener; `undefined` for TCP. */
  readonly unix?: string;
}

/** What `Bun.listen()` returns for TCP. */
export interface BunTcpListener extends BunListener {
  readonly hostname: string;
  readonly port: number;
}

/** Options of `Bun.listen()` for TCP. */
export interface BunListenOptions<Data = unknown> {
  hostname: string;
  port: number;
  socket: BunSocketHandlers<Data>;
  /** Keep our side open when the peer's ends (else Bun closes both at the peer's FIN). */
  allowHalfOpen?: boolean;
  /** `SO_REUSEPORT`. */
  reusePort?: boolean;
  /** `IPV6_V6ONLY` on `::`. */
  ipv6Only?: boolean;
}

/** Options of `Bun.listen()` for a Unix socket: as for TCP, with a path instead of an address. */
export interface BunUnixListenOptions<Data = unknown> {
  unix: string;
  socket: BunSocketHandlers<Data>;
  allowHalfOpen?: boolean;
}

/** Options of `Bun.connect()` for TCP. */
export interface BunConnectOptions<Data = unknown> {
  hostname: string;
  port: number;
  socket: BunSocketHandlers<Data>;
  allowHalfOpen?: boolean;
  /** The socket's `data` slot from the start. */
  data?: Data;
}

/**
 * Options of `Bun.connect()` for a Unix socket. A missing path rejects with `ENOENT`, one nobody
 * listens on with `ECONNREFUSED`; the message names neither ("Failed to connect").
 */
export interface BunUnixConnectOptions<Data = unknown> {
  unix: string;
  socket: BunSocketHandlers<Data>;
  allowHalfOpen?: boolean;
  /** The socket's `data` slot from the start. */
  data?: Data;
}

/**
 * Whether `value` is a connected `Bun.Socket` (of `Bun.connect()` or a listener), as `sock` may
 * be: it can be given other handlers (`reload()`) and half-closed (`shutdown()`), which a
 * `net.Socket` cannot.
 *
 * @example
 * ```ts
 * isBunNativeSocket({ readable: new ReadableStream(), writable: new WritableStream() }); // false
 * ```
 */
export function isBunNativeSocket(value: unknown): value is BunNativeSocket {
  const socket = value as Partial<BunNativeSocket> | null | undefined;
  return typeof socket?.reload === 'function' && typeof socket.write === 'function' && typeof socket.shutdown === 'function' && typeof socket.terminate === 'function';
}

/**
 * Whether `value` is a listener of `Bun.listen()`, as a server's `sock` may be.
 *
 * @example
 * ```ts
 * isBunListener({}); // false
 * ```
 */
export function isBunListener(value: unknown): value is BunListener {
  const listener = value as Partial<BunListener> | null | undefined;
  return typeof listener?.reload === 'function' && typeof listener.stop === 'function' && !isBunNativeSocket(value);
}

/** The `Bun` namespace, as far as the adapter uses it. */
export interface BunNamespace {
  listen<Data>(options: BunListenOptions<Data>): BunTcpListener;
  listen<Data>(options: BunUnixListenOptions<Data>): BunListener;
  connect<Data>(options: BunConnectOptions<Data> | BunUnixConnectOptions<Data>): Promise<BunNativeSocket<Data>>;
}

/**
 * The `Bun` global.
 * @throws {Error} outside Bun
 * @example
 * ```ts
 * const listener = bunNamespace().listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
 * ```
 */
export function bunNamespace(): BunNamespace {
  const bun = (globalThis as { Bun?: BunNamespace }).Bun;
  if (bun === undefined) throw new Error('Bun.listen and Bun.connect need Bun');
  return bun;
}
