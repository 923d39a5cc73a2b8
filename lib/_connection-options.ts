import type { ClientErrorHandler } from './_client-callback.js';

/** Any connection given as a pair of streams (a Deno connection, an in-memory pipe, ...). */
export interface StreamPair {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** TLS options (`ssl`); not supported yet, so any truthy `ssl` is refused. */
export interface TlsOptions {
  ca?: string | string[];
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  alpnProtocols?: string[];
}

/** `0` (either), `4` (IPv4 only) or `6` (IPv6 only). */
export type AddressFamily = 0 | 4 | 6;

/** Options of `openUnixConnection()`; `Sock` is what the runtime accepts as `sock`. */
export interface OpenUnixConnectionOptions<Sock = StreamPair> {
  /** The reader's limit (default 65536). */
  limit?: number;
  /** TLS: not supported yet. */
  ssl?: boolean | TlsOptions | null;
  /** The name to check the server's certificate against (needs `ssl`). */
  serverHostname?: string | null;
  /** Seconds the TLS handshake may take (needs `ssl`). */
  sslHandshakeTimeout?: number | null;
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
}

/** Options of `startUnixServer()`; `Listener` is what the runtime accepts as `sock`. */
export interface StartUnixServerOptions<Listener = never> {
  /** The limit of each client's reader (default 65536). */
  limit?: number;
  /** How many connections may wait to be accepted (default 100). */
  backlog?: number;
  /** TLS: not supported yet. */
  ssl?: boolean | TlsOptions | null;
  /** Seconds the TLS handshake may take (needs `ssl`). */
  sslHandshakeTimeout?: number | null;
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
}

/** Options of `startServer()`. */
export interface StartServerOptions<Listener = never> extends StartUnixServerOptions<Listener> {
  /** Which address family to listen on (default 0: every address the host resolves to). */
  family?: AddressFamily;
  /** `SO_REUSEADDR`; default true, as asyncio's on POSIX. */
  reuseAddress?: boolean | null;
  /** `SO_REUSEPORT`, where the runtime can. */
  reusePort?: boolean | null;
}

const DEFAULT_BACKLOG = 100;

/** What is left to do once the options are checked. */
export interface CheckedConnection {
  host: string | undefined;
  port: number | undefined;
  limit: number | undefined;
  family: AddressFamily;
  localAddr: readonly [string, number] | undefined;
  signal: AbortSignal | undefined;
}

/** What is left to do once the server options are checked. */
export interface CheckedServer {
  hosts: string[] | undefined;
  port: number;
  limit: number | undefined;
  family: AddressFamily;
  backlog: number;
  startServing: boolean;
  onError: ClientErrorHandler | undefined;
}

function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** CPython's checks of the TLS options; TLS itself is not there yet. */
function checkTls(options: { ssl?: unknown; serverHostname?: unknown; sslHandshakeTimeout?: unknown }): void {
  if (given(options.serverHostname) && !options.ssl) {
    throw new RangeError('serverHostname is only meaningful with ssl');
  }
  if (given(options.sslHandshakeTimeout) && !options.ssl) {
    throw new RangeError('sslHandshakeTimeout is only meaningful with ssl');
  }
  if (options.ssl) throw new Error('TLS (the ssl option) is not supported yet');
}

function checkPort(port: unknown, what: string): number | undefined {
  if (!given(port)) return undefined;
  const value = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${what} must be an integer, got ${typeof port === 'string' ? `'${port}'` : String(port)}`);
  }
  if (value < 0 || value > 65535) throw new RangeError(`${what} must be between 0 and 65535, got ${value}`);
  return value;
}

function checkFamily(family: unknown): AddressFamily {
  if (!given(family)) return 0;
  if (family !== 0 && family !== 4 && family !== 6) {
    throw new RangeError(`family must be 0, 4 or 6, got ${String(family)}`);
  }
  return family;
}

function checkLimit(limit: unknown): number | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit !== 'number' || Number.isNaN(limit)) throw new TypeError(`Limit must be a number, got ${typeof limit}`);
  if (limit <= 0) throw new RangeError('Limit cannot be <= 0');
  return limit;
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError('The signal option must be an AbortSignal');
  return signal;
}

/**
 * Checks `openConnection()`'s arguments as CPython's `create_connection()` does, before anything
 * is opened.
 *
 * @throws {RangeError} for conflicting or missing addresses, a bad limit, family or port
 * @throws {TypeError} for values of the wrong type
 * @throws {Error} for `ssl`, not supported yet
 */
export function checkConnection(host: unknown, port: unknown, options: OpenConnectionOptions<unknown>): CheckedConnection {
  const limit = checkLimit(options.limit);
  checkTls(options);
  const checkedPort = checkPort(port, 'port');
  if (given(host) && typeof host !== 'string') throw new TypeError(`host must be a string, got ${typeof host}`);
  if (given(options.sock)) {
    if (given(host) || given(port)) throw new RangeError('host/port and sock can not be specified at the same time');
  } else if (!given(host) && !given(port)) {
    throw new RangeError('host and port was not specified and no sock specified');
  }
  const localAddr = options.localAddr ?? undefined;
  if (localAddr !== undefined && (!Array.isArray(localAddr) || typeof localAddr[0] !== 'string')) {
    throw new TypeError('localAddr must be a [host, port] pair');
  }
  if (localAddr !== undefined) checkPort(localAddr[1], 'localAddr port');
  return {
    host: given(host) ? (host as string) : undefined,
    port: checkedPort,
    limit,
    family: checkFamily(options.family),
    localAddr,
    signal: checkSignal(options.signal),
  };
}

/**
 * Checks `openUnixConnection()`'s arguments.
 *
 * @throws {RangeError} for a path together with `sock`, or neither
 */
export function checkUnixConnection(path: unknown, options: OpenUnixConnectionOptions<unknown>): CheckedConnection {
  const limit = checkLimit(options.limit);
  checkTls(options);
  if (given(path) && typeof path !== 'string') throw new TypeError(`path must be a string, got ${typeof path}`);
  if (given(options.sock)) {
    if (given(path)) throw new RangeError('path and sock can not be specified at the same time');
  } else if (!given(path)) {
    throw new RangeError('no path and sock were specified');
  }
  return {
    host: given(path) ? (path as string) : undefined,
    port: undefined,
    limit,
    family: 0,
    localAddr: undefined,
    signal: checkSignal(options.signal),
  };
}

/**
 * Checks `startServer()`'s arguments as CPython's `create_server()` does.
 *
 * @throws {RangeError} for conflicting addresses, a bad limit, family, port or backlog
 * @throws {TypeError} for values of the wrong type
 * @throws {Error} for `ssl`, not supported yet
 */
export function checkServer(
  host: unknown,
  port: unknown,
  options: StartServerOptions<unknown>,
): CheckedServer {
  const limit = checkLimit(options.limit);
  checkTls(options);
  const checkedPort = checkPort(port, 'port');
  const hosts = !given(host) || host === '' ? undefined : typeof host === 'string' ? [host] : host;
  if (hosts !== undefined && (!Array.isArray(hosts) || hosts.some((item) => typeof item !== 'string'))) {
    throw new TypeError('host must be a string or an array of strings');
  }
  if (given(options.sock)) {
    if (given(host) || given(port)) throw new RangeError('host/port and sock can not be specified at the same time');
  } else if (!given(host) && !given(port)) {
    throw new RangeError('Neither host/port nor sock were specified');
  }
  return { ...checkServing(options), hosts: hosts as string[] | undefined, port: checkedPort ?? 0, limit, family: checkFamily(options.family) };
}

/**
 * Checks `startUnixServer()`'s arguments.
 *
 * @throws {RangeError} for a path together with `sock`, or neither; a bad limit or backlog
 * @throws {Error} for `ssl`, not supported yet
 */
export function checkUnixServer(path: unknown, options: StartUnixServerOptions<unknown>): CheckedServer {
  const limit = checkLimit(options.limit);
  checkTls(options);
  if (given(path) && typeof path !== 'string') throw new TypeError(`path must be a string, got ${typeof path}`);
  if (given(options.sock)) {
    if (given(path)) throw new RangeError('path and sock can not be specified at the same time');
  } else if (!given(path)) {
    throw new RangeError('path was not specified, and no sock specified');
  }
  return { ...checkServing(options), hosts: given(path) ? [path as string] : undefined, port: 0, limit, family: 0 };
}

function checkServing(options: StartUnixServerOptions<unknown>): Pick<CheckedServer, 'backlog' | 'startServing' | 'onError'> {
  const backlog = options.backlog ?? DEFAULT_BACKLOG;
  if (typeof backlog !== 'number' || !Number.isInteger(backlog) || backlog < 0) {
    throw new RangeError(`backlog must be an integer >= 0, got ${String(backlog)}`);
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new TypeError('onError must be a function');
  }
  return { backlog, startServing: options.startServing ?? true, onError: options.onError };
}
