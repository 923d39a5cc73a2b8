/**
 * The Bun entry: Bun runs the Node adapter (`node:net`), which measured as fast as an adapter
 * over `Bun.connect` would be (the library's own work dominates) and supports TCP, Unix
 * sockets and half-close. One Bun difference is handled here: a Unix connect reports
 * `connecting === false` before it is connected, so the connection is awaited first.
 */
import { connect } from 'node:net';
import { checkUnixConnection } from '../_checks.ts';
import type { OpenUnixConnectionOptions } from '../options.ts';
import type { StreamReader } from '../stream-reader.ts';
import type { StreamWriter } from '../stream-writer.ts';
import { openConnection, openUnixConnection as openNodeUnixConnection, type NodeSock } from './node/connect.ts';
import { NodeSocket } from './node/socket.ts';

export * from './node.ts';

/**
 * Opens a Unix socket connection (asyncio's `open_unix_connection`), as the Node adapter's
 * `openUnixConnection` does. `getExtraInfo('peername')` is the path, `sockname` is `''`.
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
  if (options.ssl || (options.sock !== undefined && options.sock !== null)) return openNodeUnixConnection(path, options);
  const checked = checkUnixConnection(path, options);
  const signal = checked.signal;
  signal?.throwIfAborted();
  const socketPath = checked.host!;
  const net = connect({ path: socketPath, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => void net.destroy(signal!.reason);
    const settle = (error?: unknown): void => {
      signal?.removeEventListener('abort', onAbort);
      net.off('connect', settle);
      net.off('error', settle);
      if (error === undefined) resolve();
      else reject(error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    net.once('connect', settle);
    net.once('error', settle);
  });
  const socket = new NodeSocket(net, { extra: { peername: socketPath, sockname: '' } });
  return openConnection(null, null, { sock: socket, limit: checked.limit });
}
