import type { ClientConnectedCallback } from './_client-callback.js';
import type {
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  StartServerOptions,
  StartUnixServerOptions,
  StreamPair,
} from './_connection-options.js';
import { openStreams } from './_open-streams.js';
import type { HostPort, Server } from './server.js';
import type { StreamReader } from './stream-reader.js';
import type { StreamWriter } from './stream-writer.js';

/** A socket of the WinterTC Sockets API (`connect()` of Cloudflare Workers and others). */
interface WinterTcSocket extends StreamPair {
  readonly opened: Promise<unknown>;
  readonly closed: Promise<void>;
  close(reason?: unknown): Promise<void>;
}

type WinterTcConnect = (
  address: { hostname: string; port: number },
  options?: { allowHalfOpen?: boolean; secureTransport?: 'off' | 'on' | 'starttls' },
) => WinterTcSocket;

function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function checkLimit(limit: unknown): number | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit !== 'number' || Number.isNaN(limit)) throw new TypeError(`Limit must be a number, got ${typeof limit}`);
  if (limit <= 0) throw new RangeError('Limit cannot be <= 0');
  return limit;
}

function noSockets(what: string): Error {
  return new Error(
    `${what} needs TCP sockets, and this platform has none (no WinterTC connect()): ` +
      'pass a connected { readable, writable } pair as options.sock instead',
  );
}

/** The platform's WinterTC `connect()`, where it is a global; `undefined` elsewhere. */
function winterTcConnect(): WinterTcConnect | undefined {
  const connect = (globalThis as { connect?: unknown }).connect;
  return typeof connect === 'function' ? (connect as WinterTcConnect) : undefined;
}

async function opened(socket: WinterTcSocket, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await socket.opened;
    return;
  }
  const onAbort = (): void => void socket.close(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await socket.opened;
    signal.throwIfAborted();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * `openConnection()` without a runtime adapter (browsers, workers, any platform without Node,
 * Deno or Bun): `options.sock` may be any `{ readable, writable }` pair — a `WebSocketStream`'s,
 * a WebTransport stream, a WinterTC socket. With a host and a port it connects through the
 * platform's WinterTC `connect()` where that is a global (with `allowHalfOpen`, so `writeEof()`
 * half-closes), and rejects elsewhere.
 *
 * @param host the name or address to connect to
 * @param port the port
 * @param options `limit`, `sock`, `signal` (aborts connecting)
 * @returns `[reader, writer]`
 * @throws {Error} for a host and port on a platform without TCP sockets, and for `ssl`
 * @example
 * ```ts
 * import { openConnection } from 'asyncio-streams';
 *
 * const stream = new WebSocketStream('wss://example.com/lines');
 * const { readable, writable } = await stream.opened;
 * const [reader, writer] = await openConnection(null, null, { sock: { readable, writable } });
 * writer.write('hello\n');
 * console.log(new TextDecoder().decode(await reader.readline()));
 * ```
 */
export async function openConnection(
  host?: string | null,
  port?: number | string | null,
  options: OpenConnectionOptions<StreamPair> = {},
): Promise<[StreamReader, StreamWriter]> {
  const limit = checkLimit(options.limit);
  if (options.ssl) throw new Error('TLS (the ssl option) is not supported without a runtime adapter');
  if (given(options.sock)) {
    if (given(host) || given(port)) throw new RangeError('host/port and sock can not be specified at the same time');
    return openStreams(options.sock!, limit);
  }
  if (!given(host) && !given(port)) throw new RangeError('host and port was not specified and no sock specified');
  const connect = winterTcConnect();
  if (connect === undefined) throw noSockets('openConnection(host, port)');
  options.signal?.throwIfAborted();
  const socket = connect({ hostname: host ?? 'localhost', port: Number(port ?? 0) }, { allowHalfOpen: true });
  await opened(socket, options.signal);
  return openStreams(socket, limit);
}

/**
 * `openUnixConnection()` without a runtime adapter: only with `options.sock` (a pair of
 * streams), since no web platform has Unix sockets.
 *
 * @param path the socket's path (refused)
 * @param options `limit`, `sock`
 * @returns `[reader, writer]`
 * @throws {Error} for a path
 * @example
 * ```ts
 * const [reader, writer] = await openUnixConnection(null, { sock: { readable, writable } });
 * ```
 */
export async function openUnixConnection(
  path?: string | null,
  options: OpenUnixConnectionOptions<StreamPair> = {},
): Promise<[StreamReader, StreamWriter]> {
  const limit = checkLimit(options.limit);
  if (given(options.sock) && !given(path)) return openStreams(options.sock!, limit);
  if (given(path) && given(options.sock)) throw new RangeError('path and sock can not be specified at the same time');
  throw noSockets('openUnixConnection(path)');
}

/**
 * `startServer()` without a runtime adapter: always rejects, since web platforms cannot listen.
 *
 * @throws {Error} always
 * @example
 * ```ts
 * await startServer(handle, '127.0.0.1', 8888).catch((error) => console.error(error.message));
 * ```
 */
export async function startServer(
  _clientConnectedCb: ClientConnectedCallback,
  _host?: string | readonly string[] | null,
  _port?: number | string | null,
  _options: StartServerOptions<never> = {},
): Promise<Server<HostPort>> {
  throw new Error('startServer() needs a TCP listener, and this platform has none: run it on Node, Deno or Bun');
}

/**
 * `startUnixServer()` without a runtime adapter: always rejects.
 *
 * @throws {Error} always
 * @example
 * ```ts
 * await startUnixServer(handle, '/run/app.sock').catch((error) => console.error(error.message));
 * ```
 */
export async function startUnixServer(
  _clientConnectedCb: ClientConnectedCallback,
  _path?: string | null,
  _options: StartUnixServerOptions<never> = {},
): Promise<Server<string>> {
  throw new Error('startUnixServer() needs Unix sockets, and this platform has none: run it on Node, Deno or Bun');
}
