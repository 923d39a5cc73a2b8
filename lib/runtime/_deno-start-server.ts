import { logClientError, type ClientConnectedCallback, type ClientErrorHandler } from '../_client-callback.js';
import {
  checkServer,
  checkUnixServer,
  type CheckedServer,
  type StartServerOptions,
  type StartUnixServerOptions,
} from '../_connection-options.js';
import { Server, type HostPort, type ServerListener, type SocketName } from '../server.js';
import { denoNamespace, isDenoListener, type DenoConn, type DenoListener } from './_deno-namespace.js';
import { DenoSocket } from './_deno-socket.js';
import { acceptTls, listenTls, serverTlsOf, type DenoServerTls } from './_deno-tls.js';

type Accept = (conn: DenoConn) => void;

function nameOf(listener: DenoListener): SocketName {
  const addr = listener.addr;
  return 'path' in addr ? (addr.path ?? '') : [addr.hostname, addr.port];
}

/**
 * Accepts until the listener closes; each connection goes to `accept`. Accept errors other than
 * the listener closing are reported, as asyncio logs them, and accepting goes on.
 */
async function acceptLoop(listener: DenoListener, accept: Accept, onError: ClientErrorHandler, isClosed: () => boolean): Promise<void> {
  while (!isClosed()) {
    let conn: DenoConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (isClosed()) return;
      onError(error, { message: 'socket.accept() failed', transport: null });
      continue;
    }
    accept(conn);
  }
}

function serve(listener: DenoListener, accept: Accept, onError: ClientErrorHandler): ServerListener {
  const name = nameOf(listener);
  let closed = false;
  void acceptLoop(listener, accept, onError, () => closed);
  return {
    getsockname: () => name,
    close: () => {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch {
        // Closed already.
      }
    },
  };
}

function checkReuse(options: StartServerOptions<unknown>): void {
  if (options.reuseAddress === false) {
    throw new RangeError('reuseAddress: false is not supported on Deno, which always sets SO_REUSEADDR on TCP listeners');
  }
  // Deno.listen() with reusePort exits the process, uncatchably, unless --unstable-net is given.
  if (options.reusePort && denoNamespace().listenDatagram === undefined) {
    throw new RangeError('reusePort on Deno needs the --unstable-net flag (Deno.listen() takes it as an unstable API)');
  }
  if (options.reusePort && options.ssl) throw new RangeError('reusePort with ssl is not supported on Deno');
}

