export * from '../index.ts';

import type { ClientConnectedCallback } from '../_client-callback.ts';
import {
  checkConnection,
  checkOptionNames,
  checkUnixConnection,
  START_SERVER_OPTIONS,
  START_UNIX_SERVER_OPTIONS,
  type CheckedConnection,
} from '../_checks.ts';
import type {
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  StartServerOptions,
  StartUnixServerOptions,
} from '../options.ts';
import type { HostPort, StreamPair } from '../transport.ts';
import { connectStreams } from '../_connect.ts';
import type { Server } from '../server.ts';
import type { StreamReader } from '../stream-reader.ts';
import type { StreamWriter } from '../stream-writer.ts';

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

/** What the checks let through that a WinterTC `connect()` (or a pair of streams) cannot do. */
function refuseBeyondWinterTc(checked: CheckedConnection): void {
  if (checked.tls !== undefined) throw new Error('TLS (the ssl option) is not supported without a runtime adapter');
  if (checked.family !== 0) throw new RangeError('family is not supported without a runtime adapter');
  if (checked.localAddr !== undefined) throw new RangeError('localAddr is not supported without a runtime adapter');
  if (checked.keepAlive) throw new RangeError('keepAlive is not supported without a runtime adapter');
  if (checked.happyEyeballs !== undefined) {
    throw new RangeError('happyEyeballsDelay, interleave and allErrors are not supported without a runtime adapter');
  }
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
 * @throws {RangeError} for conflicting or missing arguments, `family`, `localAddr` and `keepAlive`
 * @throws {TypeError} for an option it does not take, and values of the wrong type
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
  const checked = checkConnection(host, port, options);
  refuseBeyondWinterTc(checked);
  return connectStreams(checked, options.sock, {
    // The platform's connect() resolves the name itself: without a resolver here, the happy
    // eyeballs options are refused above (see connectHappyEyeballs()).
    async connect() {
      const connect = winterTcConnect();
      if (connect === undefined) throw noSockets('openConnection(host, port)');
      return connect({ hostname: checked.host ?? 'localhost', port: checked.port ?? 0 }, { allowHalfOpen: true });
    },
  });
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
  const checked = checkUnixConnection(path, options);
  refuseBeyondWinterTc(checked);
  return connectStreams(checked, options.sock, {
    async connect() {
      throw noSockets('openUnixConnection(path)');
    },
  });
}

/**
 * `startServer()` without a runtime adapter: always rejects, since web platforms cannot listen.
 *
 * @throws {TypeError} for an option `startServer()` does not take
 * @throws {Error} otherwise
 * @example
 * ```ts
 * await startServer(handle, '127.0.0.1', 8888).catch((error) => console.error(error.message));
 * ```
 */
export async function startServer(
  _clientConnectedCb: ClientConnectedCallback,
  _host?: string | readonly string[] | null,
  _port?: number | string | null,
  options: StartServerOptions<never> = {},
): Promise<Server<HostPort>> {
  checkOptionNames(options, START_SERVER_OPTIONS, 'startServer()');
  throw new Error('startServer() needs a TCP listener, and this platform has none: run it on Node, Deno or Bun');
}

/**
 * `startUnixServer()` without a runtime adapter: always rejects.
 *
 * @throws {TypeError} for an option `startUnixServer()` does not take
 * @throws {Error} otherwise
 * @example
 * ```ts
 * await startUnixServer(handle, '/run/app.sock').catch((error) => console.error(error.message));
 * ```
 */
export async function startUnixServer(
  _clientConnectedCb: ClientConnectedCallback,
  _path?: string | null,
  options: StartUnixServerOptions<never> = {},
): Promise<Server<string>> {
  checkOptionNames(options, START_UNIX_SERVER_OPTIONS, 'startUnixServer()');
  throw new Error('startUnixServer() needs Unix sockets, and this platform has none: run it on Node, Deno or Bun');
}
