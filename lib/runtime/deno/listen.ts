import type { ClientConnectedCallback } from '../../_client-callback.ts';
import type { ClientErrorHandler, StartServerOptions, StartUnixServerOptions } from '../../options.ts';
import { acceptingListener } from '../../_accept-loop.ts';
import type { Server, ServerListener } from '../../server.ts';
import type { HostPort, SocketName } from '../../transport.ts';
import { serveTcp, serveUnix, type ServerRuntime, type TcpAddress, type UnixAddress } from '../../_serve.ts';
import type { FileIdentity } from '../../_unix-socket-file.ts';
import { denoNamespace, isDenoListener, type DenoConn, type DenoFileInfo, type DenoListener, type DenoNamespace } from './namespace.ts';
import { DenoSocket } from './socket.ts';
import { secureContextOf, type SecureContext } from '../node/tls.ts';
import { checkDenoFamily } from './family.ts';

type Deliver = (conn: DenoConn) => void;

function nameOf(listener: DenoListener): SocketName {
  const addr = listener.addr;
  return 'path' in addr ? (addr.path ?? '') : [addr.hostname, addr.port];
}

function checkReuse(options: StartServerOptions<unknown>): void {
  if (options.reuseAddress === false) {
    throw new RangeError('reuseAddress: false is not supported on Deno, which always sets SO_REUSEADDR on TCP listeners');
  }
  // Deno.listen() with reusePort exits the process, uncatchably, unless --unstable-net is given.
  if (options.reusePort && denoNamespace().listenDatagram === undefined) {
    throw new RangeError('reusePort on Deno needs the --unstable-net flag (Deno.listen() takes it as an unstable API)');
  }
}

function bind(address: TcpAddress | UnixAddress): DenoListener {
  const deno = denoNamespace();
  if ('path' in address) return deno.listen({ transport: 'unix', path: address.path });
  // All interfaces: '::' is one dual-stack socket, as Node's default.
  const hostname = address.host ?? (address.family === 4 ? '0.0.0.0' : '::');
  return deno.listen({ hostname, port: address.port, tcpBacklog: address.backlog, ...(address.reusePort ? { reusePort: true } : {}) });
}

function serve(listener: DenoListener, deliver: Deliver, onError: ClientErrorHandler): ServerListener {
  return acceptingListener(listener, nameOf(listener), deliver, onError);
}

function adopt(sock: unknown, deliver: Deliver, onError: ClientErrorHandler): ServerListener {
  if (!isDenoListener(sock)) throw new TypeError('sock must be a Deno.Listener');
  return serve(sock, deliver, onError);
}

/** A file's identity as Deno's `lstatSync()` or `statSync()` gives it; null when nothing is there. */
function identity(stat: (deno: DenoNamespace) => DenoFileInfo): FileIdentity | null {
  const deno = denoNamespace();
  try {
    const info = stat(deno);
    return { dev: info.dev, ino: info.ino ?? 0, isSocket: info.isSocket === true };
  } catch (error) {
    if (error instanceof deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * What a Deno server is made of; the outline is `serveTcp()`/`serveUnix()`. TLS runs through
 * Deno's `node:tls` over each accepted `Deno.Conn` (see `startNodeTls()`), not with
 * `Deno.listenTls()`, whose connections Deno closes only once their handshake is over
 * (denoland/deno#14547): a client that stays silent would hold its descriptor for good.
 */
const denoServer: ServerRuntime<DenoConn, DenoSocket, SecureContext> = {
  checkReuse,
  // Deno.listen() resolves a name to one address itself: each host is listened on as it is, once.
  resolve: async (hosts, family) => {
    checkDenoFamily(hosts, family);
    return [...new Set(hosts)];
  },
  listen: async (address, deliver, onError) => serve(bind(address), deliver, onError),
  adopt,
  tuneTcp(conn, keepAlive) {
    conn.setNoDelay?.(true);
    if (keepAlive) conn.setKeepAlive?.(true);
  },
  socketOf: (conn, extra) => new DenoSocket(conn, extra === undefined ? {} : { extra }),
  secureContext: secureContextOf,
  files: {
    lstat: (path) => identity((deno) => deno.lstatSync(path)),
    stat: (path) => identity((deno) => deno.statSync(path)),
    link: (from, to) => denoNamespace().linkSync(from, to),
    unlink: (path) => denoNamespace().removeSync(path),
  },
};

/**
 * Starts a TCP server with `Deno.listen()` (asyncio's `start_server`): `clientConnectedCb(reader,
 * writer)` is called for each client, as with Node (see the Node adapter's `startServer`). With
 * `ssl`, each client does the handshake through Deno's `node:tls` over its connection and is
 * handed over once it is done (not `Deno.listenTls()`, which cannot close a connection
 * mid-handshake, see `startNodeTls()`).
 * Each host given is listened on as it is (Deno resolves a name to one address); no host means
 * every interface. `TCP_NODELAY` is set on every client.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param host a name, an address, an array of them, or nothing for every interface
 * @param port the port; 0 for any free one
 * @param options `limit`, `ssl` (`cert` and `key`; with `ca`, client certificates are asked for
 *   and checked), `sslHandshakeTimeout`, `sslShutdownTimeout`, `family`, `backlog` (100),
 *   `reusePort` (run Deno with `--unstable-net`), `keepAlive` (`SO_KEEPALIVE` on every client),
 *   `flags` (0 or `AI_PASSIVE`), `startServing` (true), `sock` (a `Deno.Listener`), `onError`
 * @returns the listening server
 * @throws Deno's error for a failed bind (`AddrInUse`, ...)
 * @throws {RangeError} for conflicting arguments, `reuseAddress: false`, and `reusePort` without
 *   Deno's `--unstable-net` flag or with `ssl`
 * @example
 * ```ts
 * import { startServer } from 'asyncio-streams';
 *
 * const server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readline());
 *   writer.close();
 * }, '127.0.0.1', 8888);
 * await server.serveForever();
 * ```
 */
export function startServer(
  clientConnectedCb: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | string | null,
  options: StartServerOptions<DenoListener> = {},
): Promise<Server<HostPort>> {
  return serveTcp(denoServer, clientConnectedCb, host, port, options);
}

/**
 * Starts a Unix socket server with `Deno.listen({ transport: 'unix' })` (asyncio's
 * `start_unix_server`). A stale socket file at `path` is replaced; closing the server removes
 * the file if it is still the one the server created, unless `cleanupSocket` is false. For
 * each client, `getExtraInfo('sockname')` is the path, `peername` `''`.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param path where to create the socket
 * @param options `limit`, `ssl` and `sslHandshakeTimeout` (TLS through Deno's `node:tls`),
 *   `sslShutdownTimeout`, `startServing` (true), `sock` (a `Deno.Listener`), `onError`,
 *   `cleanupSocket` (true)
 * @returns the listening server
 * @example
 * ```ts
 * const server = await startUnixServer(handle, '/run/app.sock');
 * ```
 */
export function startUnixServer(
  clientConnectedCb: ClientConnectedCallback,
  path?: string | null,
  options: StartUnixServerOptions<DenoListener> = {},
): Promise<Server<string>> {
  return serveUnix(denoServer, clientConnectedCb, path, options);
}
