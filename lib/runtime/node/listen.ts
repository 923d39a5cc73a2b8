import { lookup } from 'node:dns/promises';
import { linkSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type ListenOptions, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import { logClientError, type ClientConnectedCallback, type ClientErrorHandler } from '../../_client-callback.ts';
import { checkServer, checkUnixServer, startTlsOptionsOf, type CheckedServer, type CheckedTls } from '../../_checks.ts';
import type { StartServerOptions, StartUnixServerOptions } from '../../options.ts';
import { Server, type HostPort, type ServerListener, type SocketName } from '../../server.ts';
import { listenOnPath, type SocketFiles } from '../../_unix-socket-file.ts';
import { NodeSocket } from './socket.ts';
import { secureContextOf, type SecureContext } from './tls.ts';

type Accept = (socket: NetSocket) => void;

/** TLS as a server starts it on every client: the checked options and their context, made once. */
interface ServerTls {
  tls: CheckedTls;
  context: SecureContext;
}

/** Makes the server's `SecureContext` up front: PEM text Node cannot use fails `startServer()`. */
function serverTls(tls: CheckedTls | undefined): ServerTls | undefined {
  return tls === undefined ? undefined : { tls, context: secureContextOf(tls) };
}

/**
 * Hands an accepted connection to `server`: at once, or with TLS once its handshake is done
 * (the server counts it as a client meanwhile, so `closeClients()` and `waitClosed()` see it).
 */
function accept(server: Server, socket: NodeSocket, tls: ServerTls | undefined): void {
  if (tls === undefined) {
    server._accept(socket);
    return;
  }
  let secure: NodeSocket;
  try {
    secure = socket.startTls({ ...startTlsOptionsOf(tls.tls), secureContext: tls.context });
  } catch {
    // Closed before it could start: nothing to serve.
    void socket.close();
    return;
  }
  server._accept(secure, secure.opened);
}

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

function listen(options: ListenOptions, accept: Accept, onError: ClientErrorHandler): Promise<ServerListener> {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, accept);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve(listenerOf(server, onError));
    });
  });
}

/** Every address `hosts` resolve to, once each (CPython binds them all). */
async function resolve(hosts: string[], family: 0 | 4 | 6): Promise<string[]> {
  const addresses = new Set<string>();
  for (const host of hosts) {
    for (const { address } of await lookup(host, { all: true, family })) addresses.add(address);
  }
  return [...addresses];
}

async function listenTcp(checked: CheckedServer, reusePort: boolean, accept: Accept, onError: ClientErrorHandler): Promise<ServerListener[]> {
  const base: ListenOptions & { reusePort?: boolean } = { backlog: checked.backlog };
  if (reusePort) base.reusePort = true;
  if (checked.hosts === undefined) {
    // All interfaces: Node's default is one dual-stack socket.
    const host = checked.family === 4 ? '0.0.0.0' : checked.family === 6 ? '::' : undefined;
    return [await listen({ ...base, host, port: checked.port, ipv6Only: checked.family === 6 }, accept, onError)];
  }
  const listeners: ServerListener[] = [];
  try {
    let port = checked.port;
    for (const host of await resolve(checked.hosts, checked.family)) {
      const listener = await listen({ ...base, host, port }, accept, onError);
      listeners.push(listener);
      // With port 0, every address gets the port the first one was given.
      port = (listener.getsockname() as [string, number])[1];
    }
  } catch (error) {
    for (const listener of listeners) listener.close();
    throw error;
  }
  return listeners;
}

/** The file calls of a Unix server's socket file (see `listenOnPath()`). */
const nodeFiles: SocketFiles = {
  lstat(path) {
    const stats = lstatSync(path, { throwIfNoEntry: false });
    return stats === undefined ? null : { dev: stats.dev, ino: stats.ino, isSocket: stats.isSocket() };
  },
  link: linkSync,
  unlink: unlinkSync,
};

function adopt(sock: NetServer, accept: Accept, onError: ClientErrorHandler): ServerListener {
  if (typeof sock?.listen !== 'function' || !sock.listening) throw new TypeError('sock must be a listening net.Server');
  sock.on('connection', accept);
  return listenerOf(sock, onError);
}

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
export async function startServer(
  clientConnectedCb: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | string | null,
  options: StartServerOptions<NetServer> = {},
): Promise<Server<HostPort>> {
  const checked = checkServer(host, port, options);
  checkReuse(options);
  const tls = serverTls(checked.tls);
  const onError = checked.onError ?? logClientError;
  const server = new Server<HostPort>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  const onConnection = (socket: NetSocket): void => {
    socket.setNoDelay(true);
    if (checked.keepAlive) socket.setKeepAlive(true);
    accept(server, new NodeSocket(socket), tls);
  };
  const listeners = options.sock
    ? [adopt(options.sock, onConnection, onError)]
    : await listenTcp(checked, Boolean(options.reusePort), onConnection, onError);
  server._attachListeners(listeners);
  if (checked.startServing) await server.startServing();
  return server;
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
export async function startUnixServer(
  clientConnectedCb: ClientConnectedCallback,
  path?: string | null,
  options: StartUnixServerOptions<NetServer> = {},
): Promise<Server<string>> {
  const checked = checkUnixServer(path, options);
  const tls = serverTls(checked.tls);
  const onError = checked.onError ?? logClientError;
  const server = new Server<string>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  let socketPath = checked.hosts?.[0] ?? '';
  const onConnection = (socket: NetSocket): void => {
    accept(server, new NodeSocket(socket, { extra: { sockname: socketPath, peername: '' } }), tls);
  };
  let listener: ServerListener;
  if (options.sock) {
    listener = adopt(options.sock, onConnection, onError);
    socketPath = String(listener.getsockname());
  } else {
    const listenAt = (path: string): Promise<ServerListener> => listen({ path, backlog: checked.backlog }, onConnection, onError);
    listener = await listenOnPath(socketPath, checked.cleanupSocket, nodeFiles, listenAt, onError);
  }
  server._attachListeners([listener]);
  if (checked.startServing) await server.startServing();
  return server;
}
