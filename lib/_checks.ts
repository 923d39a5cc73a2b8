import type { SocketStartTlsOptions, TlsOptions } from './transport.ts';
import type { Separator } from './_separators.ts';
import type {
  AddressFamily,
  ClientErrorHandler,
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  StartServerOptions,
  StartUnixServerOptions,
} from './options.ts';

/**
 * TLS as the options checks leave it: what a runtime needs to start it.
 */
export interface CheckedTls {
  ssl: true | TlsOptions;
  /** Whether to do the server's side of the handshake. */
  serverSide: boolean;
  /** The name to verify and to send as SNI; `null` for none (only without verification). */
  serverHostname: string | null;
  /** Seconds the handshake may take. */
  handshakeTimeout: number;
  /** Seconds closing waits for the peer's close_notify before it drops the connection. */
  shutdownTimeout: number;
}

// The options each function takes, by name: any other is refused (see `checkOptionNames()`).
// A list per function, not one table: a bundle then keeps only the lists of the functions it
// uses (a reader alone needs two of them).

/** `openUnixConnection()`'s options. */
export const OPEN_UNIX_CONNECTION_OPTIONS = ['limit', 'ssl', 'serverHostname', 'sslHandshakeTimeout', 'sslShutdownTimeout', 'sock', 'signal'] as const;
/** `openConnection()`'s options. */
export const OPEN_CONNECTION_OPTIONS = [
  'limit', 'ssl', 'serverHostname', 'sslHandshakeTimeout', 'sslShutdownTimeout', 'sock', 'signal',
  'family', 'localAddr', 'proto', 'flags', 'happyEyeballsDelay', 'interleave', 'allErrors', 'keepAlive',
] as const;
/** `startUnixServer()`'s options. */
export const START_UNIX_SERVER_OPTIONS = [
  'limit', 'backlog', 'ssl', 'sslHandshakeTimeout', 'sslShutdownTimeout', 'startServing', 'sock', 'onError', 'cleanupSocket',
] as const;
/** `startServer()`'s options. */
export const START_SERVER_OPTIONS = [
  'limit', 'backlog', 'ssl', 'sslHandshakeTimeout', 'sslShutdownTimeout', 'startServing', 'sock', 'onError',
  'family', 'reuseAddress', 'reusePort', 'keepAlive', 'flags',
] as const;
/** `startTls()`'s options. */
export const START_TLS_OPTIONS = ['serverHostname', 'sslHandshakeTimeout', 'sslShutdownTimeout'] as const;
/** The keys of an `ssl` options object. */
export const SSL_OPTIONS = ['ca', 'cert', 'key', 'rejectUnauthorized', 'alpnProtocols'] as const;
/** `new StreamReader()`'s and `StreamReader.from()`'s options. */
export const STREAM_READER_OPTIONS = ['limit'] as const;
/** `StreamWriter.from()`'s options. */
export const STREAM_WRITER_FROM_OPTIONS = ['reader', 'transport', 'extra', 'serverSide'] as const;
/** The options of a call that takes only an abort signal: the reads, `serveForever()`. */
export const SIGNAL_OPTIONS = ['signal'] as const;

/**
 * Refuses an option `functionName` does not take, as Python refuses an unexpected keyword
 * argument: a misspelled or invented option would otherwise be ignored without a word. An
 * option whose value is `undefined` counts as not given, as everywhere in JavaScript.
 *
 * @param options the options object as the caller gave it (`undefined`: none)
 * @param allowed the names `functionName` takes
 * @param functionName how the error names the function (`'openConnection()'`)
 * @throws {TypeError} for options that are not an object, and for a name not in `allowed`
 * @example
 * ```ts
 * checkOptionNames({ limt: 10 }, STREAM_READER_OPTIONS, 'StreamReader()');
 * // TypeError: StreamReader() got an unexpected keyword argument 'limt'
 * ```
 */
