import type { StreamPair, TlsOptions } from './transport.ts';

/** What an error hook learns besides the error (CPython's exception-handler context). */
export interface ClientErrorContext {
  /** `'Unhandled exception in client_connected_cb'`, CPython's wording. */
  message: string;
  /** The client's connection, which is being closed. */
  transport: unknown;
}

/** Hears about a client callback that threw or rejected. */
export type ClientErrorHandler = (error: unknown, context: ClientErrorContext) => void;

/** `0` (either), `4` (IPv4 only) or `6` (IPv6 only). */
export type AddressFamily = 0 | 4 | 6;

/** Options of `openUnixConnection()`; `Sock` is what the runtime accepts as `sock`. */
export interface OpenUnixConnectionOptions<Sock = StreamPair> {
  /** The reader's limit (default 65536). */
  limit?: number;
  /** TLS: `true` (the runtime's default trust store) or TLS options. */
  ssl?: boolean | TlsOptions | null;
  /**
   * The name to check the server's certificate against and to send as SNI (needs `ssl`).
   * Defaults to `host`; `openUnixConnection()` and a `sock` without a host need it.
   */
  serverHostname?: string | null;
  /** Seconds the TLS handshake may take (needs `ssl`; default 60). */
  sslHandshakeTimeout?: number | null;
  /**
   * Seconds closing a TLS connection waits for the peer's close_notify after sending ours,
   * before it drops the connection (needs `ssl`; default 30).
   */
  sslShutdownTimeout?: number | null;
  /** An already connected socket to use instead of connecting (then no path/host is given). */
  sock?: Sock | null;
  /** Aborting it while connecting closes the socket and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of `openConnection()`. */
export interface OpenConnectionOptions<Sock = StreamPair> extends OpenUnixConnectionOptions<Sock> {
  /** Which address family to connect over (default 0: whichever resolves). */
  family?: AddressFamily;
  /** The local `[host, port]` to bind before connecting. */
  localAddr?: readonly [host: string, port: number] | null;
  /** `IPPROTO_TCP` (6) or 0, the only protocols a stream connection can have. */
  proto?: number | null;
  /** `getaddrinfo()` flags: only 0 (none) is supported. */
  flags?: number | null;
  /**
   * `SO_KEEPALIVE` on the connection (default false). Beyond asyncio, whose `keep_alive` is a
   * server's; where the runtime can (not Deno with `ssl`).
   */
  keepAlive?: boolean | null;
  /**
   * RFC 8305: seconds to wait for a connection attempt before starting the next address's
   * alongside it; the first to connect wins. Default: one at a time, as the runtime tries them.
   */
  happyEyeballsDelay?: number | null;
  /**
   * Alternates the address families (0: the resolver's order; n: n - 1 of the first family,
   * then one of each in turn). Default 1 with `happyEyeballsDelay`, else 0.
   */
  interleave?: number | null;
  /** When every attempt fails, reject with an `AggregateError` of all their errors. */
  allErrors?: boolean | null;
}

/** Options of `startUnixServer()`; `Listener` is what the runtime accepts as `sock`. */
export interface StartUnixServerOptions<Listener = never> {
  /** The limit of each client's reader (default 65536). */
  limit?: number;
  /** How many connections may wait to be accepted (default 100). */
  backlog?: number;
  /** TLS: options with at least `cert` and `key`; every client does the handshake first. */
  ssl?: TlsOptions | false | null;
  /** Seconds a client's TLS handshake may take (needs `ssl`; default 60). */
  sslHandshakeTimeout?: number | null;
  /**
   * Seconds closing a client's TLS connection waits for its close_notify after sending ours,
   * before it drops the connection (needs `ssl`; default 30).
   */
  sslShutdownTimeout?: number | null;
  /**
   * Whether to serve at once (default true). With false, connections wait until
   * `startServing()` or `serveForever()`.
   */
  startServing?: boolean;
  /** An already listening socket to serve on instead of binding one. */
  sock?: Listener | null;
  /**
   * Hears about a client callback that threw (or whose promise rejected); that client is
   * closed either way. The default logs `'Unhandled exception in client_connected_cb'` and
   * the error with `console.error`, as asyncio's default exception handler does.
   */
  onError?: ClientErrorHandler;
  /**
   * Whether closing the server removes its socket file, if the file at `path` is still the
   * one the server created (default true, as CPython 3.13); false leaves it. Unix servers only.
   */
  cleanupSocket?: boolean | null;
}

/** Options of `startServer()`. */
export interface StartServerOptions<Listener = never> extends Omit<StartUnixServerOptions<Listener>, 'cleanupSocket'> {
  /** Which address family to listen on (default 0: every address the host resolves to). */
  family?: AddressFamily;
  /** `SO_REUSEADDR`; default true, as asyncio's on POSIX. */
  reuseAddress?: boolean | null;
  /** `SO_REUSEPORT`, where the runtime can. */
  reusePort?: boolean | null;
  /** `SO_KEEPALIVE` on every client's connection (default false). */
  keepAlive?: boolean | null;
  /** `getaddrinfo()` flags: 0, or `AI_PASSIVE` (1), which is what a server does anyway. */
  flags?: number | null;
}
