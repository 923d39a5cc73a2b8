import { lookup } from 'node:dns/promises';
import { connect, Socket as NetSocket, type NetConnectOpts } from 'node:net';
import { connectFirst, interleaveAddresses, type ResolvedAddress } from '../../_happy-eyeballs.ts';
import { checkConnection, checkUnixConnection, startTlsOptionsOf, type CheckedConnection } from '../../_checks.ts';
import type { OpenConnectionOptions, OpenUnixConnectionOptions } from '../../options.ts';
import type { StreamPair } from '../../transport.ts';
import { openStreams } from '../../_open-streams.ts';
import type { StreamReader } from '../../stream-reader.ts';
import type { StreamWriter } from '../../stream-writer.ts';
import { NodeSocket, type NodeSocketOptions } from './socket.ts';

/** What Node accepts as `sock`: a connected `net.Socket`, or any pair of streams. */
export type NodeSock = NetSocket | StreamPair;

/**
 * Waits until `socket` is open (connected; for TLS, the handshake done); an abort of `signal`
 * meanwhile closes it with the signal's reason. The signal is not watched once open.
 */
async function opened(socket: NodeSocket, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await socket.opened;
    return;
  }
  const onAbort = (): void => void socket.close(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await socket.opened;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The reader and writer over `socket` once it is open and, with `checked.tls`, secure. */
async function streamsOn(socket: NodeSocket, checked: CheckedConnection): Promise<[StreamReader, StreamWriter]> {
  try {
    await opened(socket, checked.signal);
    const tls = checked.tls;
    if (tls === undefined) return openStreams(socket, checked.limit);
    checked.signal?.throwIfAborted();
    const secure = socket.startTls(startTlsOptionsOf(tls));
    await opened(secure, checked.signal);
    return openStreams(secure, checked.limit);
  } catch (error) {
    // A failed connect or handshake has closed it already; this covers an abort in between.
    void socket.close();
    throw error;
  }
}

async function streamsOver(sock: NodeSock, checked: CheckedConnection): Promise<[StreamReader, StreamWriter]> {
  if (!(sock instanceof NetSocket)) {
    if (checked.tls !== undefined) throw new TypeError('ssl needs sock to be a net.Socket, not a pair of streams');
    return openStreams(sock, checked.limit);
  }
  // A no-op on a Unix socket.
  sock.setNoDelay(true);
  if (checked.keepAlive) sock.setKeepAlive(true);
  return streamsOn(new NodeSocket(sock), checked);
}

function streamsFor(
  options: NetConnectOpts,
  socketOptions: NodeSocketOptions,
  checked: CheckedConnection,
): Promise<[StreamReader, StreamWriter]> {
  checked.signal?.throwIfAborted();
  const net = connect({ ...options, allowHalfOpen: true });
  // Node applies it once connected.
  if (checked.keepAlive) net.setKeepAlive(true);
  return streamsOn(new NodeSocket(net, socketOptions), checked);
}

/** The addresses `host` resolves to, in the order to try them. */
async function addressesOf(host: string, checked: CheckedConnection): Promise<ResolvedAddress[]> {
  const addresses = await lookup(host, { all: true, family: checked.family, verbatim: true });
  const interleave = checked.happyEyeballs!.interleave;
  return interleave > 0 ? interleaveAddresses(addresses, interleave) : addresses;
}

/**
 * Connects to each address `options.host` resolves to as `happyEyeballsDelay`, `interleave`
 * and `allErrors` say (`connectFirst()`), instead of Node's own `autoSelectFamily`.
 */
async function connectEyeballs(options: NetConnectOpts, socketOptions: NodeSocketOptions, checked: CheckedConnection): Promise<NodeSocket> {
  const user = checked.signal;
  user?.throwIfAborted();
  const addresses = await addressesOf((options as { host: string }).host, checked);
  const attempt = (address: ResolvedAddress, signal: AbortSignal): Promise<NodeSocket> => {
    const net = connect({ ...options, host: address.address, family: address.family, autoSelectFamily: false, allowHalfOpen: true });
    if (checked.keepAlive) net.setKeepAlive(true);
    const socket = new NodeSocket(net, socketOptions);
    const stop = user === undefined ? signal : AbortSignal.any([signal, user]);
    const onAbort = (): void => void socket.close(stop.reason);
    if (stop.aborted) onAbort();
    else stop.addEventListener('abort', onAbort, { once: true });
    return socket.opened.then(
      () => {
        stop.removeEventListener('abort', onAbort);
        return socket;
      },
      (error: unknown) => {
        stop.removeEventListener('abort', onAbort);
        throw error;
      },
    );
  };
  const { delay, allErrors } = checked.happyEyeballs!;
  try {
    return await connectFirst(addresses, attempt, { delay, allErrors, close: (socket) => void socket.close() });
  } catch (error) {
    // An abort is the caller's, whatever each attempt made of it.
    user?.throwIfAborted();
    throw error;
  }
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
  const checked = checkConnection(host, port, options);
  if (options.sock !== undefined && options.sock !== null) return streamsOver(options.sock, checked);
  const connectOptions: NetConnectOpts = {
    host: checked.host ?? 'localhost',
    port: checked.port ?? 0,
    noDelay: true,
  };
  if (checked.family !== 0) connectOptions.family = checked.family;
  if (checked.localAddr !== undefined) {
    connectOptions.localAddress = checked.localAddr[0];
    connectOptions.localPort = checked.localAddr[1];
  }
  // The name a later writer.startTls() verifies by default.
  const socketOptions = { serverHostname: checked.host };
  if (checked.happyEyeballs !== undefined) return streamsOn(await connectEyeballs(connectOptions, socketOptions, checked), checked);
  return streamsFor(connectOptions, socketOptions, checked);
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
  const checked = checkUnixConnection(path, options);
  if (options.sock !== undefined && options.sock !== null) return streamsOver(options.sock, checked);
  const socketPath = checked.host!;
  return streamsFor({ path: socketPath }, { extra: { peername: socketPath, sockname: '' } }, checked);
}
