import { abortable } from '../../_abortable.ts';
import { checkConnection, checkUnixConnection, type CheckedConnection } from '../../_checks.ts';
import { checkDenoFamily } from './family.ts';
import { connectStreams } from '../../_connect.ts';
import { connectHappyEyeballs } from '../../_happy-eyeballs.ts';
import type { OpenConnectionOptions, OpenUnixConnectionOptions } from '../../options.ts';
import type { StreamPair } from '../../transport.ts';
import type { StreamReader } from '../../stream-reader.ts';
import type { StreamWriter } from '../../stream-writer.ts';
import { resolveAll } from '../node/resolve.ts';
import { denoNamespace, isDenoConn, type DenoConn } from './namespace.ts';
import { DenoSocket } from './socket.ts';
import { startTlsAsAsked } from '../_socket.ts';

/** What Deno accepts as `sock`: a connected `Deno.Conn`, or any pair of streams. */
export type DenoSock = DenoConn | StreamPair;

/** What `ssl` needs `sock` to be, as the error says. */
const SOCKET_NAME = 'a Deno.Conn';

function ignore(): void {}

/** Deno resolves names itself and cannot bind before connecting: refuse what it cannot honour. */
function checkDenoConnection(checked: CheckedConnection): void {
  if (checked.localAddr !== undefined) throw new RangeError('localAddr is not supported on Deno (Deno.connect cannot bind first)');
  // No host is the loopback addresses, whose family is known.
  if (checked.host !== undefined) checkDenoFamily([checked.host], checked.family);
}

/** `sock`, when it is a `Deno.Conn`, as asyncio sets it up: `TCP_NODELAY`, and `SO_KEEPALIVE` if asked. */
function adopter(checked: CheckedConnection): (sock: unknown) => DenoSocket | undefined {
  return (sock) => {
    if (!isDenoConn(sock)) return undefined;
    sock.setNoDelay?.(true);
    if (checked.keepAlive) sock.setKeepAlive?.(true);
    return new DenoSocket(sock);
  };
}

/** The connection `Deno.connect()` makes, unless `signal` aborts first; one that arrives after the abort is closed. */
function connecting(connection: Promise<DenoConn>, signal: AbortSignal | undefined): Promise<DenoConn> {
  return abortable(connection, signal, () => void connection.then((conn) => conn.close(), ignore));
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
 * @param options `limit`, `ssl`, `serverHostname`, `sslHandshakeTimeout`, `sslShutdownTimeout`,
 *   `family` (with an address only), `keepAlive` (`SO_KEEPALIVE`), `proto` (0 or 6), `flags`
 *   (0), `happyEyeballsDelay`, `interleave` and `allErrors` (every address `host` resolves
 *   to, through `getaddrinfo()` as `Deno.connect()` resolves, tried as CPython does, see
 *   `connectFirst()`), `sock` (a `Deno.Conn`, which `ssl` upgrades, or any
 *   `{ readable, writable }` pair), `signal` (aborts connecting and the handshake)
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
  if (options.sock === undefined || options.sock === null) checkDenoConnection(checked);
  const hostname = checked.host ?? 'localhost';
  const portNumber = checked.port ?? 0;
  return connectStreams(checked, options.sock, {
    connect: connectHappyEyeballs(checked, resolveAll, async (address, signal) => {
      const connectOptions: { hostname: string; port: number; signal?: AbortSignal } = { hostname: address?.address ?? hostname, port: portNumber };
      if (signal !== undefined) connectOptions.signal = signal;
      const conn = await connecting(denoNamespace().connect(connectOptions), signal);
      conn.setNoDelay?.(true);
      if (checked.keepAlive) conn.setKeepAlive?.(true);
      // The host name is what TLS (ssl, or a later writer.startTls()) verifies by default, as on Node and Bun.
      return new DenoSocket(conn, { serverHostname: hostname });
    }),
    adopt: adopter(checked),
    startTls: startTlsAsAsked,
    socketName: SOCKET_NAME,
  });
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
  return connectStreams(checked, options.sock, {
    async connect(signal) {
      const socketPath = checked.host!;
      const conn = await connecting(denoNamespace().connect({ transport: 'unix', path: socketPath }), signal);
      return new DenoSocket(conn, { extra: { peername: socketPath, sockname: '' } });
    },
    adopt: adopter(checked),
    startTls: startTlsAsAsked,
    socketName: SOCKET_NAME,
  });
}