function listenTcp(
  checked: CheckedServer,
  reusePort: boolean,
  serverTls: DenoServerTls | undefined,
  accept: Accept,
  onError: ClientErrorHandler,
): ServerListener[] {
  const deno = denoNamespace();
  const listen = (hostname: string, port: number): ServerListener =>
    serve(
      serverTls !== undefined && serverTls.context === null
        ? listenTls(hostname, port, serverTls.tls)
        : deno.listen({ hostname, port, tcpBacklog: checked.backlog, ...(reusePort ? { reusePort } : {}) }),
      accept,
      onError,
    );
  if (checked.hosts === undefined) {
    // All interfaces: '::' is one dual-stack socket, as Node's default.
    return [listen(checked.family === 4 ? '0.0.0.0' : '::', checked.port)];
  }
  const listeners: ServerListener[] = [];
  try {
    let port = checked.port;
    for (const host of checked.hosts) {
      const listener = listen(host, port);
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

/** Removes a stale socket file left at `path`, as CPython does; anything else there stays. */
async function removeStaleSocket(path: string): Promise<void> {
  const deno = denoNamespace();
  try {
    if ((await deno.lstat(path)).isSocket) await deno.remove(path);
  } catch (error) {
    if (!(error instanceof deno.errors.NotFound)) throw error;
  }
}

function adopt(sock: unknown, accept: Accept, onError: ClientErrorHandler): ServerListener {
  if (!isDenoListener(sock)) throw new TypeError('sock must be a Deno.Listener');
  return serve(sock, accept, onError);
}

/**
 * Starts a TCP server with `Deno.listen()` (asyncio's `start_server`), or `Deno.listenTls()` with
 * `ssl` (each client is handed over once its handshake is done): `clientConnectedCb(reader,
 * writer)` is called for each client, as with Node (see the Node adapter's `startServer`).
 * Each host given is listened on as it is (Deno resolves a name to one address); no host means
 * every interface. `TCP_NODELAY` is set on every client.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param host a name, an address, an array of them, or nothing for every interface
 * @param port the port; 0 for any free one
 * @param options `limit`, `ssl` (`cert` and `key`; with `ca`, client certificates are asked for
 *   and checked, through Deno's `node:tls`), `sslHandshakeTimeout`, `family`, `backlog`
 *   (100), `reusePort` (run Deno with `--unstable-net`), `startServing` (true), `sock` (a
 *   `Deno.Listener`), `onError`
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
export async function startServer(
  clientConnectedCb: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | string | null,
  options: StartServerOptions<DenoListener> = {},
): Promise<Server<HostPort>> {
  const checked = checkServer(host, port, options);
  checkReuse(options);
  const server = new Server<HostPort>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  // A listener given as sock accepts plain connections: TLS starts on each with node:tls.
  const serverTls = checked.tls === undefined ? undefined : serverTlsOf(checked.tls, options.sock !== undefined && options.sock !== null);
  const accept = (conn: DenoConn): void => {
    conn.setNoDelay?.(true);
    if (serverTls === undefined) {
      server._accept(new DenoSocket(conn));
      return;
    }
    const secure = acceptTls(conn, serverTls);
    server._accept(secure, secure.opened);
  };
  const onError = checked.onError ?? logClientError;
  const listeners = options.sock ? [adopt(options.sock, accept, onError)] : listenTcp(checked, Boolean(options.reusePort), serverTls, accept, onError);
  server._attachListeners(listeners);
  if (checked.startServing) await server.startServing();
  return server;
}

/**
 * Starts a Unix socket server with `Deno.listen({ transport: 'unix' })` (asyncio's
 * `start_unix_server`). A stale socket file at `path` is replaced; Deno removes the file when
 * the server closes. For each client, `getExtraInfo('sockname')` is the path, `peername` `''`.
 *
 * @param clientConnectedCb called with `(reader, writer)` for each client
 * @param path where to create the socket
 * @param options `limit`, `ssl` and `sslHandshakeTimeout` (TLS through Deno's `node:tls`),
 *   `startServing` (true), `sock` (a `Deno.Listener`), `onError`
 * @returns the listening server
 * @example
 * ```ts
 * const server = await startUnixServer(handle, '/run/app.sock');
 * ```
 */
export async function startUnixServer(
  clientConnectedCb: ClientConnectedCallback,
  path?: string | null,
  options: StartUnixServerOptions<DenoListener> = {},
): Promise<Server<string>> {
  const checked = checkUnixServer(path, options);
  const onError = checked.onError ?? logClientError;
  const server = new Server<string>(clientConnectedCb, { limit: checked.limit, onError: checked.onError });
  const serverTls = checked.tls === undefined ? undefined : serverTlsOf(checked.tls, true);
  let socketPath = checked.hosts?.[0] ?? '';
  const accept = (conn: DenoConn): void => {
    const extra = { sockname: socketPath, peername: '' };
    if (serverTls === undefined) {
      server._accept(new DenoSocket(conn, { extra }));
      return;
    }
    const secure = acceptTls(conn, serverTls, extra);
    server._accept(secure, secure.opened);
  };
  let listener: ServerListener;
  if (options.sock) {
    listener = adopt(options.sock, accept, onError);
    socketPath = String(listener.getsockname());
  } else {
    await removeStaleSocket(socketPath);
    listener = serve(denoNamespace().listen({ transport: 'unix', path: socketPath }), accept, onError);
  }
  server._attachListeners([listener]);
  if (checked.startServing) await server.startServing();
  return server;
}