export function checkOptionNames(options: unknown, allowed: readonly string[], functionName: string): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${functionName} options must be an object, got ${describe(options)}`);
  }
  // for-in, not Object.keys(): no array per call (reads check their options), and inherited
  // options are read as options too.
  for (const name in options) {
    if ((options as Record<string, unknown>)[name] !== undefined && !allowed.includes(name)) {
      throw new TypeError(`${functionName} got an unexpected keyword argument '${name}'`);
    }
  }
}

const DEFAULT_BACKLOG = 100;
/** `sizeof(sockaddr_un.sun_path)` on Linux (macOS: 104). */
export const UNIX_PATH_MAX = 108;

/** `happyEyeballsDelay`, `interleave` and `allErrors` as the checks leave them (see `connectFirst()`). */
export interface HappyEyeballs {
  /** Seconds before the next address is tried alongside; `undefined`: one at a time. */
  delay: number | undefined;
  /** CPython's `interleave`: 0 keeps the resolver's order, n alternates the families after n - 1. */
  interleave: number;
  allErrors: boolean;
}

/** What is left to do once the options are checked. */
export interface CheckedConnection {
  host: string | undefined;
  port: number | undefined;
  limit: number | undefined;
  family: AddressFamily;
  localAddr: readonly [string, number] | undefined;
  signal: AbortSignal | undefined;
  /** `SO_KEEPALIVE` (TCP only). */
  keepAlive: boolean;
  /** How to try the addresses of the host; `undefined`: as the runtime does. */
  happyEyeballs: HappyEyeballs | undefined;
  /** TLS to start once connected; `undefined` without `ssl`. */
  tls: CheckedTls | undefined;
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
  /** `SO_KEEPALIVE` on each client. */
  keepAlive: boolean;
  /** Whether closing removes the socket file (Unix servers). */
  cleanupSocket: boolean;
  /** TLS to start on each client; `undefined` without `ssl`. */
  tls: CheckedTls | undefined;
}

/** Whether an option was given: neither `undefined` nor `null` (asyncio's `None`). */
export function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Seconds, as asyncio's `SSL_HANDSHAKE_TIMEOUT`. */
const DEFAULT_HANDSHAKE_TIMEOUT = 60;
/** Seconds, as asyncio's `SSL_SHUTDOWN_TIMEOUT`. */
const DEFAULT_SHUTDOWN_TIMEOUT = 30;

const NO_HOST = 'You must set serverHostname when using ssl without a host';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : String(value);
}

/**
 * Whether `value` is a `Uint8Array` of this realm or of another one (an iframe's, a `vm`
 * context's), which `instanceof` alone refuses: the bytes are the same.
 *
 * @example
 * ```ts
 * isUint8Array(new Uint8Array(4)); // true
 * isUint8Array(new Uint16Array(4)); // false
 * ```
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]');
}

function isPem(value: unknown): boolean {
  return typeof value === 'string' || isUint8Array(value);
}

function checkTlsFields(ssl: Record<string, unknown>): void {
  checkOptionNames(ssl, SSL_OPTIONS, 'ssl');
  const { ca, cert, key, rejectUnauthorized, alpnProtocols } = ssl;
  if (ca !== undefined && !isPem(ca) && !(Array.isArray(ca) && ca.every(isPem))) {
    throw new TypeError(`ssl.ca must be PEM text (a string or bytes) or an array of them, got ${describe(ca)}`);
  }
  if (cert !== undefined && !isPem(cert)) throw new TypeError(`ssl.cert must be PEM text (a string or bytes), got ${describe(cert)}`);
  if (key !== undefined && !isPem(key)) throw new TypeError(`ssl.key must be PEM text (a string or bytes), got ${describe(key)}`);
  if (rejectUnauthorized !== undefined && typeof rejectUnauthorized !== 'boolean') {
    throw new TypeError(`ssl.rejectUnauthorized must be a boolean, got ${describe(rejectUnauthorized)}`);
  }
  if (alpnProtocols !== undefined) {
    if (!Array.isArray(alpnProtocols) || !alpnProtocols.every((name) => typeof name === 'string')) {
      throw new TypeError(`ssl.alpnProtocols must be an array of strings, got ${describe(alpnProtocols)}`);
    }
    // RFC 7301: each name is 1 to 255 bytes.
    for (const name of alpnProtocols as string[]) {
      const length = new TextEncoder().encode(name).byteLength;
      if (length === 0 || length > 255) throw new RangeError(`ssl.alpnProtocols: '${name}' must be 1 to 255 bytes long`);
    }
  }
}

/** `ssl` itself: `true` or TLS options; a server needs `cert` and `key`. */
function checkSsl(ssl: unknown, serverSide: boolean): true | TlsOptions {
  if (ssl === true) {
    // CPython's create_server refuses anything but an SSLContext the same way.
    if (serverSide) throw new TypeError('A server needs ssl options with cert and key, not ssl: true');
    return true;
  }
  if (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl)) {
    throw new TypeError(`ssl must be true or TLS options ({ ca, cert, key, rejectUnauthorized, alpnProtocols }), got ${describe(ssl)}`);
  }
  checkTlsFields(ssl as Record<string, unknown>);
  const options = ssl as TlsOptions;
  if (serverSide && (options.cert === undefined || options.key === undefined)) {
    throw new RangeError('Server side SSL needs ssl.cert and ssl.key');
  }
  return options;
}

/** `sslHandshakeTimeout` or `sslShutdownTimeout`: seconds, `fallback` when not given. */
function checkTimeout(timeout: unknown, name: string, fallback: number): number {
  if (!given(timeout)) return fallback;
  if (typeof timeout !== 'number') throw new TypeError(`${name} must be a number of seconds, got ${describe(timeout)}`);
  // CPython's check (sslproto.SSLProtocol), NaN included.
  if (!(timeout > 0)) throw new RangeError(`${name} should be a positive number, got ${timeout}`);
  return timeout;
}

/**
 * The name a client verifies: `serverHostname`, else `host`. `''` (or a leading dot) is refused
 * while the certificate is verified, as CPython's `ssl` module refuses it; without verification
 * `''` means no name at all.
 */
function checkServerHostname(
  serverHostname: unknown,
  ssl: true | TlsOptions,
  host: string | null | undefined,
  missingHost: string,
): string | null {
  if (given(serverHostname) && typeof serverHostname !== 'string') {
    throw new TypeError(`serverHostname must be a string, got ${describe(serverHostname)}`);
  }
  const name = (serverHostname as string | null | undefined) ?? host;
  if (name === null || name === undefined) throw new RangeError(missingHost);
  const verifying = ssl === true || ssl.rejectUnauthorized !== false;
  if (name === '' && !verifying) return null;
  if (name === '' || name.startsWith('.')) {
    throw new RangeError('serverHostname cannot be an empty string or start with a leading dot.');
  }
  return name;
}

/**
 * Checks the arguments of a TLS upgrade (`startTls()`) as CPython does.
 *
 * @param ssl `true` or TLS options
 * @param options `serverHostname`, `sslHandshakeTimeout` (seconds, default 60) and
 *   `sslShutdownTimeout` (seconds, default 30)
 * @param serverSide whether this end does the server's handshake
 * @param host the name the connection was opened with, the default `serverHostname`
 * @param missingHost the message when there is neither
 * @returns what the runtime needs
 * @throws {TypeError} for values of the wrong type, and `ssl: true` on a server
 * @throws {RangeError} for a server without `cert` and `key`, a client without a name to verify,
 *   an empty `serverHostname` while verifying, a timeout that is not positive
 */
export function checkStartTls(
  ssl: unknown,
  options: { serverHostname?: unknown; sslHandshakeTimeout?: unknown; sslShutdownTimeout?: unknown },
  serverSide: boolean,
  host: string | null | undefined,
  missingHost: string = NO_HOST,
): CheckedTls {
  const checkedSsl = checkSsl(ssl, serverSide);
  const handshakeTimeout = checkTimeout(options.sslHandshakeTimeout, 'sslHandshakeTimeout', DEFAULT_HANDSHAKE_TIMEOUT);
  const shutdownTimeout = checkTimeout(options.sslShutdownTimeout, 'sslShutdownTimeout', DEFAULT_SHUTDOWN_TIMEOUT);
  // A server has no name to check (CPython ignores server_hostname on the server side).
  const serverHostname = serverSide ? null : checkServerHostname(options.serverHostname, checkedSsl, host, missingHost);
  return { ssl: checkedSsl, serverSide, serverHostname, handshakeTimeout, shutdownTimeout };
}

/** The options of `tls`, `ssl: true` being `{}`. */
export function tlsOptionsOf(tls: CheckedTls): TlsOptions {
  return tls.ssl === true ? {} : tls.ssl;
}

/**
 * What a socket's `startTls()` takes to start the TLS that `tls` describes (the connection
 * functions start TLS that way on every runtime).
 */
export function startTlsOptionsOf(tls: CheckedTls): SocketStartTlsOptions {
  return {
    ssl: tls.ssl,
    serverSide: tls.serverSide,
    // null is the name checks' "none" (only allowed without verification): '' to startTls().
    serverHostname: tls.serverHostname ?? '',
    sslHandshakeTimeout: tls.handshakeTimeout,
    sslShutdownTimeout: tls.shutdownTimeout,
  };
}

/** CPython's checks of the TLS options of a connection function; `undefined` without `ssl`. */
function checkTls(
  options: { ssl?: unknown; serverHostname?: unknown; sslHandshakeTimeout?: unknown; sslShutdownTimeout?: unknown },
  serverSide: boolean,
  host: string | undefined,
  missingHost?: string,
): CheckedTls | undefined {
  const ssl = options.ssl;
  if (ssl === undefined || ssl === null || ssl === false) {
    // The TLS options startTls() takes are the ones that need ssl.
    for (const name of START_TLS_OPTIONS) {
      if (given(options[name])) throw new RangeError(`${name} is only meaningful with ssl`);
    }
    return undefined;
  }
  return checkStartTls(ssl, options, serverSide, host, missingHost);
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

/** An IPv4 address written out (`127.0.0.1`); an IPv6 one is told by its colon. */
const IPV4_ADDRESS = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * The family of `host` when it is an address (4 or 6), 0 for a name.
 *
 * @example
 * ```ts
 * addressFamily('::1'); // 6
 * addressFamily('localhost'); // 0
 * ```
 */
export function addressFamily(host: string): AddressFamily {
  return host.includes(':') ? 6 : IPV4_ADDRESS.test(host) ? 4 : 0;
}

/**
 * Refuses a host no address can come from, as CPython's `getaddrinfo()` does where the
 * runtimes would go on (Node connects to `''` as `localhost`, and connects or listens on an
 * address of the other family than `family` asks for): `''` in a list of hosts or as a
 * client's host (EAI_NONAME, with Node's code `ENOTFOUND`), and an address of the other family
 * (`EAI_ADDRFAMILY`).
 */
function checkHost(host: string, family: AddressFamily): void {
  if (host === '') throw Object.assign(new Error('getaddrinfo ENOTFOUND: an empty host name'), { code: 'ENOTFOUND' });
  const given = addressFamily(host);
  if (family !== 0 && given !== 0 && given !== family) {
    throw Object.assign(new Error(`getaddrinfo EAI_ADDRFAMILY ${host}: Address family for hostname not supported (family ${family})`), {
      code: 'EAI_ADDRFAMILY',
    });
  }
}

function checkFamily(family: unknown): AddressFamily {
  if (!given(family)) return 0;
  if (family !== 0 && family !== 4 && family !== 6) {
    throw new RangeError(`family must be 0, 4 or 6, got ${String(family)}`);
  }
  return family;
}

/**
 * A reader's `limit`: a number above 0, CPython's check with its messages; `fallback` when not
 * given (`undefined`).
 *
 * @throws {TypeError} for a limit that is not a number, or NaN
 * @throws {RangeError} for a limit of 0 or less
 * @example
 * ```ts
 * checkLimit(undefined, 65536); // 65536
 * checkLimit(0, 65536); // RangeError: Limit cannot be <= 0
 * ```
 */
export function checkLimit<Fallback extends number | undefined>(limit: unknown, fallback: Fallback): number | Fallback {
  if (limit === undefined) return fallback;
  if (typeof limit !== 'number' || Number.isNaN(limit)) throw new TypeError(`Limit must be a number, got ${typeof limit === 'number' ? limit : typeof limit}`);
  if (limit <= 0) throw new RangeError('Limit cannot be <= 0');
  return limit;
}

/** `SOCK_STREAM` over IP is TCP: 0 (the default) and `IPPROTO_TCP` say so; anything else cannot be. */
const IPPROTO_TCP = 6;
/** `getaddrinfo()`'s `AI_PASSIVE` (1 on Linux and macOS): addresses to bind, what a server resolves anyway. */
const AI_PASSIVE = 1;

function checkProto(proto: unknown): void {
  if (!given(proto)) return;
  if (typeof proto !== 'number') throw new TypeError(`proto must be a number, got ${describe(proto)}`);
  if (proto !== 0 && proto !== IPPROTO_TCP) {
    throw new RangeError(`proto ${proto} is not supported: a stream connection is TCP (proto 0 or IPPROTO_TCP, 6)`);
  }
}

/** `flags` of `getaddrinfo()`: none of them can be passed on to the runtimes' resolvers. */
function checkFlags(flags: unknown, serverSide: boolean): void {
  if (!given(flags)) return;
  if (typeof flags !== 'number') throw new TypeError(`flags must be a number, got ${describe(flags)}`);
  if (flags === 0 || (serverSide && flags === AI_PASSIVE)) return;
  throw new RangeError(
    `flags ${flags} is not supported: the runtimes resolve names without getaddrinfo() flags (0${serverSide ? ' or AI_PASSIVE, 1' : ''} only)`,
  );
}

/**
 * `happyEyeballsDelay`, `interleave` and `allErrors`; `undefined` when none asks for anything
 * (the runtime then connects as it does). As CPython, a delay without `interleave` interleaves.
 */
function checkHappyEyeballs(options: OpenConnectionOptions<unknown>): HappyEyeballs | undefined {
  const { happyEyeballsDelay: delay, interleave, allErrors } = options;
  if (given(delay) && (typeof delay !== 'number' || !(delay >= 0))) {
    throw new (typeof delay === 'number' ? RangeError : TypeError)(`happyEyeballsDelay must be a number of seconds >= 0, got ${describe(delay)}`);
  }
  if (given(interleave) && (typeof interleave !== 'number' || !Number.isInteger(interleave) || interleave < 0)) {
    throw new (typeof interleave === 'number' ? RangeError : TypeError)(`interleave must be an integer >= 0, got ${describe(interleave)}`);
  }
  const all = checkBoolean(allErrors, 'allErrors', false);
  if (!given(delay) && !given(interleave) && !all) return undefined;
  return {
    delay: given(delay) ? (delay as number) : undefined,
    interleave: given(interleave) ? (interleave as number) : given(delay) ? 1 : 0,
    allErrors: all,
  };
}

function checkBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (!given(value)) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new TypeError('The signal option must be an AbortSignal');
  return signal;
}

/**
 * The options of a call that takes only `{ signal }` (every read, `serveForever()`): their
 * names first, then the signal.
 *
 * @param options the options as the caller gave them (`undefined`: none)
 * @param allowed the names `functionName` takes (`SIGNAL_OPTIONS`)
 * @param functionName how the error names the function (`'readline()'`)
 * @returns the signal, if one was given
 * @throws {TypeError} for an option it does not take, or a `signal` that is not an AbortSignal
 * @example
 * ```ts
 * const signal = checkSignalOptions({ signal: AbortSignal.timeout(1000) }, SIGNAL_OPTIONS, 'read()');
 * ```
 */
export function checkSignalOptions(options: unknown, allowed: readonly string[], functionName: string): AbortSignal | undefined {
  checkOptionNames(options, allowed, functionName);
  return checkSignal((options as { signal?: unknown } | undefined)?.signal);
}

/**
 * Checks `openConnection()`'s arguments as CPython's `create_connection()` does, before anything
 * is opened.
 *
 * @throws {RangeError} for conflicting or missing addresses, a bad limit, family or port, and
 *   values no adapter supports (a `proto` other than TCP, `flags`)
 * @throws {TypeError} for an option it does not take, and values of the wrong type
 * @throws {RangeError} or {TypeError} for TLS options CPython refuses (see `checkStartTls()`)
 * @throws {Error} (code `ENOTFOUND`, `EAI_ADDRFAMILY`) for a host no address can come from
 *   (see `checkHost()`)
 */
export function checkConnection(host: unknown, port: unknown, options: OpenConnectionOptions<unknown>): CheckedConnection {
  checkOptionNames(options, OPEN_CONNECTION_OPTIONS, 'openConnection()');
  const limit = checkLimit(options.limit, undefined);
  checkProto(options.proto);
  checkFlags(options.flags, false);
  // CPython: `if not host` means no name to default serverHostname to.
  const tls = checkTls(options, false, typeof host === 'string' && host !== '' ? host : undefined);
  const checkedPort = checkPort(port, 'port');
  if (given(host) && typeof host !== 'string') throw new TypeError(`host must be a string, got ${typeof host}`);
  if (given(options.sock)) {
    if (given(host) || given(port)) throw new RangeError('host/port and sock can not be specified at the same time');
  } else if (!given(host) && !given(port)) {
    throw new RangeError('host and port was not specified and no sock specified');
  }
  const family = checkFamily(options.family);
  if (given(host)) checkHost(host as string, family);
  return {
    host: given(host) ? (host as string) : undefined,
    port: checkedPort,
    limit,
    family,
    localAddr: checkLocalAddr(options.localAddr),
    signal: checkSignal(options.signal),
    keepAlive: checkBoolean(options.keepAlive, 'keepAlive', false),
    happyEyeballs: checkHappyEyeballs(options),
    tls,
  };
}

/** `[host, port]` to bind a client to, its port a number (`'0'` is taken, as for `port`). */
function checkLocalAddr(localAddr: unknown): readonly [string, number] | undefined {
  if (!given(localAddr)) return undefined;
  if (!Array.isArray(localAddr) || localAddr.length !== 2 || typeof localAddr[0] !== 'string') {
    throw new TypeError('localAddr must be a [host, port] pair');
  }
  return [localAddr[0], checkPort(localAddr[1], 'localAddr port') ?? 0];
}

/**
 * A Unix socket path: a string, not empty (Node would take `''` for "no path" and try TCP),
 * and short enough for `sockaddr_un` (108 bytes on Linux, NUL included), which the kernel
 * would otherwise truncate silently, binding or reaching another path (CPython raises
 * `OSError('AF_UNIX path too long')`).
 */
function checkUnixPath(path: unknown): void {
  if (!given(path)) return;
  if (typeof path !== 'string') throw new TypeError(`path must be a string, got ${typeof path}`);
  if (path.length === 0) throw new RangeError('path must not be empty');
  if (new TextEncoder().encode(path).length >= UNIX_PATH_MAX) {
    throw Object.assign(new Error(`AF_UNIX path too long: ${path}`), { code: 'ENAMETOOLONG' });
  }
}

/**
 * Checks `openUnixConnection()`'s arguments.
 *
 * @throws {RangeError} for a path together with `sock`, or neither; `ssl` without `serverHostname`
 * @throws {TypeError} for an option it does not take, and values of the wrong type
 */
export function checkUnixConnection(path: unknown, options: OpenUnixConnectionOptions<unknown>): CheckedConnection {
  checkOptionNames(options, OPEN_UNIX_CONNECTION_OPTIONS, 'openUnixConnection()');
  const limit = checkLimit(options.limit, undefined);
  // CPython's create_unix_connection wants the name given, a path being no host name.
  const tls = checkTls(options, false, undefined, 'you have to pass serverHostname when using ssl');
  checkUnixPath(path);
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
    keepAlive: false,
    happyEyeballs: undefined,
    tls,
  };
}

/**
 * Checks `startServer()`'s arguments as CPython's `create_server()` does.
 *
 * @throws {RangeError} for conflicting addresses, a bad limit, family, port or backlog, and
 *   `flags` other than 0 or `AI_PASSIVE`
 * @throws {TypeError} for an option it does not take, values of the wrong type, and `ssl: true`
 *   (a server needs its certificate)
 * @throws {RangeError} for `ssl` without `cert` and `key`
 * @throws {Error} for an empty list of hosts, and (code `ENOTFOUND`, `EAI_ADDRFAMILY`) for a
 *   host no address can come from (see `checkHost()`)
 */
export function checkServer(
  host: unknown,
  port: unknown,
  options: StartServerOptions<unknown>,
): CheckedServer {
  checkOptionNames(options, START_SERVER_OPTIONS, 'startServer()');
  const limit = checkLimit(options.limit, undefined);
  checkFlags(options.flags, true);
  const tls = checkTls(options, true, undefined);
  const checkedPort = checkPort(port, 'port');
  const hosts = !given(host) || host === '' ? undefined : typeof host === 'string' ? [host] : host;
  if (hosts !== undefined && (!Array.isArray(hosts) || hosts.some((item) => typeof item !== 'string'))) {
    throw new TypeError('host must be a string or an array of strings');
  }
  // CPython: OSError('could not bind on any address out of []'); a server listening on nothing.
  if (hosts?.length === 0) throw new Error('could not bind on any address out of []');
  const family = checkFamily(options.family);
  for (const item of hosts ?? []) checkHost(item as string, family);
  if (given(options.sock)) {
    if (given(host) || given(port)) throw new RangeError('host/port and sock can not be specified at the same time');
  } else if (!given(host) && !given(port)) {
    throw new RangeError('Neither host/port nor sock were specified');
  }
  return {
    ...checkServing(options),
    keepAlive: checkBoolean(options.keepAlive, 'keepAlive', false),
    cleanupSocket: false,
    hosts: hosts as string[] | undefined,
    port: checkedPort ?? 0,
    limit,
    family,
    tls,
  };
}

/**
 * Checks `startUnixServer()`'s arguments.
 *
 * @throws {RangeError} for a path together with `sock`, or neither; a bad limit or backlog;
 *   `ssl` without `cert` and `key`
 * @throws {TypeError} for an option it does not take, values of the wrong type, and `ssl: true`
 */
export function checkUnixServer(path: unknown, options: StartUnixServerOptions<unknown>): CheckedServer {
  checkOptionNames(options, START_UNIX_SERVER_OPTIONS, 'startUnixServer()');
  const limit = checkLimit(options.limit, undefined);
  const tls = checkTls(options, true, undefined);
  checkUnixPath(path);
  if (given(options.sock)) {
    if (given(path)) throw new RangeError('path and sock can not be specified at the same time');
  } else if (!given(path)) {
    throw new RangeError('path was not specified, and no sock specified');
  }
  const cleanupSocket = checkBoolean(options.cleanupSocket, 'cleanupSocket', true);
  // Node, Bun and Deno remove the file of a listener they bound as it closes, with no way to
  // say no: a `sock` of theirs cannot keep it.
  if (given(options.sock) && !cleanupSocket) {
    throw new RangeError('cleanupSocket: false is not supported with sock: the runtime removes the socket file of its listener as it closes');
  }
  return {
    ...checkServing(options),
    keepAlive: false,
    cleanupSocket,
    hosts: given(path) ? [path as string] : undefined,
    port: 0,
    limit,
    family: 0,
    tls,
  };
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

/**
 * A read's size `n`: an integer (any sign; each read says what a negative one means).
 *
 * @param functionName how the error names the read (`'read'`)
 * @throws {TypeError} when `n` is not an integer
 * @example
 * ```ts
 * checkSize('read', 1.5); // TypeError: read() size must be an integer, got 1.5
 * ```
 */
export function checkSize(functionName: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new TypeError(`${functionName}() size must be an integer, got ${typeof n === 'number' ? n : typeof n}`);
  }
  return n;
}

/**
 * `readexactly()`'s `n`, in CPython's order: the type first, then the sign.
 *
 * @throws {TypeError} when `n` is not an integer
 * @throws {RangeError} when `n` is negative
 * @example
 * ```ts
 * checkExactSize(-1); // RangeError: readexactly size can not be less than zero
 * ```
 */
export function checkExactSize(n: unknown): number {
  if (checkSize('readexactly', n) < 0) throw new RangeError('readexactly size can not be less than zero');
  return n as number;
}

/**
 * The bytes of `view` as a `Uint8Array` over the same memory: any `ArrayBufferView` (a typed
 * array of any element size, a `DataView`, a Node `Buffer`) receives bytes.
 *
 * @param functionName how the error names the read (`'readinto'`)
 * @throws {TypeError} when `view` is not an `ArrayBufferView`
 * @example
 * ```ts
 * checkView('readinto', new Uint32Array(4)).byteLength; // 16
 * ```
 */
export function checkView(functionName: string, view: unknown): Uint8Array {
  if (isUint8Array(view)) return view;
  if (!ArrayBuffer.isView(view)) {
    throw new TypeError(`${functionName}() needs an ArrayBufferView such as a Uint8Array, got ${describeKind(view)}`);
  }
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Bytes fed to a reader (`feedData()`): a `Uint8Array`.
 *
 * @throws {TypeError} for anything else
 * @example
 * ```ts
 * checkFedData('text'); // TypeError: feedData() data must be a Uint8Array, got string
 * ```
 */
export function checkFedData(data: unknown): Uint8Array {
  if (!isUint8Array(data)) throw new TypeError(`feedData() data must be a Uint8Array, got ${typeof data}`);
  return data;
}

const encoder = new TextEncoder();

/**
 * Bytes to write (`write()`, each chunk of `writelines()`): a `Uint8Array`, or a string sent as
 * UTF-8. The message is CPython's.
 *
 * @throws {TypeError} for anything else
 * @example
 * ```ts
 * checkWriteData('PING\r\n').byteLength; // 6
 * ```
 */
export function checkWriteData(data: unknown): Uint8Array {
  if (isUint8Array(data)) return data;
  if (typeof data === 'string') return encoder.encode(data);
  throw new TypeError(`data argument must be a Uint8Array or a string, not ${describeKind(data)}`);
}

/**
 * `writelines()`'s argument: an iterable (its chunks are checked by `checkWriteData()`).
 *
 * @throws {TypeError} for anything that is not iterable
 * @example
 * ```ts
 * checkLines(['a', 'b']);
 * ```
 */
export function checkLines(lines: unknown): Iterable<unknown> {
  if (typeof (lines as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`writelines() needs an iterable of Uint8Array or string: ${describeKind(lines)} is not iterable`);
  }
  return lines as Iterable<unknown>;
}

/**
 * What `StreamReader.from()` reads: a `ReadableStream` (anything with `getReader()`).
 *
 * @throws {TypeError} for anything else
 * @example
 * ```ts
 * checkReadable(new Response('x').body);
 * ```
 */
export function checkReadable(readable: unknown): ReadableStream<Uint8Array> {
  if (typeof (readable as { getReader?: unknown } | null)?.getReader !== 'function') {
    throw new TypeError('StreamReader.from() needs a ReadableStream');
  }
  return readable as ReadableStream<Uint8Array>;
}

/**
 * What `StreamWriter.from()` writes to: a `WritableStream` (anything with `getWriter()`).
 *
 * @throws {TypeError} for anything else
 * @example
 * ```ts
 * checkWritable(new WritableStream());
 * ```
 */
export function checkWritable(writable: unknown): WritableStream<Uint8Array> {
  if (typeof (writable as { getWriter?: unknown } | null)?.getWriter !== 'function') {
    throw new TypeError('StreamWriter.from() needs a WritableStream');
  }
  return writable as WritableStream<Uint8Array>;
}

/** The type of `value` for a message: a class name for objects, as CPython's `type(x).__name__`. */
function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

function separatorBytes(separator: unknown): Uint8Array {
  if (isUint8Array(separator)) return separator;
  if (typeof separator === 'string') return encoder.encode(separator);
  throw new TypeError(`Separator must be a Uint8Array or a string, got ${describeKind(separator)}`);
}

const EMPTY_SEPARATOR = 'Separator should be at least one-byte string';

let lastText = '\n';
let lastEncoded: readonly Uint8Array[] = [encoder.encode(lastText)];

/**
 * `readuntil()`'s separator, checked and encoded: its separators sorted by length, shortest
 * first, as CPython 3.13 does with a tuple (the order decides which of two matches ending at
 * the same byte is reported against the limit). Messages are CPython's.
 *
 * @throws {TypeError} for a separator (or an element) that is neither bytes nor a string
 * @throws {RangeError} for an empty separator or an empty array
 * @example
 * ```ts
 * checkSeparator(['\r\n', '\n']); // the bytes of '\n', then of '\r\n'
 * ```
 */
export function checkSeparator(separator: Separator): readonly Uint8Array[] {
  if (typeof separator === 'string') {
    // Protocol code calls readuntil('\r\n') in a loop: skip re-encoding the same text.
    if (separator !== lastText) {
      lastEncoded = [encoder.encode(separator)];
      lastText = separator;
    }
    if (separator.length === 0) throw new RangeError(EMPTY_SEPARATOR);
    return lastEncoded;
  }
  let separators: Uint8Array[];
  if (Array.isArray(separator)) {
    if (separator.length === 0) throw new RangeError('Separator should contain at least one element');
    separators = separator.map(separatorBytes).sort((a, b) => a.length - b.length);
  } else {
    separators = [separatorBytes(separator)];
  }
  if (separators[0]!.length === 0) throw new RangeError(EMPTY_SEPARATOR);
  return separators;
}
