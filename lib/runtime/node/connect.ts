import { connect, Socket as NetSocket, type NetConnectOpts } from 'node:net';
import { versions } from 'node:process';
import { abortable } from '../../_abortable.ts';
import { checkConnection, checkUnixConnection, type CheckedConnection } from '../../_checks.ts';
import { connectStreams } from '../../_connect.ts';
import { connectHappyEyeballs } from '../../_happy-eyeballs.ts';
import type { OpenConnectionOptions, OpenUnixConnectionOptions } from '../../options.ts';
import type { StreamPair } from '../../transport.ts';
import type { StreamReader } from '../../stream-reader.ts';
import type { StreamWriter } from '../../stream-writer.ts';
import { resolveAll } from './resolve.ts';
import { NodeSocket } from './socket.ts';
import { startTlsAsAsked } from '../_socket.ts';

/** What Node accepts as `sock`: a connected `net.Socket`, or any pair of streams. */
export type NodeSock = NetSocket | StreamPair;

/** What `ssl` needs `sock` to be, as the error says. */
const SOCKET_NAME = 'a net.Socket';

/**
 * Bun reports `connecting === false` for a Unix socket before it is connected, so that
 * `NodeSocket` would count it open at once (and the first write or the TLS handshake would
 * meet a socket that is not there yet): on Bun, a Unix connection is awaited first.
 */
const UNIX_CONNECT_NEEDS_WAIT = 'bun' in versions;

/** `sock`, when it is a `net.Socket`, as asyncio sets it up: `TCP_NODELAY`, and `SO_KEEPALIVE` if asked. */
function adopter(checked: CheckedConnection): (sock: unknown) => NodeSocket | undefined {
  return (sock) => {
    if (!(sock instanceof NetSocket)) return undefined;
    // A no-op on a Unix socket.
    sock.setNoDelay(true);
    if (checked.keepAlive) sock.setKeepAlive(true);
    return new NodeSocket(sock);
  };
}

/** Resolves once `net` is connected, rejects with its error. */
function connected(net: NetSocket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: unknown): void => {
      net.off('connect', settle);
      net.off('error', settle);
      if (error === undefined) resolve();
      else reject(error);
    };
    net.once('connect', settle);
    net.once('error', settle);
  });
}

/**
 * Opens a TCP connection and returns its reader and writer (asyncio's `open_connection`).
 * `TCP_NODELAY` is set, as asyncio does. The writer's `transport` is the connection's socket
 * (WinterTC shape), and `getExtraInfo('socket')` the `net.Socket`.
 *
 * With `ssl`, TLS starts once connected and the promise resolves after the handshake: the
 * server's certificate must verify against the trust store (`ssl: true`: Node's default one,
 * with `NODE_EXTRA_CA_CERTS`; else `ssl.ca`) and match `serverHostname` (default `host`),
 * unless `ssl.rejectUnauthorized` is false. `transport` is then the TLS socket.
 *
 * @param host the name or address to connect to
 * @param port the port
 * @param options `limit`, `ssl`, `serverHostname`, `sslHandshakeTimeout` (seconds, default
 *   60), `sslShutdownTimeout` (seconds, default 30), `family`, `localAddr`, `keepAlive`
 *   (`SO_KEEPALIVE`), `proto` (0 or 6), `flags` (0), `happyEyeballsDelay`, `interleave` and
 *   `allErrors` (every address of `host` tried as CPython does, see `connectFirst()`, instead
 *   of Node's `autoSelectFamily`), `sock` (a connected `net.Socket`, or any
 *   `{ readable, writable }` pair without `ssl`, instead of host and port), `signal` (aborts
 *   connecting and the handshake)
 * @returns `[reader, writer]`
 * @throws the runtime's connection error (`ECONNREFUSED`, `ENOTFOUND`, ...), or the signal's reason
 * @throws the runtime's TLS error (an untrusted certificate, a name that does not match, ...),
 *   or a timeout error (`code: 'ETIMEDOUT'`) for a slow handshake; the socket is closed
 * @throws {RangeError} for conflicting or missing arguments, and TLS options CPython refuses
 *   (`serverHostname: ''` while verifying, a timeout that is not positive, ...)
 * @throws {TypeError} for arguments of the wrong type
 * @example
 * ```ts
 * import { openConnection } from 'asyncio-streams';
 *
 * const [reader, writer] = await openConnection('127.0.0.1', 8888);
 * writer.write('Hello World!\n');
 * await writer.drain();
 * console.log(new TextDecoder().decode(await reader.readline()));
 * writer.close();
 * await writer.waitClosed();
 * ```
 */
