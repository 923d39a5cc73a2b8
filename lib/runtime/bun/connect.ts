import { Socket as NetSocket } from 'node:net';
import { abortable } from '../../_abortable.ts';
import { checkConnection, checkUnixConnection, type CheckedConnection } from '../../_checks.ts';
import { connectStreams } from '../../_connect.ts';
import { connectHappyEyeballs } from '../../_happy-eyeballs.ts';
import type { OpenConnectionOptions, OpenUnixConnectionOptions } from '../../options.ts';
import type { SocketName } from '../../transport.ts';
import type { StreamReader } from '../../stream-reader.ts';
import type { StreamWriter } from '../../stream-writer.ts';
import { openCheckedConnection, openCheckedUnixConnection, type NodeSock } from '../node/connect.ts';
import { resolveAll } from '../node/resolve.ts';
import { bunNamespace, isBunNativeSocket, type BunConnectOptions, type BunNativeSocket, type BunUnixConnectOptions } from './namespace.ts';
import { BunSocket, type BunSocketOptions, type BunSocketSlot } from './socket.ts';
import { tuneTcp } from './tune-tcp.ts';
import { startTlsAsAsked } from '../_socket.ts';
import { socketNameText } from '../../_socket-name.ts';

function ignore(): void {}

/**
 * Whether a connection runs over Bun's `node:net` and `node:tls` (the Node adapter) rather
 * than `Bun.connect()`, over TCP and Unix sockets alike: a `net.Socket` given as `sock` (a
 * Node socket), and without `sock`, what only they do here: TLS at connect (`ssl`, which passes
 * every TLS spec there), binding first (`localAddr`) and picking a family for a name
 * (`family`), neither of which `Bun.connect()` can. A `Bun.Socket` given as `sock` stays here,
 * with `ssl` too (`BunSocket.startTls()`).
 */
function runsOnNodeNet(checked: CheckedConnection, sock: unknown): boolean {
  if (sock !== undefined && sock !== null) return sock instanceof NetSocket;
  return checked.tls !== undefined || checked.localAddr !== undefined || checked.family !== 0;
}

/** What `ssl` needs `sock` to be, as the error says. */
const SOCKET_NAME = 'a net.Socket or a Bun.Socket';

/** What Bun accepts as `sock`: a connected `Bun.Socket` or `net.Socket`, or any pair of streams. */
export type BunSock = BunNativeSocket | NodeSock;

/** `sock`, when it is a `Bun.Socket`, taken over; TCP ones set up as asyncio does (`tuneTcp()`). */
function adopter(keepAlive: boolean | null): (sock: unknown) => BunSocket | undefined {
  return (sock) => {
    if (!isBunNativeSocket(sock)) return undefined;
    const socket = BunSocket.adopt(sock);
    if (keepAlive !== null) tuneTcp(sock, keepAlive);
    return socket;
  };
}

/**
 * The `BunSocket` `Bun.connect(options)` makes to `name` (wrapped as it opens, with the
 * options in its `data` slot, see `BunSocket.handlers`), unless `signal` aborts first: one
 * that arrives after the abort is closed. A failure names the address or path, as Node's does
 * (Bun's says only "Failed to connect").
 */
async function connecting(
  options: BunConnectOptions<BunSocketSlot> | BunUnixConnectOptions<BunSocketSlot>,
  name: SocketName,
  signal: AbortSignal | undefined,
): Promise<BunNativeSocket<BunSocketSlot>> {
  const socket = bunNamespace().connect<BunSocketSlot>(options);
  try {
    return await abortable(socket, signal, () => void socket.then((late) => late.end(), ignore));
  } catch (error) {
    // Anything may be an abort's reason; Bun's own error has `syscall`.
    const failed = error as { code?: unknown; syscall?: unknown; message: string } | null;
    if (failed?.syscall === 'connect') failed.message = `connect ${String(failed.code)} ${socketNameText(name)}`;
    throw error;
  }
}

