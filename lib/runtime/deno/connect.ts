import { checkConnection, checkUnixConnection, type CheckedConnection } from '../../_checks.ts';
import type { OpenConnectionOptions, OpenUnixConnectionOptions } from '../../options.ts';
import type { StreamPair } from '../../transport.ts';
import { openStreams } from '../../_open-streams.ts';
import type { StreamReader } from '../../stream-reader.ts';
import type { StreamWriter } from '../../stream-writer.ts';
import { denoNamespace, isDenoConn, type DenoConn } from './namespace.ts';
import { DenoSocket, type DenoSocketOptions } from './socket.ts';
import { upgraded } from './tls.ts';

/** What Deno accepts as `sock`: a connected `Deno.Conn`, or any pair of streams. */
export type DenoSock = DenoConn | StreamPair;

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Deno resolves names itself and cannot bind before connecting: refuse what it cannot honour. */
function checkDenoConnection(checked: CheckedConnection): void {
  if (checked.localAddr !== undefined) throw new RangeError('localAddr is not supported on Deno (Deno.connect cannot bind first)');
  if (checked.happyEyeballs !== undefined) throw new RangeError('happyEyeballsDelay, interleave and allErrors are not supported on Deno (Deno.connect() resolves the name itself)');
  const host = checked.host ?? '';
  if (checked.family === 4 && host.includes(':')) throw new RangeError(`family 4 does not match the address ${host}`);
  if (checked.family === 6 && IPV4.test(host)) throw new RangeError(`family 6 does not match the address ${host}`);
  if (checked.family !== 0 && !host.includes(':') && !IPV4.test(host)) {
    throw new RangeError('family is supported on Deno only with an address, not a host name');
  }
}

/**
 * Rejects with the signal's reason when it is aborted first, and then calls `cancel` (which
 * stops what is under way); closes a connection that arrives late.
 */
async function connecting<T extends { close(): unknown }>(connection: Promise<T>, signal: AbortSignal | undefined, cancel?: () => void): Promise<T> {
  if (signal === undefined) return connection;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([connection, aborted]);
  } catch (error) {
    cancel?.();
    connection.then((conn) => void conn.close(), () => {});
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The reader and writer over `sock`; with `checked.tls`, once TLS is up over it. */
async function streamsOver(sock: DenoSock, checked: CheckedConnection): Promise<[StreamReader, StreamWriter]> {
  if (!isDenoConn(sock)) {
    if (checked.tls !== undefined) throw new TypeError('ssl needs sock to be a Deno.Conn, not a pair of streams');
    return openStreams(sock, checked.limit);
  }
  sock.setNoDelay?.(true);
  if (checked.keepAlive) sock.setKeepAlive?.(true);
  return streamsOn(sock, {}, checked);
}

/** The reader and writer over `conn`; with `checked.tls`, once TLS is up over it. */
async function streamsOn(conn: DenoConn, options: DenoSocketOptions, checked: CheckedConnection): Promise<[StreamReader, StreamWriter]> {
  const socket = new DenoSocket(conn, options);
  if (checked.tls === undefined) return openStreams(socket, checked.limit);
  // An abort closes the connection mid-handshake, as on Node, rather than at the handshake timeout.
  const secure = await connecting(upgraded(socket, checked.tls), checked.signal, () => void socket.close());
  return openStreams(secure, checked.limit);
}

/**
 * Opens a TCP connection with `Deno.connect()` and returns its reader and writer (asyncio's
 * `open_connection`); with `ssl`, a TLS connection whose handshake is done before it resolves,
 * through Deno's `node:tls` over the `Deno.Conn` (see `startNodeTls()`: a failed or timed-out
 * handshake closes the TCP connection at once, which Deno's own TLS cannot do).
 * `TCP_NODELAY` is set, as asyncio does. The writer's `transport` is a
 * {@link DenoSocket}, and `getExtraInfo('socket')` the `Deno.Conn`.
 *
 * @param host the name or address to connect to
 * @param port the port
 * @param options `limit`, `ssl`, `serverHostname`, `sslHandshakeTimeout`, `family` (with an
 *   address only), `sock` (a `Deno.Conn`, which `ssl` upgrades, or any
 *   `{ readable, writable }` pair), `signal` (aborts connecting)
 * @returns `[reader, writer]`
 * @throws Deno's connection error (`ConnectionRefused` with `code: 'ECONNREFUSED'`, ...), or the signal's reason
 * @throws {RangeError} for conflicting or missing arguments, and `localAddr`
 * @throws {TypeError} for `ssl` with a `sock` that is a pair of streams
 * @example
 * ```ts
 * import { openConnection } from 'asyncio-streams';
 *
 * const [reader, writer] = await openConnection('127.0.0.1', 8888);
 * writer.write('Hello World!\n');
 * console.log(new TextDecoder().decode(await reader.readline()));
 * writer.close();
 * await writer.waitClosed();
 * ```
 */
export async function openConnection(
  host?: string | null,
  port?: number | string | null,
  options: OpenConnectionOptions<DenoSock> = {},
): Promise<[StreamReader, StreamWriter]> {
  const checked = checkConnection(host, port, options);
  if (options.sock !== undefined && options.sock !== null) {
    return streamsOver(options.sock, checked);
  }
  checkDenoConnection(checked);
  checked.signal?.throwIfAborted();
  const hostname = checked.host ?? 'localhost';
  const portNumber = checked.port ?? 0;
  const connectOptions: { hostname: string; port: number; signal?: AbortSignal } = { hostname, port: portNumber };
  if (checked.signal !== undefined) connectOptions.signal = checked.signal;
  const conn = await connecting(denoNamespace().connect(connectOptions), checked.signal);
  conn.setNoDelay?.(true);
  if (checked.keepAlive) conn.setKeepAlive?.(true);
  // The host name is what TLS (ssl, or a later writer.startTls()) verifies by default, as on Node and Bun.
  return streamsOn(conn, { serverHostname: hostname }, checked);
}

/**
 * Opens a Unix socket connection with `Deno.connect({ transport: 'unix' })` (asyncio's
 * `open_unix_connection`). `getExtraInfo('peername')` is the path, `sockname` is `''`.
 *
 * @param path the socket's path
 * @param options `limit`, `ssl`, `serverHostname` and `sslHandshakeTimeout` (TLS through
 *   Deno's `node:tls`), `sock` (instead of a path), `signal` (aborts connecting)
 * @returns `[reader, writer]`
 * @throws Deno's connection error (`NotFound` with `code: 'ENOENT'`, ...), or the signal's reason
 * @example
 * ```ts
 * const [reader, writer] = await openUnixConnection('/run/app.sock');
 * ```
 */
export async function openUnixConnection(
  path?: string | null,
  options: OpenUnixConnectionOptions<DenoSock> = {},
): Promise<[StreamReader, StreamWriter]> {
  const checked = checkUnixConnection(path, options);
  if (options.sock !== undefined && options.sock !== null) return streamsOver(options.sock, checked);
  const socketPath = checked.host!;
  checked.signal?.throwIfAborted();
  const conn = await connecting(denoNamespace().connect({ transport: 'unix', path: socketPath }), checked.signal);
  return streamsOn(conn, { extra: { peername: socketPath, sockname: '' } }, checked);
}