export async function openConnection(
  host?: string | null,
  port?: number | string | null,
  options: OpenConnectionOptions<NodeSock> = {},
): Promise<[StreamReader, StreamWriter]> {
  return openCheckedConnection(checkConnection(host, port, options), options.sock);
}

/**
 * `openConnection()` once its arguments are checked: what the Bun entry hands the connections
 * it runs over `node:net` and `node:tls` (see `bun/connect.ts`).
 *
 * @param checked the options, checked by `checkConnection()`
 * @param sock the `sock` option as given
 * @returns `[reader, writer]`
 * @example
 * ```ts
 * declare const checked: Parameters<typeof openCheckedConnection>[0]; // what checkConnection() returned
 * const [reader, writer] = await openCheckedConnection(checked, undefined);
 * ```
 */
export function openCheckedConnection(checked: CheckedConnection, sock: NodeSock | null | undefined): Promise<[StreamReader, StreamWriter]> {
  const connectOptions: NetConnectOpts = {
    host: checked.host ?? 'localhost',
    port: checked.port ?? 0,
    noDelay: true,
    allowHalfOpen: true,
  };
  if (checked.family !== 0) connectOptions.family = checked.family;
  if (checked.localAddr !== undefined) {
    connectOptions.localAddress = checked.localAddr[0];
    connectOptions.localPort = checked.localAddr[1];
  }
  // The name a later writer.startTls() verifies by default.
  const socketOptions = { serverHostname: checked.host };
  return connectStreams(checked, sock, {
    connect: connectHappyEyeballs(checked, resolveAll, async (address) => {
      // An address connects as given: Node's own autoSelectFamily is only for names.
      const target = address === undefined ? connectOptions : { ...connectOptions, host: address.address, family: address.family };
      const net = connect(target);
      // Node applies it once connected.
      if (checked.keepAlive) net.setKeepAlive(true);
      return new NodeSocket(net, socketOptions);
    }),
    adopt: adopter(checked),
    startTls: startTlsAsAsked,
    socketName: SOCKET_NAME,
  });
}

/**
 * Opens a Unix socket connection and returns its reader and writer (asyncio's
 * `open_unix_connection`). `getExtraInfo('peername')` is the path, `sockname` is `''`.
 * TLS works as with `openConnection()`, except that `serverHostname` must be given.
 *
 * @param path the socket's path
 * @param options `limit`, `ssl`, `serverHostname`, `sslHandshakeTimeout`, `sslShutdownTimeout`, `sock` (instead of
 *   a path), `signal` (aborts connecting and the handshake)
 * @returns `[reader, writer]`
 * @throws the runtime's connection error (`ENOENT`, `ECONNREFUSED`, ...), or the signal's reason
 * @example
 * ```ts
 * const [reader, writer] = await openUnixConnection('/run/app.sock');
 * ```
 */
export async function openUnixConnection(
  path?: string | null,
  options: OpenUnixConnectionOptions<NodeSock> = {},
): Promise<[StreamReader, StreamWriter]> {
  return openCheckedUnixConnection(checkUnixConnection(path, options), options.sock);
}

/**
 * `openUnixConnection()` once its arguments are checked: what the Bun entry hands the Unix
 * connections it runs over `node:net` and `node:tls` (see `bun/connect.ts`).
 *
 * @param checked the options, checked by `checkUnixConnection()`
 * @param sock the `sock` option as given
 * @returns `[reader, writer]`
 * @example
 * ```ts
 * declare const checked: Parameters<typeof openCheckedUnixConnection>[0]; // what checkUnixConnection() returned
 * const [reader, writer] = await openCheckedUnixConnection(checked, undefined);
 * ```
 */
export function openCheckedUnixConnection(checked: CheckedConnection, sock: NodeSock | null | undefined): Promise<[StreamReader, StreamWriter]> {
  return connectStreams(checked, sock, {
    async connect(signal) {
      const socketPath = checked.host!;
      const net = connect({ path: socketPath, allowHalfOpen: true });
      if (UNIX_CONNECT_NEEDS_WAIT) await abortable(connected(net), signal, (reason) => void net.destroy(reason as Error));
      return new NodeSocket(net, { extra: { peername: socketPath, sockname: '' } });
    },
    adopt: adopter(checked),
    startTls: startTlsAsAsked,
    socketName: SOCKET_NAME,
  });
}
