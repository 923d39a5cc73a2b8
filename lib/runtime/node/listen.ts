import { createServer, type ListenOptions, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import type { ClientConnectedCallback } from '../../_client-callback.ts';
import type { ClientErrorHandler, StartServerOptions, StartUnixServerOptions } from '../../options.ts';
import type { Server, ServerListener } from '../../server.ts';
import type { HostPort, SocketName } from '../../transport.ts';
import { serveTcp, serveUnix, type ServerRuntime, type TcpAddress, type UnixAddress } from '../../_serve.ts';
import { NodeSocket } from './socket.ts';
import { secureContextOf, type SecureContext } from './tls.ts';
import { resolveHosts } from './resolve.ts';
import { nodeSocketFiles } from './socket-files.ts';

type Deliver = (socket: NetSocket) => void;

/** Node 23.1 and 22.12 added `reusePort` to `server.listen()`. */
function nodeHasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 23 ? major > 23 || minor >= 1 : major === 22 && minor >= 12;
}

function checkReuse(options: StartServerOptions<unknown>): void {
  if (options.reuseAddress === false) {
    throw new RangeError('reuseAddress: false is not supported on Node, which always sets SO_REUSEADDR on TCP listeners');
  }
  if (options.reusePort && !nodeHasReusePort()) {
    throw new RangeError(`reusePort is not supported on Node ${process.version} (it needs Node 22.12 or 23.1 and later)`);
  }
}

function nameOf(server: NetServer): SocketName {
  const address = server.address();
  if (typeof address === 'string') return address;
  if (address === null) throw new Error('The server is not listening');
  return [address.address, address.port];
}

function listenerOf(server: NetServer, onError: ClientErrorHandler): ServerListener {
  const name = nameOf(server);
  // A listener's errors are reported instead of crashing. A failed accept (EMFILE) is not one
  // of them: libuv closes a connection it cannot take a descriptor for, silently.
  server.on('error', (error) => onError(error, { message: 'socket.accept() failed', transport: null }));
  return {
    getsockname: () => name,
    close: () => void server.close(),
  };
}

function listenOptionsOf(address: TcpAddress | UnixAddress): ListenOptions & { reusePort?: boolean } {
  if ('path' in address) return { path: address.path, backlog: address.backlog };
  const options: ListenOptions & { reusePort?: boolean } = { backlog: address.backlog, port: address.port };
  if (address.reusePort) options.reusePort = true;
  if (address.host !== null) return { ...options, host: address.host };
  // All interfaces: Node's default is one dual-stack socket.
  const family = address.family;
  return { ...options, host: family === 4 ? '0.0.0.0' : family === 6 ? '::' : undefined, ipv6Only: family === 6 };
}

function listen(address: TcpAddress | UnixAddress, deliver: Deliver, onError: ClientErrorHandler): Promise<ServerListener> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, deliver);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOptionsOf(address), () => {
      server.off('error', reject);
      resolve(listenerOf(server, onError));
    });
  });
}

function adopt(sock: unknown, deliver: Deliver, onError: ClientErrorHandler): ServerListener {
  const server = sock as Partial<NetServer> | null;
  if (typeof server?.listen !== 'function' || !server.listening) throw new TypeError('sock must be a listening net.Server');
  server.on!('connection', deliver);
  return listenerOf(server as NetServer, onError);
}

/** What a Node (and Bun) server is made of; the outline is `serveTcp()`/`serveUnix()`. */
const nodeServer: ServerRuntime<NetSocket, NodeSocket, SecureContext> = {
  checkReuse,
  resolve: resolveHosts,
  listen,
  adopt,
  tuneTcp(socket, keepAlive) {
    socket.setNoDelay(true);
    if (keepAlive) socket.setKeepAlive(true);
  },
  socketOf: (socket, extra) => new NodeSocket(socket, extra === undefined ? {} : { extra }),
  secureContext: secureContextOf,
  files: nodeSocketFiles,
};

/**
 * Starts a TCP server (asyncio's `start_server`): `clientConnectedCb(reader, writer)` is called
 * for each client. It may be async; when it throws or rejects, `onError` hears of it (the
 * default logs `'Unhandled exception in client_connected_cb'` with `console.error`) and that
 * client's connection is closed; the server goes on. `TCP_NODELAY` is set on every client.
 *
 * A host name is bound on every address it resolves to (one entry each in `server.sockets`);
 * no host (or `''`) means every interface. Port 0 picks a free port (the same one for every
 * address).
 *
 * With `ssl` (which needs `cert` and `key`), each client does the TLS handshake first; the
 * callback is called once it is done. A client whose handshake fails, or takes longer than
 * `sslHandshakeTimeout` seconds (60), is closed without a word, as asyncio does outside debug
 * mode. With `ssl.ca`, every client must present a certificate signed by it (mutual TLS;
 * optional with `rejectUnauthorized: false`).
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param host a name, an address, an array of them, or nothing for every interface
 * @param port the port; 0 for any free one
 * @param options `limit`, `ssl`, `sslHandshakeTimeout`, `sslShutdownTimeout` (30), `family`,
 *   `backlog` (100), `reuseAddress`, `reusePort`, `keepAlive` (`SO_KEEPALIVE` on every client),
 *   `flags` (0 or `AI_PASSIVE`), `startServing` (true), `sock` (a listening `net.Server`), `onError`
 * @returns the listening server
 * @throws the runtime's error for a failed bind (`EADDRINUSE`, ...), or for PEM text it cannot use
 * @throws {RangeError} for conflicting arguments, `ssl` without `cert` and `key`, and for
 *   `reusePort` (or `reuseAddress: false`) where Node cannot do it
 * @throws {TypeError} for `ssl: true` (a server needs its certificate)
 * @example
 * ```ts
 * import { startServer } from 'asyncio-streams';
 *
 * const server = await startServer(async (reader, writer) => {
 *   writer.write(await reader.readline()); // echo one line
 *   writer.close();
 * }, '127.0.0.1', 8888);
 * await server.serveForever();
 * ```
 */
export function startServer(
  clientConnectedCb: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | string | null,
  options: StartServerOptions<NetServer> = {},
): Promise<Server<HostPort>> {
  return serveTcp(nodeServer, clientConnectedCb, host, port, options);
}

/**
 * Starts a Unix socket server (asyncio's `start_unix_server`); see `startServer()`. A stale
 * socket file at `path` is replaced; closing the server removes the file if it is still the
 * one the server created, unless `cleanupSocket` is false (see `listenOnPath()`).
 * For each client, `getExtraInfo('sockname')` is the path and `peername` is `''`.
 * TLS works as with `startServer()`.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param path where to create the socket
 * @param options `limit`, `ssl`, `sslHandshakeTimeout`, `sslShutdownTimeout`, `backlog` (100),
 *   `startServing` (true), `sock`, `onError`, `cleanupSocket` (true)
 * @returns the listening server
 * @example
 * ```ts
 * const server = await startUnixServer(handle, '/run/app.sock');
 * ```
 */
export function startUnixServer(
  clientConnectedCb: ClientConnectedCallback,
  path?: string | null,
  options: StartUnixServerOptions<NetServer> = {},
): Promise<Server<string>> {
  return serveUnix(nodeServer, clientConnectedCb, path, options);
}