/**
 * Opens a TCP connection and returns its reader and writer (asyncio's `open_connection`), over
 * a {@link BunSocket} made by `Bun.connect()`: Bun's own sockets, which cost half the memory
 * of its `node:net` ones and a quarter less time per round trip. `TCP_NODELAY` is set, as
 * asyncio does. What `Bun.connect()` cannot do runs over Bun's `node:net` and `node:tls`, as
 * the Node adapter (`openConnection()` of `asyncio-streams/node`, which documents every
 * option): `ssl`, `localAddr`, `family`, and a `net.Socket` given as `sock`. A `Bun.Socket` given
 * as `sock` is taken over (`BunSocket.adopt()`), with `ssl` too.
 *
 * @param host the name or address to connect to
 * @param port the port
 * @param options as the Node adapter's
 * @returns `[reader, writer]`
 * @throws Bun's connection error (`ECONNREFUSED`, `ENOTFOUND`, ...), or the signal's reason
 * @throws the errors of the Node adapter's `openConnection()` for what runs over it
 * @example
 * ```ts
 * import { openConnection } from 'asyncio-streams';
 *
 * const [reader, writer] = await openConnection('127.0.0.1', 8888);
 * writer.write('ping\n');
 * console.log(await reader.readline());
 * ```
 */
export async function openConnection(
  host?: string | null,
  port?: number | string | null,
  options: OpenConnectionOptions<BunSock> = {},
): Promise<[StreamReader, StreamWriter]> {
  const checked = checkConnection(host, port, options);
  // A Bun.Socket given as sock never runs over node:net.
  if (runsOnNodeNet(checked, options.sock)) return openCheckedConnection(checked, options.sock as NodeSock | undefined);
  const hostname = checked.host ?? 'localhost';
  const portNumber = checked.port ?? 0;
  return connectStreams(checked, options.sock, {
    connect: connectHappyEyeballs(checked, resolveAll, async (address, signal) => {
      const target = address?.address ?? hostname;
      // The name a later writer.startTls() verifies by default, as on Node.
      const data: BunSocketOptions = { serverHostname: checked.host };
      const native = await connecting({ hostname: target, port: portNumber, allowHalfOpen: true, socket: BunSocket.handlers, data }, [target, portNumber], signal);
      tuneTcp(native, checked.keepAlive);
      return native.data as BunSocket;
    }),
    adopt: adopter(checked.keepAlive),
    startTls: startTlsAsAsked,
    socketName: SOCKET_NAME,
  });
}

/**
 * Opens a Unix socket connection and returns its reader and writer (asyncio's
 * `open_unix_connection`), over a {@link BunSocket} made by `Bun.connect({ unix })`.
 * `getExtraInfo('peername')` is the path, `sockname` is `''`. `ssl`, and a `net.Socket` given
 * as `sock`, run over Bun's `node:net` and `node:tls`, as the Node adapter's
 * `openUnixConnection()` (which documents every option); a `Bun.Socket` given as `sock` is
 * taken over, as by `openConnection()`.
 *
 * @param path the socket's path
 * @param options as the Node adapter's
 * @returns `[reader, writer]`
 * @throws Bun's connection error, named as Node's (`connect ENOENT /run/app.sock`,
 *   `ECONNREFUSED`), or the signal's reason
 * @example
 * ```ts
 * import { openUnixConnection } from 'asyncio-streams';
 *
 * const [reader, writer] = await openUnixConnection('/run/app.sock');
 * ```
 */
export async function openUnixConnection(
  path?: string | null,
  options: OpenUnixConnectionOptions<BunSock> = {},
): Promise<[StreamReader, StreamWriter]> {
  const checked = checkUnixConnection(path, options);
  // A Bun.Socket given as sock never runs over node:net.
  if (runsOnNodeNet(checked, options.sock)) return openCheckedUnixConnection(checked, options.sock as NodeSock | undefined);
  return connectStreams(checked, options.sock, {
    async connect(signal) {
      // Given, as no sock was.
      const unix = checked.host!;
      const data: BunSocketOptions = { extra: { peername: unix, sockname: '' } };
      const native = await connecting({ unix, allowHalfOpen: true, socket: BunSocket.handlers, data }, unix, signal);
      return native.data as BunSocket;
    },
    // A Unix socket has no TCP options.
    adopt: adopter(null),
    startTls: startTlsAsAsked,
    socketName: SOCKET_NAME,
  });
}
