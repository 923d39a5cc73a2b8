import { abortable } from '../../_abortable.ts';
import { checkConnection, type CheckedConnection } from '../../_checks.ts';
import { connectStreams } from '../../_connect.ts';
import { connectHappyEyeballs } from '../../_happy-eyeballs.ts';
import type { OpenConnectionOptions } from '../../options.ts';
import type { StreamPair } from '../../transport.ts';
import type { StreamReader } from '../../stream-reader.ts';
import type { StreamWriter } from '../../stream-writer.ts';
import { resolveAll } from '../node/resolve.ts';
import { bunNamespace, type BunNativeSocket } from './namespace.ts';
import { BunSocket } from './socket.ts';
import { socketNameText } from '../../_socket-name.ts';

function ignore(): void {}

/** What the prototype cannot do yet: refused rather than ignored. */
function checkBunConnection(checked: CheckedConnection): void {
  if (checked.tls !== undefined) throw new RangeError('ssl is not supported by the Bun.connect prototype yet');
  if (checked.localAddr !== undefined) throw new RangeError('localAddr is not supported on Bun.connect (it cannot bind first)');
}

/**
 * The socket `Bun.connect()` makes to `hostname:port`, unless `signal` aborts first: one that
 * arrives after the abort is closed. A failure names the address, as Node's does (Bun's says
 * only "Failed to connect").
 */
async function connecting(hostname: string, port: number, signal: AbortSignal | undefined): Promise<BunNativeSocket<BunSocket | undefined>> {
  const socket = bunNamespace().connect<BunSocket | undefined>({ hostname, port, allowHalfOpen: true, socket: BunSocket.handlers });
  try {
    return await abortable(socket, signal, () => void socket.then((late) => late.end(), ignore));
  } catch (error) {
    // Anything may be an abort's reason; Bun's own error has `syscall`.
    const failed = error as { code?: unknown; syscall?: unknown; message: string } | null;
    if (failed?.syscall === 'connect') failed.message = `connect ${String(failed.code)} ${socketNameText([hostname, port])}`;
    throw error;
  }
}

/**
 * PROTOTYPE. Opens a TCP connection with `Bun.connect()` and returns its reader and writer
 * (asyncio's `open_connection`), over a {@link BunSocket}. `TCP_NODELAY` is set, as asyncio
 * does. No TLS yet, no `localAddr`.
 *
 * @param host the name or address to connect to
 * @param port the port
 * @param options `limit`, `family`, `keepAlive`, the happy eyeballs options, `sock` (a pair of
 *   streams), `signal`
 * @returns `[reader, writer]`
 * @throws Bun's connection error (`ECONNREFUSED`, ...), or the signal's reason
 * @example
 * ```ts
 * const [reader, writer] = await openConnection('127.0.0.1', 8888);
 * writer.write('ping\n');
 * console.log(await reader.readline());
 * ```
 */
export async function openConnection(
  host?: string | null,
  port?: number | string | null,
  options: OpenConnectionOptions<StreamPair> = {},
): Promise<[StreamReader, StreamWriter]> {
  const checked = checkConnection(host, port, options);
  checkBunConnection(checked);
  const hostname = checked.host ?? 'localhost';
  const portNumber = checked.port ?? 0;
  return connectStreams(checked, options.sock, {
    connect: connectHappyEyeballs(checked, resolveAll, async (address, signal) => {
      const native = await connecting(address?.address ?? hostname, portNumber, signal);
      native.setNoDelay(true);
      if (checked.keepAlive) native.setKeepAlive(true);
      return new BunSocket(native);
    }),
    socketName: 'a Bun socket',
  });
}
