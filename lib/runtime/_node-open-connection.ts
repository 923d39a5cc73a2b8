import { connect, Socket as NetSocket, type NetConnectOpts } from 'node:net';
import {
  checkConnection,
  checkUnixConnection,
  type OpenConnectionOptions,
  type OpenUnixConnectionOptions,
  type StreamPair,
} from '../_connection-options.js';
import { openStreams } from '../_open-streams.js';
import type { StreamReader } from '../stream-reader.js';
import type { StreamWriter } from '../stream-writer.js';
import { NodeSocket } from './_node-socket.js';

/** What Node accepts as `sock`: a connected `net.Socket`, or any pair of streams. */
export type NodeSock = NetSocket | StreamPair;

/**
 * Waits until `socket` is connected; an abort of `signal` meanwhile destroys it with the
 * signal's reason. The signal is not watched once connected.
 */
async function opened(socket: NodeSocket, net: NetSocket, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await socket.opened;
    return;
  }
  const onAbort = (): void => void net.destroy(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await socket.opened;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function streamsOver(
  sock: NodeSock,
  limit: number | undefined,
  signal: AbortSignal | undefined,
): Promise<[StreamReader, StreamWriter]> {
  if (!(sock instanceof NetSocket)) return openStreams(sock, limit);
  // A no-op on a Unix socket.
  sock.setNoDelay(true);
  const socket = new NodeSocket(sock);
  await opened(socket, sock, signal);
  return openStreams(socket, limit);
}

async function streamsFor(
  options: NetConnectOpts,
  extra: Record<string, unknown> | undefined,
  limit: number | undefined,
  signal: AbortSignal | undefined,
): Promise<[StreamReader, StreamWriter]> {
  signal?.throwIfAborted();
  const net = connect({ ...options, allowHalfOpen: true });
  const socket = new NodeSocket(net, { extra });
  await opened(socket, net, signal);
  return openStreams(socket, limit);
}

/**
 * Opens a TCP connection and returns its reader and writer (asyncio's `open_connection`).
 * `TCP_NODELAY` is set, as asyncio does. The writer's `transport` is the connection's socket
 * (WinterTC shape), and `getExtraInfo('socket')` the `net.Socket`.
 *
 * @param host the name or address to connect to
 * @param port the port
 * @param options `limit`, `family`, `localAddr`, `sock` (a connected `net.Socket`, or any
 *   `{ readable, writable }` pair, instead of host and port), `signal` (aborts connecting)
 * @returns `[reader, writer]`
 * @throws the runtime's connection error (`ECONNREFUSED`, `ENOTFOUND`, ...), or the signal's reason
 * @throws {RangeError} for conflicting or missing arguments
 * @throws {Error} for `ssl`, not supported yet
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
  if (options.sock !== undefined && options.sock !== null) return streamsOver(options.sock, checked.limit, checked.signal);
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
  return streamsFor(connectOptions, undefined, checked.limit, checked.signal);
}

/**
 * Opens a Unix socket connection and returns its reader and writer (asyncio's
 * `open_unix_connection`). `getExtraInfo('peername')` is the path, `sockname` is `''`.
 *
 * @param path the socket's path
 * @param options `limit`, `sock` (instead of a path), `signal` (aborts connecting)
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
  if (options.sock !== undefined && options.sock !== null) return streamsOver(options.sock, checked.limit, checked.signal);
  const socketPath = checked.host!;
  return streamsFor({ path: socketPath }, { peername: socketPath, sockname: '' }, checked.limit, checked.signal);
}
